"""Random graph generators, specs and the thesis preset (graphs/generators.py)."""

import math

import networkx as nx
import numpy as np
import pytest

from core.errors import SparseNASError
from graphs import generators
from graphs.generators import (
    FAMILIES,
    GraphSpec,
    NumpyBitsRandom,
    barabasi_albert,
    erdos_renyi,
    sample_thesis,
    thesis_spec,
    watts_strogatz,
)

BUILDERS = {
    "ws": lambda seed: watts_strogatz(20, 4, 0.3, seed=seed),
    "ba": lambda seed: barabasi_albert(20, 2, seed=seed),
    "er": lambda seed: erdos_renyi(20, 0.3, seed=seed),
}


def edges(graph: nx.Graph) -> list[tuple[int, int]]:
    return sorted(tuple(sorted(edge)) for edge in graph.edges)


@pytest.mark.parametrize("family", FAMILIES)
def test_same_seed_same_edges_different_seed_different_edges(family):
    build = BUILDERS[family]
    assert edges(build(0)) == edges(build(0))
    assert edges(build(0)) != edges(build(1))


@pytest.mark.parametrize("family", FAMILIES)
def test_generator_seed_is_reproducible(family):
    build = BUILDERS[family]
    first = edges(build(np.random.default_rng(7)))
    assert first == edges(build(np.random.default_rng(7)))
    # One Generator is one stream: a second draw from it differs from the first.
    rng = np.random.default_rng(7)
    build(rng)
    assert edges(build(rng)) != first


def test_numpy_bits_random_draws_the_stream_of_networkx_adapter():
    ours, theirs_rng = np.random.default_rng(11), np.random.default_rng(11)
    fast = NumpyBitsRandom(ours)
    reference = nx.utils.create_py_random_state(theirs_rng)
    assert type(reference) is nx.utils.PythonRandomViaNumpyBits
    plan = np.random.default_rng(0)
    for _ in range(3000):
        what = int(plan.integers(5))
        if what == 0:
            k = int(plan.integers(0, 80))  # 0, the one-word fast path and networkx' own
            assert fast.getrandbits(k) == reference.getrandbits(k)
        elif what == 1:
            assert fast.random() == reference.random()
        elif what == 2:
            seq = list(range(int(plan.integers(1, 200))))
            assert fast.choice(seq) == reference.choice(seq)
        elif what == 3:
            high = int(plan.integers(1, 2**62))
            assert fast.randrange(high) == reference.randrange(high)
        else:  # a draw straight from the Generators keeps them in step
            assert ours.integers(0, 2**32, dtype=np.uint32) == theirs_rng.integers(
                0, 2**32, dtype=np.uint32
            )
    assert ours.random() == theirs_rng.random()


def _networkx_erdos_renyi(n, p, rng):
    """The rejection loop of ``erdos_renyi`` with networkx' own adapter of ``rng``."""
    py = nx.utils.create_py_random_state(rng)
    while not nx.is_connected(graph := nx.gnp_random_graph(n, p, seed=py)):
        pass
    return graph


@pytest.mark.parametrize("family", FAMILIES)
def test_generator_seed_draws_what_networkx_draws_from_it(family):
    # Our Generator adapter is a speed-up only: every graph equals networkx' own draw.
    ours = {
        "ws": lambda n, rng: watts_strogatz(n, 2 + 2 * (n % 4), (n % 10) / 9, seed=rng),
        "ba": lambda n, rng: barabasi_albert(n, 1 + n % 5, seed=rng),
        "er": lambda n, rng: erdos_renyi(n, 3 * math.log(n) / n, seed=rng),
    }[family]
    theirs = {
        "ws": lambda n, rng: nx.connected_watts_strogatz_graph(
            n, 2 + 2 * (n % 4), (n % 10) / 9, tries=10, seed=rng
        ),
        "ba": lambda n, rng: nx.barabasi_albert_graph(n, 1 + n % 5, seed=rng),
        "er": lambda n, rng: _networkx_erdos_renyi(n, 3 * math.log(n) / n, rng),
    }[family]
    for seed in range(40):
        n = 10 + seed
        ours_rng, theirs_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(2):  # the second draw continues each Generator's stream
            assert edges(ours(n, ours_rng)) == edges(theirs(n, theirs_rng))


