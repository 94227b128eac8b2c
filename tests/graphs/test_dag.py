"""Orientation and layering of graphs (graphs/dag.py)."""

import networkx as nx
import numpy as np
import pytest

from core.errors import SparseNASError
from graphs.dag import layered_dag, sorted_edges, sorted_integer_labels
from graphs.generators import GraphSpec

WORKED_EDGES = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def test_worked_example_layers():
    dag = layered_dag(nx.Graph(WORKED_EDGES))
    assert dag.layer_of == (0, 0, 1, 2, 3)
    assert dag.layers == ((0, 1), (2,), (3,), (4,))
    assert dag.layer_sizes == (2, 1, 1, 1)
    assert dag.n_layers == 4
    assert dag.edges == tuple(WORKED_EDGES)
    assert dag.dead_ends == ()
    assert dag.max_span == 2  # 1-3 and 2-4 skip a layer


def test_dead_end_outside_the_last_layer():
    # 0 -> 1 -> 3 and 0 -> 2: node 2 (layer 1) feeds nothing, node 3 is the last layer.
    dag = layered_dag(nx.Graph([(0, 1), (0, 2), (1, 3)]))
    assert dag.layer_of == (0, 1, 1, 2)
    assert dag.dead_ends == (2,)


def test_skip_edge_span():
    dag = layered_dag(nx.Graph([(0, 1), (1, 2), (0, 2)]))
    assert dag.layer_of == (0, 1, 2)
    assert dag.max_span == 2


def test_labels_are_ordered_as_integers():
    # As strings "10" < "2" < "9"; as integers 10 comes last.
    dag = layered_dag(nx.Graph([(10, 2), (9, 10)]))
    assert dag.labels == (2, 9, 10)
    assert dag.layer_of == (0, 0, 1)
    assert dag.edges == ((0, 2), (1, 2))


def test_string_labels_are_ordered_as_integers():
    graph = nx.Graph([("10", "2"), ("9", "10")])
    assert sorted_integer_labels(graph) == [2, 9, 10]
    assert layered_dag(graph).labels == (2, 9, 10)


@pytest.mark.parametrize(
    "graph, match",
    [
        (nx.Graph(), "no nodes"),
        (nx.Graph([(0, 1), (1, 1)]), "self-loop"),
        (nx.Graph([("a", "b")]), "integers"),
    ],
    ids=["empty", "self-loop", "non-integer"],
)
def test_invalid_graphs(graph, match):
    with pytest.raises(SparseNASError, match=match):
        layered_dag(graph)


@pytest.mark.parametrize("family", ["ws", "ba", "er"])
def test_random_graphs_are_layered(family):
    graph = GraphSpec(family, 30).build(seed=1)
    dag = layered_dag(graph)
    assert dag.n_nodes == 30
    assert len(dag.edges) == graph.number_of_edges()
    # Every edge goes from a lower to a higher layer; every node outside layer 0 has an
    # edge from the layer just below it.
    assert all(dag.layer_of[u] < dag.layer_of[v] for u, v in dag.edges)
    for v, layer in enumerate(dag.layer_of):
        if layer > 0:
            assert any(dag.layer_of[u] == layer - 1 for u, w in dag.edges if w == v)
    assert sum(dag.layer_sizes) == 30
    assert all(dag.layer_of[node] < dag.n_layers - 1 for node in dag.dead_ends)


def test_barabasi_albert_has_one_source():
    # Each new BA node attaches to earlier (lower-labelled) nodes, so only node 0 is a source.
    for seed in range(5):
        assert layered_dag(GraphSpec("ba", 25).build(seed)).layer_sizes[0] == 1


@pytest.mark.parametrize("family", ["ws", "ba", "er"])
def test_layers_are_networkx_topological_generations(family):
    # A node's layer is its longest path from a source: Kahn's generations of the oriented DAG.
    for seed in range(5):
        graph = GraphSpec(family, 10 + 7 * seed).build(seed)
        dag = layered_dag(graph)
        digraph = nx.DiGraph(dag.edges)
        digraph.add_nodes_from(range(dag.n_nodes))
        generations = tuple(tuple(sorted(g)) for g in nx.topological_generations(digraph))
        assert dag.layers == generations


def test_sorted_edges_of_integer_and_converted_labels():
    edges = [(3, 1), (0, 3), (2, 1), (1, 0)]
    expected = [(0, 1), (0, 3), (1, 2), (1, 3)]
    assert sorted_edges(nx.Graph(edges)) == expected
    # Labels that are converted take the general path and give the same pairs.
    assert sorted_edges(nx.Graph([(str(u), str(v)) for u, v in edges])) == expected
    assert sorted_edges(nx.Graph([(np.int64(u), np.int64(v)) for u, v in edges])) == expected
    assert all(type(x) is int for edge in sorted_edges(nx.Graph([("10", "2")])) for x in edge)
    # A directed graph's edges in both directions count once.
    assert sorted_edges(nx.DiGraph([(1, 0), (0, 1), (2, 1)])) == [(0, 1), (1, 2)]
    with pytest.raises(SparseNASError, match="integers"):
        sorted_edges(nx.Graph([("a", "b")]))


def test_relabelled_graph_layers_by_position():
    # Labels 5, 7, 20 play the roles of positions 0, 1, 2 (the path 0-1-2 with a skip edge).
    dag = layered_dag(nx.Graph([(20, 5), (7, 20), (5, 7)]))
    assert dag.labels == (5, 7, 20)
    assert dag.edges == ((0, 1), (0, 2), (1, 2))
    assert dag.layer_of == (0, 1, 2)


def test_readout_neurons_are_the_last_layer_the_sinks_or_all():
    # 0->1->2->3 is the spine; node 4 hangs off node 0 (layer 1, no successor) and node 5 is
    # isolated (layer 0, no successor): neuron order is 0, 5 | 1, 4 | 2 | 3.
    graph = nx.Graph([(0, 1), (1, 2), (2, 3), (0, 4)])
    graph.add_node(5)
    dag = layered_dag(graph)
    assert dag.neuron_order == (0, 5, 1, 4, 2, 3)
    assert dag.readout_neurons("last") == (5,)
    assert [dag.neuron_order[i] for i in dag.readout_neurons("sinks")] == [5, 4, 3]
    assert dag.readout_neurons("all") == tuple(range(6))
    with pytest.raises(SparseNASError, match="readout"):
        dag.readout_neurons("middle")
