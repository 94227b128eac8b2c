"""Wiring features (graphs/wiring.py): hand-worked values on small DAGs and a flow cross-check."""

import networkx as nx
import pytest

from graphs.dag import layered_dag
from graphs.generators import FAMILIES, sample_thesis
from graphs.wiring import WIRING_FEATURES, wiring_features


def test_worked_example():
    # layers: {0, 1}, {2}, {3}, {4}; edges 1-3 and 2-4 skip a layer
    dag = layered_dag(nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]))
    assert wiring_features(dag) == pytest.approx(
        {
            "readout_width": 1.0,
            "second_layer_width": 1.0,
            "readout_input_ratio": 0.5,
            "bottleneck_width": 1.0,
            "bottleneck_depth_share": 1 / 3,
            "intra_layer_weights": 4 + 1 + 1 + 1,
            "skip_edges": 2.0,
            "skip_share": 2 / 6,
            "edge_span_mean": 8 / 6,
            "io_edge_cut": 2.0,  # paths 0-2-4 and 1-3-4 share no edge; 2-4 and 3-4 cut both
            "readout_reach_share": 1.0,
        }
    )
    assert tuple(wiring_features(dag)) == WIRING_FEATURES


def test_a_dead_end_does_not_reach_the_readout():
    # layers {0, 1}, {2, 4}, {3}: node 4 has no successor outside the last layer
    features = wiring_features(layered_dag(nx.Graph([(0, 2), (1, 2), (2, 3), (1, 4)])))
    assert features["readout_reach_share"] == pytest.approx(4 / 5)
    assert features["io_edge_cut"] == 1.0  # 2-3 is the only way to the read-out
    assert features["bottleneck_depth_share"] == 1.0  # the smallest layer is the last


def test_cut_matches_edge_connectivity_of_a_single_source_and_sink():
    # one input node and one read-out node: the cut is networkx's local edge connectivity
    graph = nx.Graph([(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4), (1, 2)])
    dag = layered_dag(graph)
    assert dag.layer_sizes[0] == dag.layer_sizes[-1] == 1
    directed = nx.DiGraph(dag.edges)
    expected = nx.edge_connectivity(directed, dag.layers[0][0], dag.layers[-1][0])
    assert wiring_features(dag)["io_edge_cut"] == expected == 3


@pytest.mark.parametrize("family", FAMILIES)
def test_sampled_graphs_give_finite_bounded_features(family):
    for seed in range(5):
        dag = layered_dag(sample_thesis(family, seed)[1])
        features = wiring_features(dag)
        assert 0 < features["readout_reach_share"] <= 1
        assert 0 <= features["bottleneck_depth_share"] <= 1
        assert 1 <= features["io_edge_cut"] <= len(dag.edges)
        assert features["bottleneck_width"] <= min(features["readout_width"], dag.layer_sizes[0])