@pytest.mark.parametrize("family", FAMILIES)
def test_graphs_are_connected_on_nodes_0_to_n_minus_1(family):
    graph = BUILDERS[family](3)
    assert sorted(graph.nodes) == list(range(20))
    assert nx.is_connected(graph)


def test_watts_strogatz_is_networkx_connected_variant():
    ours = watts_strogatz(15, 4, 0.5, seed=3)
    theirs = nx.connected_watts_strogatz_graph(15, 4, 0.5, tries=10, seed=3)
    assert edges(ours) == edges(theirs)


def test_watts_strogatz_without_rewiring_is_the_ring_lattice():
    assert edges(watts_strogatz(12, 4, 0.0, seed=0)) == edges(nx.watts_strogatz_graph(12, 4, 0))


def test_barabasi_albert_agrees_with_dual_barabasi_albert():
    # Dual BA with p = 1 always attaches m1 edges: it is plain BA (as networkx' own test).
    for seed in range(3):
        dual = nx.dual_barabasi_albert_graph(30, 3, 1, 1.0, seed=seed)
        assert edges(barabasi_albert(30, 3, seed=seed)) == edges(dual)


def test_barabasi_albert_with_m_1_is_a_tree():
    assert nx.is_tree(barabasi_albert(25, 1, seed=0))


def test_erdos_renyi_with_p_1_is_complete():
    assert edges(erdos_renyi(6, 1.0, seed=0)) == edges(nx.complete_graph(6))


def test_erdos_renyi_rejects_disconnected_draws():
    # Near the threshold many draws are disconnected; the result must still be connected.
    for seed in range(10):
        assert nx.is_connected(erdos_renyi(20, 0.15, seed=seed))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: watts_strogatz(2, 2, 0.5), "n >= 3"),
        (lambda: watts_strogatz(10, 1, 0.5), r"k=1, n=10"),
        (lambda: watts_strogatz(10, 10, 0.5), r"k=10, n=10"),
        (lambda: watts_strogatz(10, 4, 1.5), r"p=1.5"),
        (lambda: watts_strogatz(10, 4, -0.1), r"p=-0.1"),
        (lambda: watts_strogatz(10.0, 4, 0.5), r"n=10.0"),
        (lambda: watts_strogatz(10, 4, 0.5, tries=0), r"tries=0"),
        (lambda: barabasi_albert(10, 0), r"m=0, n=10"),
        (lambda: barabasi_albert(10, 10), r"m=10, n=10"),
        (lambda: erdos_renyi(1, 0.5), r"n=1"),
        (lambda: erdos_renyi(10, 0.0), r"p=0.0"),
        (lambda: erdos_renyi(10, "0.5"), r"p='0.5'"),
    ],
    ids=[
        "ws-n",
        "ws-k-small",
        "ws-k-large",
        "ws-p-large",
        "ws-p-negative",
        "ws-n-float",
        "ws-tries",
        "ba-m-zero",
        "ba-m-large",
        "er-n",
        "er-p-zero",
        "er-p-string",
    ],
)
def test_invalid_arguments(call, match):
    with pytest.raises(SparseNASError, match=match):
        call()


def test_watts_strogatz_gives_up_naming_its_arguments():
    # k = 2, p = 1 on 100 nodes is connected in about 40 % of the draws; seed 1 misses 3 times.
    with pytest.raises(SparseNASError, match=r"3 tries \(n=100, k=2, p=1.0\)"):
        watts_strogatz(100, 2, 1.0, seed=1, tries=3)


def test_erdos_renyi_gives_up_naming_its_arguments():
    with pytest.raises(SparseNASError, match=r"5 tries \(n=30, p=0.01\)"):
        erdos_renyi(30, 0.01, seed=0, tries=5)


@pytest.mark.parametrize(
    "family, nodes, expected",
    [
        ("ws", 10, {"k": 2, "p": 1.0}),
        ("ws", 49, {"k": 9, "p": 1.0}),
        ("ba", 10, {"m": 1}),
        ("ba", 9, {"m": 1}),
        ("ba", 50, {"m": 5}),
        ("er", 10, {"p": 2 * math.log(10) / 10}),
        ("er", 2, {"p": 2 * math.log(2) / 2}),
    ],
    ids=["ws-10", "ws-49", "ba-10", "ba-9", "ba-50", "er-10", "er-2"],
)
def test_thesis_spec(family, nodes, expected):
    spec = thesis_spec(family, nodes)
    assert spec == GraphSpec(family, nodes, **expected)
    assert {name: getattr(spec, name) for name in expected} == expected


