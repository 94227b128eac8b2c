"""benchmarks/replay.py on multi-seed pools (NAS-Bench-201's lookup): one training seed drawn
per evaluation, the search told validation, the record and the regret on test; older
single-seed test-only pools replay as before. Tiny pools are written by the tests."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphs.io import edges_to_string
from nas.search import SearchSpec
from nas.search.space import FAMILY_PARAMS, SearchSpace

FAMILIES = ("ws", "ba", "er")
NODES = (10, 14)
GRAPHS = 24


@pytest.fixture(scope="module")
def replay(benchmark_script):
    return benchmark_script("replay")


def _graph_rows(count: int, seed: int = 0) -> list[dict]:
    """``count`` search-space graphs as a pool's per-graph columns."""
    space = SearchSpace(FAMILIES, NODES)
    rows = []
    for graph_id, (params, graph) in enumerate(
        space.connected_samples(np.random.default_rng(seed), count)
    ):
        row = {"graph_id": graph_id, "family": params["family"], "nodes": params["nodes"]}
        row.update({name: math.nan for names in FAMILY_PARAMS.values() for name in names})
        row.update({name: params[name] for name in FAMILY_PARAMS[params["family"]]})
        row.update({
            "graph_seed": params["graph_seed"], "cell": "rnn_tanh", "status": "ok",
            "params_nonzero": 100 + graph.number_of_edges(), "edge_list": edges_to_string(graph),
        })  # fmt: skip
        rows.append(row)
    return rows


def _multi_seed_pool(path: Path, count: int = GRAPHS) -> pd.DataFrame:
    """Two training seeds per graph; validation and test accuracy differ, and so do seeds."""
    rng = np.random.default_rng(7)
    rows = []
    for row in _graph_rows(count):
        for train_seed in (0, 1):
            valid = round(float(rng.uniform(0.5, 0.99)), 4)
            test = round(float(rng.uniform(0.5, 0.99)), 4)
            rows.append({**row, "train_seed": train_seed, "valid_acc": valid, "test_acc": test})
    table = pd.DataFrame(rows)
    table.to_csv(path, index=False)
    return table


def _spec(strategy: str, seed: int, budget: int) -> SearchSpec:
    return SearchSpec(
        cell="rnn_tanh", strategy=strategy, budget=budget, families=FAMILIES, nodes=NODES,
        round_size=4, seed=seed,
    )  # fmt: skip


def test_a_seed_draw_repeats_and_uses_every_seed(replay):
    draws = {(s, m): replay.drawn_seed(s, m, 2) for s in range(3) for m in range(200)}
    assert draws == {(s, m): replay.drawn_seed(s, m, 2) for s in range(3) for m in range(200)}
    for seed in range(3):
        ones = sum(draws[seed, m] for m in range(200))
        assert 60 < ones < 140  # both seeds, in roughly equal shares
    assert any(draws[0, m] != draws[1, m] for m in range(200))  # the replay seed counts
    assert {replay.drawn_seed(0, m, 3) for m in range(100)} == {0, 1, 2}
    assert {replay.drawn_seed(s, m, 1) for s in range(3) for m in range(50)} == {0}


def test_a_multi_seed_pool_has_one_member_per_graph(replay, tmp_path):
    table = _multi_seed_pool(tmp_path / "pool.csv", 6)
    # a graph that lacks a seed is left out; a failed seed is NaN, the other seed still counts
    table = table[~((table["graph_id"] == 4) & (table["train_seed"] == 1))].copy()
    failed = (table["graph_id"] == 2) & (table["train_seed"] == 0)
    table.loc[failed, "status"] = "diverged"
    table.to_csv(tmp_path / "pool.csv", index=False)
    pool = replay.Pool.load(tmp_path / "pool.csv", SearchSpace(FAMILIES, NODES))
    assert pool.has_valid and pool.seeds == 2 and pool.valid.shape == (5, 2)
    kept = table[table["graph_id"] != 4]
    assert pool.edges == list(kept.drop_duplicates("graph_id")["edge_list"])
    by_graph = kept.set_index(["graph_id", "train_seed"])
    assert pool.test[0, 1] == by_graph.loc[(0, 1), "test_acc"]
    assert pool.valid[3, 0] == by_graph.loc[(3, 0), "valid_acc"]
    assert np.isnan(pool.valid[2, 0]) and np.isnan(pool.test[2, 0])
    assert pool.acc[2] == by_graph.loc[(2, 1), "test_acc"]
    assert pool.acc[0] == pytest.approx(by_graph.loc[0, "test_acc"].mean())


def test_the_search_sees_validation_and_the_record_holds_test(replay, tmp_path):
    _multi_seed_pool(tmp_path / "pool.csv")
    pool = replay.Pool.load(tmp_path / "pool.csv", SearchSpace(FAMILIES, NODES))
    run = replay.Replay(pool, _spec("random", 3, GRAPHS))
    order = run.run()
    assert sorted(order) == list(range(GRAPHS)) and set(run.draws) == {0, 1}
    members = {edges: i for i, edges in enumerate(pool.edges)}
    for trial, member, draw in zip(run.study.trials, order, run.draws, strict=True):
        assert members[trial.user_attrs["edge_list"]] == member
        assert draw == replay.drawn_seed(3, member, 2)
        assert trial.value == pool.valid[member, draw] != pool.test[member, draw]
        assert trial.user_attrs["valid_acc"] == pool.valid[member, draw]
        assert trial.user_attrs["test_acc"] == pool.test[member, draw]
    again = replay.Replay(pool, _spec("random", 3, GRAPHS))
    assert again.run() == order and again.draws == run.draws


