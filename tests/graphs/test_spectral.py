"""Extended graph features (graphs/spectral.py): hand-worked values and networkx cross-checks."""

import math
from itertools import pairwise

import networkx as nx
import numpy as np
import pytest

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.generators import FAMILIES, GraphSpec, sample_thesis
from graphs.properties import PROPERTY_NAMES, THESIS_PROPERTIES, graph_properties
from graphs.spectral import (
    EXTENDED_FEATURES,
    bipartite_spectra,
    bipartite_spectrum,
    io_path_count,
    spectral_features,
)

WORKED_EDGES = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def complete_layers(*sizes: int) -> nx.Graph:
    """Consecutive layers of the given sizes, every node joined to every node of the next."""
    graph, start = nx.Graph(), 0
    for a, b in pairwise(sizes):
        left = range(start, start + a)
        right = range(start + a, start + a + b)
        graph.add_edges_from((u, v) for u in left for v in right)
        start += a
    return graph


def test_names_are_new_and_stable():
    assert len(set(EXTENDED_FEATURES)) == len(EXTENDED_FEATURES) == 17
    assert not set(EXTENDED_FEATURES) & set(THESIS_PROPERTIES)
    # The one shared name has the same definition in both modules.
    assert set(EXTENDED_FEATURES) & set(PROPERTY_NAMES) == {"dead_end_nodes"}
    features = spectral_features(nx.path_graph(3))
    assert tuple(features) == EXTENDED_FEATURES
    assert all(type(value) is float for value in features.values())


def test_worked_example():
    features = spectral_features(nx.Graph(WORKED_EDGES))
    # Layers {0, 1}, {2}, {3}, {4}: pairs with masks [[1], [1]], [[1]], [[1]].
    assert features["bipartite_s1_min"] == pytest.approx(1.0)
    assert features["bipartite_s1_mean"] == pytest.approx((math.sqrt(2) + 2) / 3)
    assert features["bipartite_s2_min"] == features["bipartite_s2_mean"] == 0.0
    assert features["bipartite_gap_mean"] == pytest.approx((math.sqrt(2) + 2) / 3)
    # First pair: d_left = 1, d_right = 2 -> bound 1; the others have bound 0.
    assert features["ramanujan_gap_min"] == pytest.approx(0.0)
    assert features["ramanujan_gap_mean"] == pytest.approx(1 / 3)
    assert features["layer_width_mean"] == 1.25
    assert features["layer_width_max"] == 2.0
    assert features["layer_width_std"] == pytest.approx(0.5)
    assert features["dead_end_nodes"] == 0.0
    # Paths: 0-2-3-4, 0-2-4, 1-2-3-4, 1-2-4, 1-3-4.
    assert io_path_count(layered_dag(nx.Graph(WORKED_EDGES))) == 5
    assert features["log_io_paths"] == pytest.approx(math.log(5))


@pytest.mark.parametrize("sizes", [(2, 3), (3, 3, 2), (4, 1, 5)], ids=str)
def test_complete_bipartite_layers(sizes):
    graph = complete_layers(*sizes)
    dag = layered_dag(graph)
    assert dag.layer_sizes == sizes
    features = spectral_features(graph)
    s1 = [math.sqrt(a * b) for a, b in pairwise(sizes)]
    # K_{a,b}: d_left = b, d_right = a, s2 = 0.
    bound = [math.sqrt(b - 1) + math.sqrt(a - 1) for a, b in pairwise(sizes)]
    assert features["bipartite_s1_min"] == pytest.approx(min(s1))
    assert features["bipartite_s1_mean"] == pytest.approx(np.mean(s1))
    assert features["bipartite_s2_min"] == pytest.approx(0.0, abs=1e-12)
    assert features["bipartite_s2_mean"] == pytest.approx(0.0, abs=1e-12)
    assert features["bipartite_gap_mean"] == pytest.approx(np.mean(s1))
    assert features["ramanujan_gap_min"] == pytest.approx(min(bound))
    assert features["ramanujan_gap_mean"] == pytest.approx(np.mean(bound))
    assert features["log_io_paths"] == pytest.approx(math.log(math.prod(sizes)))