def test_spec_fills_only_missing_defaults():
    assert GraphSpec("ws", 20) == GraphSpec("ws", 20, k=4, p=1.0)
    assert GraphSpec("ws", 20, p=0.2) == GraphSpec("ws", 20, k=4, p=0.2)
    assert GraphSpec("ws", 6, k=2, p=0.5).k == 2
    assert GraphSpec("er", 20, p=0.5).p == 0.5


def test_spec_is_hashable_with_plain_values():
    spec = GraphSpec("ba", np.int64(30))
    assert type(spec.nodes) is int and type(spec.m) is int
    assert len({spec, GraphSpec("ba", 30)}) == 1


@pytest.mark.parametrize("family", FAMILIES)
def test_spec_build_matches_the_generator(family):
    spec = thesis_spec(family, 20)
    direct = {
        "ws": lambda: watts_strogatz(20, spec.k, spec.p, seed=5),
        "ba": lambda: barabasi_albert(20, spec.m, seed=5),
        "er": lambda: erdos_renyi(20, spec.p, seed=5),
    }[family]
    assert edges(spec.build(5)) == edges(direct())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"family": "xx", "nodes": 20}, r"unknown graph family 'xx'; choose one of ws, ba, er"),
        ({"family": "ba", "nodes": 20, "k": 3}, "k does not apply to family 'ba'"),
        ({"family": "ws", "nodes": 20, "m": 3}, "m does not apply to family 'ws'"),
        ({"family": "ws", "nodes": 8}, "nodes=8"),
        ({"family": "ws", "nodes": 20, "k": 25}, "k=25, n=20"),
        ({"family": "er", "nodes": 1}, "nodes=1"),
    ],
    ids=["unknown-family", "k-for-ba", "m-for-ws", "ws-too-small", "ws-k", "er-too-small"],
)
def test_invalid_spec(kwargs, match):
    with pytest.raises(SparseNASError, match=match):
        GraphSpec(**kwargs)


@pytest.mark.parametrize("family", FAMILIES)
def test_sample_thesis(family):
    spec, graph = sample_thesis(family, seed=11)
    assert spec == thesis_spec(family, spec.nodes)
    assert 10 <= spec.nodes <= 50
    assert graph.number_of_nodes() == spec.nodes
    assert nx.is_connected(graph)
    again_spec, again = sample_thesis(family, seed=11)
    assert again_spec == spec and edges(again) == edges(graph)
    other_spec, other = sample_thesis(family, seed=12)
    assert (other_spec, edges(other)) != (spec, edges(graph))


def test_sample_thesis_covers_the_node_range():
    nodes = {sample_thesis("ba", seed)[0].nodes for seed in range(200)}
    assert min(nodes) >= 10 and max(nodes) <= 50
    assert len(nodes) > 30


def test_sample_thesis_redraws_when_networkx_gives_up(monkeypatch):
    # Make networkx give up on the first two calls (after drawing from the Generator), so
    # the retry path runs; the result must still be a deterministic function of the seed.
    real = nx.connected_watts_strogatz_graph

    def flaky(*args, seed, **kwargs):
        real(*args, seed=seed, **kwargs)
        calls.append(1)
        if len(calls) <= 2:
            raise nx.NetworkXError("Maximum number of tries exceeded")
        return real(*args, seed=seed, **kwargs)

    monkeypatch.setattr(generators.nx, "connected_watts_strogatz_graph", flaky)
    calls: list[int] = []
    spec, graph = sample_thesis("ws", seed=4)
    assert len(calls) == 3 and nx.is_connected(graph)
    calls.clear()
    assert edges(sample_thesis("ws", seed=4)[1]) == edges(graph)


def test_sample_thesis_unknown_family():
    with pytest.raises(SparseNASError, match="choose one of"):
        sample_thesis("grid", seed=0)
