"""The layered drawing of a network (nas.reports.drawing) on a worked example."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

from graphs.dag import layered_dag
from graphs.io import edges_from_string
from nas.reports.drawing import DEAD, SKIP, draw_network, edge_curve, neuron_positions

# Layers (0, 0, 1, 2, 3, 1): 1-3 and 2-4 bridge two layers; node 5 (layer 1) has no
# successor outside the last layer: a dead end.
EDGES = "0-2 1-2 1-3 2-3 2-4 3-4 0-5"


def test_neurons_sit_in_their_layers_and_layers_are_centred():
    dag = layered_dag(edges_from_string(EDGES))
    assert dag.layer_of == (0, 0, 1, 2, 3, 1) and dag.dead_ends == (5,)
    where = neuron_positions(dag)
    assert [where[n][0] for n in range(6)] == [0, 0, 1, 2, 3, 1]
    assert where[0][1] == 0 and where[1][1] == -1  # the two neurons of layer 0
    assert where[3][1] == -0.5  # a single neuron is centred on the tallest layer


def test_skip_edges_are_curved_blue_and_dead_ends_red():
    figure = draw_network(EDGES, "worked example")
    (ax,) = figure.axes
    plain, skip = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(plain.get_segments()) == 5 and len(skip.get_segments()) == 2
    assert np.allclose(skip.get_colors()[0][:3], plt.matplotlib.colors.to_rgb(SKIP))
    for curve in skip.get_segments():  # bent below the straight line between its ends
        assert curve[len(curve) // 2, 1] < (curve[0, 1] + curve[-1, 1]) / 2 - 0.1
    dead = [c for c in ax.collections if not isinstance(c, LineCollection)][-1]
    assert len(dead.get_offsets()) == 1
    assert np.allclose(dead.get_facecolors()[0][:3], plt.matplotlib.colors.to_rgb(DEAD))
    assert "7 edges (2 skip, blue), 1 dead ends (red)" in ax.get_title()
    low, _ = ax.get_ylim()
    assert low <= min(curve[:, 1].min() for curve in skip.get_segments())  # nothing clipped
    plt.close(figure)


def test_edge_curve_ends_at_its_neurons():
    curve = edge_curve((0.0, 0.0), (2.0, -1.0), bend=0.5)
    assert np.allclose(curve[0], (0, 0)) and np.allclose(curve[-1], (2, -1))
    assert np.allclose(curve[len(curve) // 2], (1.0, -0.75))  # midpoint: half the bend below
    assert len(edge_curve((0, 0), (1, 0), bend=0.0)) == 2  # straight: two points