def test_perfect_matching_layers_have_no_gap():
    # Two layers joined by a perfect matching, bridged to stay connected: 0-2, 1-3 and 0-3.
    # The mask [[1, 1], [0, 1]] has singular values sqrt((3 +- sqrt(5)) / 2).
    features = spectral_features(nx.Graph([(0, 2), (1, 3), (0, 3)]))
    s1, s2 = math.sqrt((3 + math.sqrt(5)) / 2), math.sqrt((3 - math.sqrt(5)) / 2)
    assert features["bipartite_s1_min"] == pytest.approx(s1)
    assert features["bipartite_s2_min"] == pytest.approx(s2)
    assert features["bipartite_gap_min"] == pytest.approx(s1 - s2)
    # d_left = d_right = 1.5: bound 2 sqrt(0.5).
    assert features["ramanujan_gap_min"] == pytest.approx(2 * math.sqrt(0.5) - s2)


def test_skip_edges_are_left_out_of_layer_pairs():
    # 0-1-2 is a path (layers 0, 1, 2) and 0-2 a skip edge.
    features = spectral_features(nx.Graph([(0, 1), (1, 2), (0, 2)]))
    assert features["bipartite_s1_min"] == features["bipartite_s1_mean"] == 1.0
    # Paths from 0 to 2: directly and through 1.
    assert features["log_io_paths"] == pytest.approx(math.log(2))


def test_dead_ends_and_paths_end_in_the_last_layer():
    # 0 -> 1 -> 2 -> 3 and 0 -> 4: node 4 is in layer 1 without a successor, a dead end.
    graph = nx.Graph([(0, 1), (1, 2), (2, 3), (0, 4)])
    features = spectral_features(graph)
    assert features["dead_end_nodes"] == 1.0 == graph_properties(graph)["dead_end_nodes"]
    assert features["log_io_paths"] == 0.0  # one path, 0-1-2-3


def test_regular_graph_has_zero_assortativity():
    ring = nx.cycle_graph(8)
    with np.errstate(all="ignore"):
        assert math.isnan(nx.degree_assortativity_coefficient(ring))
    assert spectral_features(ring)["degree_assortativity"] == 0.0


def test_complete_graph_spectra():
    features = spectral_features(nx.complete_graph(6))
    assert features["algebraic_connectivity"] == pytest.approx(6.0)
    # Eigenvalues of K_6's adjacency: 5 and -1 (five times).
    assert features["adjacency_spectral_gap"] == pytest.approx(6.0)
    assert features["average_clustering"] == pytest.approx(1.0)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_check_with_networkx(family, seed):
    _, graph = sample_thesis(family, seed)
    features = spectral_features(graph)
    assert features["algebraic_connectivity"] == pytest.approx(
        nx.algebraic_connectivity(graph, method="lanczos", tol=1e-12, seed=0), rel=1e-6
    )
    assert features["average_clustering"] == pytest.approx(nx.average_clustering(graph))
    expected = nx.degree_assortativity_coefficient(graph)
    assert features["degree_assortativity"] == pytest.approx(expected, abs=1e-9)
    eigenvalues = np.sort(nx.adjacency_spectrum(graph).real)
    assert features["adjacency_spectral_gap"] == pytest.approx(eigenvalues[-1] - eigenvalues[-2])
    dag = layered_dag(graph)
    # Path count through networkx: all simple paths in the oriented DAG are its paths.
    digraph = nx.DiGraph(dag.edges)
    digraph.add_nodes_from(range(dag.n_nodes))
    if dag.n_nodes <= 20:
        count = sum(
            len(list(nx.all_simple_paths(digraph, s, dag.layers[-1]))) for s in dag.layers[0]
        )
        assert io_path_count(dag) == count
    sizes = np.asarray(dag.layer_sizes, dtype=float)
    assert features["layer_width_std"] == pytest.approx(sizes.std(ddof=1))
    # The singular values agree with networkx' bipartite biadjacency matrix.
    left, right = dag.layers[0], dag.layers[1]
    sub = nx.Graph(graph.subgraph([*left, *right]).edges)
    sub.add_nodes_from([*left, *right])
    matrix = nx.bipartite.biadjacency_matrix(sub, row_order=left, column_order=right)
    s1 = np.linalg.svd(matrix.toarray(), compute_uv=False)[0]
    assert features["bipartite_s1_min"] <= s1 + 1e-12


