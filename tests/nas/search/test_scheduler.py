"""What the search does around training that no other test shows: a run of crashes stops
the search with the error, the out dir's tables are refreshed while networks train, and
Optuna's pruner stops networks in a real search."""

import json
from pathlib import Path

import pandas as pd
import pytest
from optuna.trial import TrialState

import models.engine.stream
import nas.search.loop
from nas.search import SearchSpec, run_search
from nas.search.scheduler import MAX_CRASH_STREAK
from nas.search.storage import open_study

PINNED = Path(__file__).resolve().parents[2] / "data" / "search_trajectory_gru_seed7.json"


def _tiny(tmp_path, **changes) -> SearchSpec:
    settings = dict(
        cell="gru", budget=6, epochs=1, nodes=(10, 12), n_strings=200, round_size=2,
        pool_size=60, out=str(tmp_path / "run"), pruner="none", strategy="random",
    )  # fmt: skip
    return SearchSpec(**(settings | changes))


def test_a_run_of_crashes_stops_the_search_with_the_error(tmp_path, monkeypatch):
    """Every network crashes (a bug, not a bad candidate): after MAX_CRASH_STREAK crashed
    trainings in a row the search raises the error itself, every crash recorded."""

    def always(*args, **kwargs):
        raise RuntimeError("a bug in the training step")

    monkeypatch.setattr(models.engine.stream, "_train_epoch", always)
    spec = _tiny(tmp_path, budget=20)
    with pytest.raises(RuntimeError, match="a bug in the training step"):
        run_search(spec)
    study = open_study(spec.resolved())  # the study is the record (the tables lag it)
    crashed = [t for t in study.get_trials() if t.user_attrs.get("status") == "crashed"]
    assert len(crashed) == MAX_CRASH_STREAK
    assert all(t.state == TrialState.FAIL for t in crashed)
    others = [t for t in study.get_trials() if t not in crashed]  # the stack's other networks,
    assert all(  # told interrupted and queued again for a rerun, as on Ctrl-C
        t.user_attrs.get("status") == "interrupted" or t.state == TrialState.WAITING for t in others
    )
    assert all("RuntimeError: a bug" in t.user_attrs["reason"] for t in crashed)


def test_the_tables_are_exported_while_networks_train(tmp_path, monkeypatch):
    """With EXPORT_SECONDS at 0, each epoch boundary where the engine asks for networks
    refreshes evaluations.csv: it holds the told trials before the search ends."""
    monkeypatch.setattr(nas.search.loop, "EXPORT_SECONDS", 0.0)
    out = tmp_path / "run"
    seen: list[int] = []

    def progress(event) -> None:
        table = out / "evaluations.csv"
        if event.kind == "round" and table.is_file():  # rows below the header line
            seen.append(max(0, len(table.read_text().splitlines()) - 1))

    run_search(_tiny(tmp_path, budget=6, round_size=2), progress)
    assert seen and max(seen) >= 2  # rows of earlier rounds, written mid-run
    assert len(pd.read_csv(out / "evaluations.csv")) == 6


def test_the_pruner_stopped_networks_in_the_pinned_real_search():
    """The pinned seeded search (successive halving, the default pruner) has networks that
    Optuna's pruner stopped: PRUNED in the study, ``stopped`` in the record, fewer epochs."""
    rows = json.loads(PINNED.read_text(encoding="utf-8"))
    stopped = [r for r in rows if r["state"] == TrialState.PRUNED.name]
    assert stopped and all(r["status"] == "stopped" for r in stopped)
    assert any(r["state"] == TrialState.COMPLETE.name for r in rows)
