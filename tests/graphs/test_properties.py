"""Graph properties (graphs/properties.py): hand-worked values and a networkx cross-check."""

import math

import networkx as nx
import numpy as np
import pytest

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.generators import FAMILIES, GraphSpec, sample_thesis
from graphs.properties import PROPERTY_NAMES, THESIS_PROPERTIES, graph_properties

WORKED_EDGES = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def networkx_properties(graph: nx.Graph) -> dict[str, float]:
    """The thesis definitions computed with networkx and pandas-style statistics (ddof=1)."""
    dag = layered_dag(graph)
    n, m = graph.number_of_nodes(), graph.number_of_edges()
    values = {
        "layers": dag.n_layers,
        "nodes": n,
        "edges": m,
        "source_nodes": dag.layer_sizes[0],
        "sink_nodes": dag.layer_sizes[-1],
        "diameter": nx.diameter(graph),
        "density": nx.density(graph) / 2,
        "average_shortest_path_length": nx.average_shortest_path_length(graph),
        "dead_end_nodes": len(dag.dead_ends),
    }
    distributions = {
        "eccentricity": nx.eccentricity(graph).values(),
        "degree": nx.degree_centrality(graph).values(),
        "closeness": nx.closeness_centrality(graph).values(),
        "nodes_betweenness": nx.betweenness_centrality(graph).values(),
        "edge_betweenness": nx.edge_betweenness_centrality(graph).values(),
    }
    for name, raw in distributions.items():
        x = np.array(list(raw), dtype=float)
        values |= {
            f"{name}_mean": x.mean(),
            f"{name}_var": x.var(ddof=1),
            f"{name}_std": x.std(ddof=1),
        }
    return values


def test_names():
    assert (*THESIS_PROPERTIES, "dead_end_nodes") == PROPERTY_NAMES
    assert len(set(PROPERTY_NAMES)) == len(PROPERTY_NAMES) == 24
    assert THESIS_PROPERTIES[:8] == (
        "layers",
        "nodes",
        "edges",
        "source_nodes",
        "sink_nodes",
        "diameter",
        "density",
        "average_shortest_path_length",
    )
    assert "edge_betweenness_std" in THESIS_PROPERTIES


def test_keys_in_stable_order_and_floats():
    props = graph_properties(nx.path_graph(4))
    assert tuple(props) == PROPERTY_NAMES
    assert all(type(value) is float for value in props.values())


def test_path_of_four_nodes():
    # 0 - 1 - 2 - 3: distances 1, 2, 3, 1, 2, 1; eccentricities 3, 2, 2, 3.
    props = graph_properties(nx.path_graph(4))
    expected = {
        "layers": 4,
        "nodes": 4,
        "edges": 3,
        "source_nodes": 1,
        "sink_nodes": 1,
        "dead_end_nodes": 0,
        "diameter": 3,
        "density": 3 / 12,
        "average_shortest_path_length": 10 / 6,
        "eccentricity_mean": 2.5,
        "eccentricity_var": 1 / 3,  # 4 * 0.5**2 / 3
        "degree_mean": 0.5,  # degrees 1, 2, 2, 1 over n - 1 = 3
        "degree_var": 1 / 27,  # 4 * (1/6)**2 / 3
        "degree_std": math.sqrt(1 / 27),
        "closeness_mean": (0.5 + 0.75 + 0.75 + 0.5) / 4,  # 3/6 and 3/4
        "nodes_betweenness_mean": 1 / 3,  # inner nodes: 2 of 3 pairs
        "edge_betweenness_mean": (3 + 4 + 3) / 6 / 3,  # pairs through each edge / 6 pairs
    }
    assert props == pytest.approx({**props, **expected}, rel=1e-12)


def test_worked_example():
    # Degrees 1, 2, 4, 3, 2; eccentricities 2, 2, 1, 2, 2; layers 0, 0, 1, 2, 3.
    props = graph_properties(nx.Graph(WORKED_EDGES))
    expected = {
        "layers": 4,
        "nodes": 5,
        "edges": 6,
        "source_nodes": 2,
        "sink_nodes": 1,
        "dead_end_nodes": 0,
        "diameter": 2,
        "density": 6 / 20,
        "average_shortest_path_length": 14 / 10,
        "eccentricity_mean": 9 / 5,
        "eccentricity_var": 0.2,  # 4 * 0.2**2 + 0.8**2 = 0.8, over 4
        "degree_mean": 2.4 / 4,
        "degree_var": 1.3 / 16,  # degrees: squared deviations sum to 5.2, over 4
    }
    assert props == pytest.approx({**props, **expected}, rel=1e-12)


def test_dead_end_nodes_counted():
    props = graph_properties(nx.Graph([(0, 1), (0, 2), (1, 3)]))
    assert props["dead_end_nodes"] == 1
    assert props["source_nodes"] == 1 and props["sink_nodes"] == 1 and props["layers"] == 3


def test_labels_do_not_change_undirected_properties():
    graph = nx.Graph(WORKED_EDGES)
    relabelled = nx.relabel_nodes(graph, {i: 10 * i + 3 for i in graph})
    assert graph_properties(relabelled) == pytest.approx(graph_properties(graph), rel=1e-12)


def test_given_dag_is_used():
    graph = nx.Graph(WORKED_EDGES)
    assert graph_properties(graph, layered_dag(graph)) == graph_properties(graph)
    with pytest.raises(ValueError, match="does not belong"):
        graph_properties(graph, layered_dag(nx.path_graph(3)))


def test_single_edge():
    props = graph_properties(nx.Graph([(0, 1)]))
    assert props["density"] == 0.5 and props["diameter"] == 1
    assert props["edge_betweenness_mean"] == 1.0
    assert math.isnan(props["edge_betweenness_var"])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_networkx(family, seed):
    _, graph = sample_thesis(family, seed)
    ours, reference = graph_properties(graph), networkx_properties(graph)
    assert set(ours) == set(reference)
    for name in PROPERTY_NAMES:
        assert ours[name] == pytest.approx(reference[name], rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("family", FAMILIES)
def test_matches_networkx_on_small_graphs(family):
    graph = GraphSpec(family, 10, **({"k": 2} if family == "ws" else {})).build(seed=3)
    ours, reference = graph_properties(graph), networkx_properties(graph)
    assert ours == pytest.approx(reference, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    "graph, match",
    [
        (nx.Graph(), "at least one edge"),
        (nx.empty_graph(3), "at least one edge"),
        (nx.Graph([(0, 1), (2, 3)]), "connected.*2 components"),
        (nx.Graph([(0, 1), (1, 2), (3, 3)]), "self-loop"),
        (nx.Graph([("a", "b")]), "integers"),
    ],
    ids=["empty", "no-edges", "disconnected", "self-loop", "non-integer"],
)
def test_invalid_graphs(graph, match):
    with pytest.raises(SparseNASError, match=match):
        graph_properties(graph)