def test_regret_of_the_graph_selected_by_validation_by_hand(replay):
    """Three graphs, two seeds each (graph 2's seed 0 failed). Mean test: 0.75, 0.55, 0.9;
    the pool's best is 0.9."""
    nan = math.nan
    pool = replay.Pool(
        params=[{}] * 3, graphs=[None] * 3, edges=["a", "b", "c"],
        valid=np.array([[0.8, 0.6], [0.9, 0.7], [nan, 0.95]]),
        test=np.array([[0.7, 0.8], [0.5, 0.6], [nan, 0.9]]),
        size=np.ones(3), scaled=np.zeros((3, 4)), family=np.array(["ws"] * 3), has_valid=True,
    )  # fmt: skip
    assert pool.acc == pytest.approx([0.75, 0.55, 0.9])
    # draws 0, 0, 0: validation picks graph 0 (0.8), then graph 1 (0.9); graph 2 failed
    picked = replay.selected_curve(*pool.looked_up([0, 1, 2], [0, 0, 0]))
    assert 0.9 - picked == pytest.approx([0.15, 0.35, 0.35])
    # draws 1, 0, 1: graph 0 (0.6), graph 1 (0.9), graph 2 (0.95): regret 0 at the end
    picked = replay.selected_curve(*pool.looked_up([0, 1, 2], [1, 0, 1]))
    assert 0.9 - picked == pytest.approx([0.15, 0.35, 0.0])
    assert replay.evals_to(np.array([picked]), 0.9, 3) == [3]
    # a tie in validation keeps the earlier graph; nothing trained yet selects nothing
    curve = replay.selected_curve(np.array([nan, 0.8, 0.8]), np.array([0.9, 0.6, 0.7]))
    assert curve.tolist() == [-np.inf, 0.6, 0.6]


def test_an_old_single_seed_pool_still_replays(replay, tmp_path):
    rows = _graph_rows(GRAPHS)
    rng = np.random.default_rng(3)
    for row in rows:
        row.update({"train_seed": 0, "test_acc": round(float(rng.uniform(0.5, 0.99)), 4)})
    rows[5]["status"], rows[5]["test_acc"] = "diverged", math.nan
    table = pd.DataFrame(rows)
    table.to_csv(tmp_path / "old.csv", index=False)
    pool = replay.Pool.load(tmp_path / "old.csv", SearchSpace(FAMILIES, NODES))
    assert not pool.has_valid and pool.seeds == 1
    assert np.array_equal(pool.acc, table["test_acc"].to_numpy(), equal_nan=True)
    run = replay.Replay(pool, _spec("random", 0, 16))
    order = run.run()
    assert set(run.draws) == {0}
    for trial, member in zip(run.study.trials, order, strict=True):
        if member == 5:
            assert trial.value is None and trial.user_attrs["status"] == "diverged"
        else:
            assert trial.value == trial.user_attrs["test_acc"] == pool.acc[member]
            assert "valid_acc" not in trial.user_attrs
    best = np.fmax.accumulate(np.where(np.isnan(pool.acc[order]), -np.inf, pool.acc[order]))
    assert np.array_equal(replay.selected_curve(*pool.looked_up(order, run.draws)), best)


def test_the_script_writes_the_fields_figures_alike_in_one_or_two_processes(
    replay, tmp_path, monkeypatch
):
    _multi_seed_pool(tmp_path / "pool.csv")
    summaries = []
    for jobs in (1, 2):
        stem = tmp_path / f"jobs{jobs}"
        argv = ["replay.py", "--pool", str(tmp_path / "pool.csv"), "--seeds", "4", "--budget",
                "12", "--round-size", "4", "--strategies", "random,local", "--jobs", str(jobs),
                "--out", str(stem)]  # fmt: skip
        monkeypatch.setattr(sys, "argv", argv)
        replay.main()
        assert Path(f"{stem}.png").stat().st_size > 0
        summaries.append(json.loads(Path(f"{stem}.json").read_text()))
    one, two = summaries
    assert one["strategies"] == two["strategies"]
    assert one["seeds_per_graph"] == 2 and "validation" in one["accuracy"]
    table = pd.read_csv(tmp_path / "pool.csv")
    assert one["pool_best"] == pytest.approx(table.groupby("graph_id")["test_acc"].mean().max())
    reach = one["strategies"]["random"]["evals_to_top_1_percent"]
    assert len(reach["per_seed"]) == 4 and 0 <= reach["reached"] <= 4
    pairs = {(t["a"], t["b"]) for t in one["paired_evals_to_top_1_percent"]}
    assert pairs == {("random", "local")}
    # --first-seed: seeds 2 and 3 alone replay as they did among seeds 0 .. 3
    argv = ["replay.py", "--pool", str(tmp_path / "pool.csv"), "--seeds", "2", "--first-seed",
            "2", "--budget", "12", "--round-size", "4", "--strategies", "random,local",
            "--out", str(tmp_path / "later")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    replay.main()
    later = json.loads((tmp_path / "later.json").read_text())
    assert later["first_seed"] == 2 and one["first_seed"] == 0
    for name in ("random", "local"):
        every = one["strategies"][name]["evals_to_top_1_percent"]["per_seed"]
        assert later["strategies"][name]["evals_to_top_1_percent"]["per_seed"] == every[2:]
