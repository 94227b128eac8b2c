"""The family registry (graphs/families.py), and a toy family that reaches every reader of it:
``GraphSpec``, the search space, the evaluations table's columns and the CLI's help and options,
with no edit anywhere else."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import optuna
import pytest

from core.checks import check_int
from core.errors import SparseNASError
from graphs.families import FAMILIES, Family, Parameter, register, search_name
from graphs.generators import GraphSpec, py_random
from nas.search.space import SearchSpace, build_graph, family_columns, graph_spec

ROOT = Path(__file__).resolve().parents[2]


def _check_rr(n: object, k: object) -> tuple[int, int]:
    n, k = check_int(n, "n"), check_int(k, "k")
    if not 3 <= k < n or n * k % 2:
        raise SparseNASError(f"k must satisfy 3 <= k < n with n * k even (got k={k}, n={n})")
    return n, k


def random_regular(n: int, k: int, *, seed=None, tries: int = 10) -> nx.Graph:
    """A connected random k-regular graph (the toy family's builder)."""
    n, k = _check_rr(n, k)
    rng = nx.utils.create_py_random_state(py_random(seed))
    for _ in range(tries):
        graph = nx.random_regular_graph(k, n, seed=rng)
        if nx.is_connected(graph):
            return graph
    raise SparseNASError(f"no connected {k}-regular graph on {n} nodes in {tries} tries")


RANDOM_REGULAR = Family(
    "rr", "random regular", "every node has the same degree k, edges otherwise uniform",
    (Parameter("k", int, "degree", lambda n: 4, "4", lambda n: (4, 6), step=2),),
    _check_rr, random_regular,
)  # fmt: skip
"""The toy: registered by the fixture only, so the other tests see ws, ba and er alone."""


@pytest.fixture
def toy():
    register(RANDOM_REGULAR)
    yield RANDOM_REGULAR
    FAMILIES.unregister("rr")


def test_the_built_in_families_in_their_order():
    assert list(FAMILIES) == ["ws", "ba", "er"] and len(FAMILIES) == 3
    assert FAMILIES.index("er") == 2 and "ba" in FAMILIES and "rr" not in FAMILIES
    assert [FAMILIES.get(name).names for name in FAMILIES] == [("k", "p"), ("m",), ("p",)]
    assert FAMILIES.parameter_names() == ("k", "p", "m")
    assert search_name("ws", "p") == "ws_p" and search_name("er", "p") == "er_p"


def test_option_help_over_the_families_that_take_the_option():
    assert FAMILIES.option_help("k") == "WS ring degree (default: nodes // 5)."
    assert FAMILIES.option_help("p") == (
        "WS rewiring or ER edge probability (default: 1, or 2 ln(n)/n for ER)."
    )
    assert FAMILIES.option_help("m") == "BA edges per new node (default: max(1, nodes // 10))."


def test_an_unknown_family_lists_the_registered_ones():
    with pytest.raises(SparseNASError, match=r"family 'rr'; choose one of ws, ba, er$"):
        FAMILIES.get("rr")


@pytest.mark.parametrize(
    "family, match",
    [
        (replace(RANDOM_REGULAR, name="ws"), "registered already"),
        (replace(RANDOM_REGULAR, name="r_r"), "without '_'"),
        (
            Family("rd", "", "", (Parameter("d", int, "", len, "", len),), _check_rr, len),
            "among k, p, m",
        ),
    ],
    ids=["taken", "underscore", "no-slot"],
)
def test_register_refuses(family, match):
    with pytest.raises(SparseNASError, match=match):
        register(family)
    assert list(FAMILIES) == ["ws", "ba", "er"]


def test_a_registered_family_is_a_graph_spec(toy):
    spec = GraphSpec("rr", 12)
    assert spec == GraphSpec("rr", 12, k=4) and (spec.p, spec.m) == (None, None)
    graph = spec.build(3)
    assert set(dict(graph.degree()).values()) == {4}
    assert sorted(graph.edges) == sorted(random_regular(12, 4, seed=3).edges)
    with pytest.raises(SparseNASError, match=r"m does not apply to family 'rr' \(it takes k\)"):
        GraphSpec("rr", 12, m=2)
    with pytest.raises(SparseNASError, match="n \\* k even"):
        GraphSpec("rr", 11, k=5)


def test_the_search_space_draws_and_suggests_a_registered_family(toy):
    space = SearchSpace(("ws", "rr"), (8, 16))
    rng = np.random.default_rng(0)
    drawn = [space.sample(rng) for _ in range(40)]
    toys = [params for params in drawn if params["family"] == "rr"]
    assert toys and all(set(p) == {"family", "nodes", "rr_k", "graph_seed"} for p in toys)
    assert {p["rr_k"] for p in toys} <= {4, 6}
    for params in toys[:5]:
        assert graph_spec(params) == GraphSpec("rr", params["nodes"], k=params["rr_k"])
        graph = build_graph(params)
        assert set(dict(graph.degree()).values()) == {params["rr_k"]}
        assert family_columns(params) == {
            "family": "rr", "k": params["rr_k"], "p": None, "m": None,
            "graph_seed": params["graph_seed"],
        }  # fmt: skip
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    suggested = [space.suggest(study.ask()) for _ in range(20)]
    assert any(p["family"] == "rr" and p["rr_k"] in (4, 6) for p in suggested)
    assert "rr_k" in study.trials[[p["family"] for p in suggested].index("rr")].distributions


def test_the_cli_offers_a_registered_family(tmp_path):
    """A fresh process registers the toy before the CLI loads: its options, help and
    `nas sample` pick it up."""
    here = Path(__file__).resolve().parent
    script = (
        f"import sys; sys.path.insert(0, {str(here)!r}); from graphs.families import register; "
        "from test_families import RANDOM_REGULAR; register(RANDOM_REGULAR); "
        "from nas.cli import app; app()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "TERM": "dumb"}

    def nas(*args: str) -> str:
        result = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    evaluate = nas("evaluate", "--help")
    assert "Graph family: ws, ba, er, rr." in evaluate
    assert "WS ring or RR degree (default: nodes // 5, or 4 for RR)." in evaluate
    assert "Families: ws, ba, er, rr, a comma list, or all." in nas("sample", "--help")
    assert "a comma list of ws, ba, er, rr, or all." in nas("search", "--help")
    rows = json.loads(nas("sample", "--family", "rr", "--count", "2", "--json"))
    assert [(row["family"], row["k"]) for row in rows] == [("rr", 4), ("rr", 4)]
