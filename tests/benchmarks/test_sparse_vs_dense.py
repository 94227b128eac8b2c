"""benchmarks/sparse_vs_dense.py: the dense control's width, the t-interval against scipy's
own, the search's best by validation, and a tiny run end to end."""

from __future__ import annotations

import json
import sys

import networkx as nx
import pandas as pd
import pytest
from scipy import stats

from graphs.generators import watts_strogatz
from graphs.io import edges_to_string, write_graph


@pytest.fixture(scope="module")
def bench(benchmark_script):
    return benchmark_script("sparse_vs_dense")


def test_the_dense_width_matches_the_recurrent_weights(bench):
    # The figures: 128 GRU units on one real input hold 49,536 recurrent weights.
    assert bench.dense_width(49_536, "gru", 1) == 128
    assert bench.dense_width(816, "gru", 1) == 16
    assert bench.dense_width(3 * (16 + 256) + 1, "gru", 1) == 16  # the nearest


def test_the_widest_dense_network_within_a_cap(bench):
    # 28 GRU units on one real input: 3 (28 + 784) = 2,436 recurrent weights; 29 hold 2,610.
    assert bench.widest_within(2_500, "gru", 1) == 28
    assert bench.widest_within(2_436, "gru", 1) == 28
    assert bench.widest_within(2_435, "gru", 1) == 27
    assert bench.widest_within(5, "gru", 1) == 0  # one unit holds 3 (1 + 1) = 6


def test_the_t_interval_is_scipys(bench):
    values = [0.91, 0.95, 0.93, 0.97, 0.9]
    got = bench.t_interval(values)
    low, high = stats.t.interval(0.95, 4, loc=got["mean"], scale=stats.sem(values))
    assert got["mean"] == pytest.approx(sum(values) / 5)
    assert got["t95"] == pytest.approx((high - low) / 2)


def test_the_best_of_a_run_is_chosen_by_validation(bench, tmp_path):
    graphs = [watts_strogatz(8, 2, 0.5, seed=s) for s in range(3)]
    pd.DataFrame(
        {"trial": [0, 1, 2], "status": ["ok", "ok", "pruned"],
         "valid_acc": [0.8, 0.9, 0.99], "test_acc": [0.95, 0.85, 0.99],
         "edge_list": [edges_to_string(g) for g in graphs]}
    ).to_csv(tmp_path / "evaluations.csv", index=False)  # fmt: skip
    graph, chosen = bench.best_of_run(tmp_path)
    assert chosen["trial"] == 1 and nx.utils.graphs_equal(graph, graphs[1])


def tiny_run(bench, tmp_path, monkeypatch, *extra: str) -> dict:
    """The script's JSON of a 2-seed, 1-epoch run on a 120-string Reber task."""
    real = bench.load_task
    monkeypatch.setattr(bench, "load_task", lambda spec, seed=0: real(spec, seed, 120))
    write_graph(watts_strogatz(8, 2, 0.5, seed=1), tmp_path / "g.graphml")
    out = tmp_path / "out.json"
    argv = ["x", "--task", "reber", "--graph", str(tmp_path / "g.graphml"), "--seeds", "2",
            "--epochs", "1", *extra, "--out", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    bench.main()
    return json.loads(out.read_text())


def test_a_tiny_run_writes_its_table(bench, tmp_path, monkeypatch):
    data = tiny_run(bench, tmp_path, monkeypatch)
    assert {r["network"] for r in data["runs"]} == {"sparse", "dense"} and len(data["runs"]) == 4
    dense, sparse = data["networks"]["dense"], data["networks"]["sparse"]
    assert dense["edges"] == 0 and len(dense["layer_sizes"]) == 1
    assert dense["layer_sizes"] == [bench.dense_width(sparse["recurrent_weights"], "gru", 32)]
    assert data["sparse_minus_dense_test_acc"]["n"] == 2
    assert "dense_cap" not in data["networks"]


def test_a_cap_adds_the_widest_dense_network_within_it(bench, tmp_path, monkeypatch):
    data = tiny_run(bench, tmp_path, monkeypatch, "--cap", "700")
    cap = data["networks"]["dense_cap"]
    # Embedding width 32: h units hold 3 (32 h + h^2); 6 units 684, 7 units 819.
    assert cap["layer_sizes"] == [6] and cap["recurrent_weights"] == 684
    assert len(data["runs"]) == 6 and data["sparse_minus_dense_cap_test_acc"]["n"] == 2
    by = {(r["network"], r["seed"]): r["test_acc"] for r in data["runs"]}
    first = by["sparse", 0] - by["dense_cap", 0]
    second = by["sparse", 1] - by["dense_cap", 1]
    assert data["sparse_minus_dense_cap_test_acc"]["mean"] == pytest.approx((first + second) / 2)


def test_a_cap_below_one_unit_is_an_error(bench, tmp_path, monkeypatch, capsys):
    write_graph(watts_strogatz(8, 2, 0.5, seed=1), tmp_path / "g.graphml")
    argv = ["x", "--task", "reber", "--graph", str(tmp_path / "g.graphml"), "--cap", "10",
            "--out", str(tmp_path / "out.json")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        bench.main()
    assert exited.value.code == 2
    assert "error: --cap 10 is below one unit's recurrent weights" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()