@pytest.mark.parametrize("family", FAMILIES)
def test_layer_expansion_of_every_pair_matches_networkx_biadjacency(family):
    # Each consecutive pair's matrix from networkx, one SVD per matrix: the aggregates agree.
    for seed in range(4):
        _, graph = sample_thesis(family, seed)
        dag = layered_dag(graph)
        per_pair = []
        for left, right in pairwise(dag.layers):
            sub = nx.Graph(graph.subgraph([*left, *right]).edges)
            sub.add_nodes_from([*left, *right])
            matrix = nx.bipartite.biadjacency_matrix(sub, row_order=left, column_order=right)
            singular = np.linalg.svd(matrix.toarray(), compute_uv=False)
            per_pair.append((singular[0], singular[1] if singular.size > 1 else 0.0))
        s1, s2 = np.array(per_pair).T
        features = spectral_features(graph)
        for name, values in (("s1", s1), ("s2", s2), ("gap", s1 - s2)):
            assert features[f"bipartite_{name}_min"] == pytest.approx(values.min(), rel=1e-12)
            assert features[f"bipartite_{name}_mean"] == pytest.approx(values.mean(), rel=1e-12)


def test_path_count_matches_networkx_on_small_graphs():
    for seed in range(5):
        graph = GraphSpec("er", 12, p=0.35).build(seed)
        dag = layered_dag(graph)
        digraph = nx.DiGraph(dag.edges)
        count = sum(
            len(list(nx.all_simple_paths(digraph, s, dag.layers[-1]))) for s in dag.layers[0]
        )
        assert io_path_count(dag) == count


def test_path_count_is_exact_beyond_floats():
    # 40 complete layers of width 4: 4^40 paths, more than a float's 53-bit mantissa holds.
    dag = layered_dag(complete_layers(*[4] * 40))
    assert io_path_count(dag) == 4**40
    assert spectral_features(complete_layers(*[4] * 40))["log_io_paths"] == pytest.approx(
        40 * math.log(4)
    )


def test_same_graph_same_features_different_graph_different():
    _, a = sample_thesis("ws", 3)
    _, b = sample_thesis("ws", 3)
    _, c = sample_thesis("ws", 4)
    assert spectral_features(a) == spectral_features(b)
    assert spectral_features(a) != spectral_features(c)


def test_rejects_bad_graphs():
    empty = nx.Graph()
    empty.add_nodes_from([0, 1])
    with pytest.raises(SparseNASError, match="at least one edge"):
        spectral_features(empty)
    with pytest.raises(SparseNASError, match="integers"):
        spectral_features(nx.Graph([("a", "b")]))
    with pytest.raises(ValueError, match="does not belong"):
        spectral_features(nx.path_graph(4), layered_dag(nx.path_graph(3)))


def test_batched_spectra_equal_one_svd_per_mask():
    """Zero-padding masks of different shapes into one batched SVD gives each mask's own two
    largest singular values (s2 = 0 for a side of one node) and its own degrees."""
    rng = np.random.default_rng(3)
    masks = [np.ones((1, 4)), np.ones((3, 1)), np.eye(2)]
    masks += [(rng.random(shape) < 0.5).astype(float) for shape in [(5, 3), (2, 6), (4, 4)]]
    batched = bipartite_spectra(masks)
    for index, mask in enumerate(masks):
        singular = np.linalg.svd(mask, compute_uv=False)
        s2 = singular[1] if min(mask.shape) > 1 else 0.0
        assert batched["s1"][index] == pytest.approx(singular[0], abs=1e-12)
        assert batched["s2"][index] == pytest.approx(s2, abs=1e-12)
        assert bipartite_spectrum(mask) == pytest.approx(
            {key: float(values[index]) for key, values in batched.items()}
        )
    assert batched["s2"][0] == batched["s2"][1] == 0.0


def test_bipartite_spectrum_of_complete_and_matching_graphs():
    # Complete bipartite K_{2,3}: s1 = sqrt(6), s2 = 0; degrees 3 and 2 -> bound sqrt(2) + 1.
    complete = bipartite_spectrum(np.ones((2, 3)))
    assert complete["s1"] == pytest.approx(math.sqrt(6))
    assert complete["s2"] == pytest.approx(0.0, abs=1e-12)
    assert complete["ramanujan_bound"] == pytest.approx(math.sqrt(2) + 1)
    assert complete["ramanujan_gap"] == pytest.approx(math.sqrt(2) + 1)
    # A perfect matching of 3 pairs: every singular value is 1, degrees 1 -> bound 0.
    matching = bipartite_spectrum(np.eye(3))
    assert (matching["s1"], matching["s2"], matching["gap"]) == pytest.approx((1, 1, 0))
    assert matching["ramanujan_gap"] == pytest.approx(-1.0)
