"""A found network drawn as a layered network: layers left to right, one node per neuron
(a neuron per graph node: ``models.sparse_rnn``), edges between consecutive layers in grey,
skip edges (bridging two or more layers) curved in blue (every edge runs left to right, to a
later layer, so no arrowheads), dead-end neurons (no successor
outside the last layer: their output is never read) as red squares. The dense recurrence
inside each layer is not drawn. Pure matplotlib: no graphviz binary.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from graphs.dag import LayeredDAG, layered_dag  # noqa: E402
from graphs.io import edges_from_string  # noqa: E402

SKIP = "#1c7ed6"
PLAIN = "#868e96"
DEAD = "#c92a2a"
NEURON = "#2b8a3e"


def neuron_positions(dag: LayeredDAG) -> dict[int, tuple[float, float]]:
    """(x, y) of each neuron: x its layer, y its place in the layer, layers centred."""
    tallest = max(dag.layer_sizes)
    positions = {}
    for layer, nodes in enumerate(dag.layers):
        offset = (tallest - len(nodes)) / 2
        for row, node in enumerate(nodes):
            positions[node] = (float(layer), -(offset + row))
    return positions


def edge_curve(start: tuple[float, float], end: tuple[float, float], bend: float) -> np.ndarray:
    """Points of a quadratic Bezier curve from ``start`` to ``end`` whose control point
    lies ``bend`` below their midpoint (0: a straight line)."""
    t = np.linspace(0.0, 1.0, 17 if bend else 2)[:, None]
    a, b = np.asarray(start), np.asarray(end)
    control = (a + b) / 2 - np.array([0.0, bend])
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * control + t**2 * b


def draw_network(edge_list: str, title: str) -> Figure:
    """The drawing of the network wired by ``edge_list`` (``u-v`` pairs)."""
    dag = layered_dag(edges_from_string(edge_list))
    where = neuron_positions(dag)
    width = min(14.0, 1.6 + 1.0 * dag.n_layers)
    height = min(9.0, 1.4 + 0.32 * max(dag.layer_sizes))
    figure, ax = plt.subplots(figsize=(width, height))
    plain, skip = [], []
    for u, v in dag.edges:
        span = dag.layer_of[v] - dag.layer_of[u]
        (skip if span > 1 else plain).append(edge_curve(where[u], where[v], bend=0.12 * span))
    ax.add_collection(LineCollection(plain, colors=PLAIN, linewidths=0.9, alpha=0.6, zorder=1))
    ax.add_collection(LineCollection(skip, colors=SKIP, linewidths=0.9, alpha=0.7, zorder=1))
    dead = set(dag.dead_ends)
    live = [n for n in range(dag.n_nodes) if n not in dead]
    ax.scatter(*zip(*(where[n] for n in live), strict=True), s=60, color=NEURON, zorder=2)
    if dead:
        ax.scatter(*zip(*(where[n] for n in dead), strict=True), s=70, marker="s", color=DEAD,
                   zorder=2)  # fmt: skip
    ax.set_xticks(range(dag.n_layers), [f"L{i}\n{s}" for i, s in enumerate(dag.layer_sizes)])
    ax.set_yticks([])
    ax.set_xlim(-0.6, dag.n_layers - 0.4)
    ax.set_ylim(-max(dag.layer_sizes) + 0.4, 0.8)
    lowest = min((float(c[:, 1].min()) for c in skip), default=0.0)  # skip edges bulge down
    ax.set_ylim(min(-max(dag.layer_sizes) + 0.4, lowest - 0.3), 0.8)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("layer (neurons)")
    ax.set_title(
        f"{title}\n{dag.n_nodes} neurons, {len(dag.edges)} edges ({len(skip)} skip, blue), "
        f"{len(dead)} dead ends (red)",
        fontsize=10,
    )
    return figure
