"""Tests for the tasks' own training settings (nas.tasks.train_settings) and where the
command line reads them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import models.evaluation
import nas.search.loop
from core.errors import SparseNASError
from models.train_spec import TrainSpec, with_defaults
from nas.cli.app import app
from nas.tasks import TASK_TRAINING, train_settings, train_settings_help

runner = CliRunner()
THESIS = {"epochs": 15, "batch_size": 128, "lr": 1e-3, "readout": "last"}
"""TrainSpec's defaults, spelled out: Reber and digits must keep them."""
READOUT = "all"
"""The read-out of the real-valued tasks (benchmarks/data/readout_choice_mnist1d.json)."""
MNIST1D = {"epochs": 60, "batch_size": 100, "lr": 1e-2, "readout": READOUT}


def test_a_given_setting_wins_then_the_task_default_then_trainspec() -> None:
    assert with_defaults({}) == THESIS == {k: getattr(TrainSpec(), k) for k in THESIS}
    assert with_defaults({"lr": 0.5}) == {**THESIS, "lr": 0.5}
    assert with_defaults({"lr": 0.5}, lr=0.25, epochs=None) == {**THESIS, "lr": 0.25}
    assert with_defaults({}, epochs=3, batch_size=7) == {**THESIS, "epochs": 3, "batch_size": 7}


@pytest.mark.parametrize(("defaults", "given"), [({"momentum": 0.9}, {}), ({}, {"clip_norm": 1.0})])
def test_an_unknown_setting_is_refused(defaults: dict, given: dict) -> None:
    with pytest.raises(SparseNASError, match="unknown training setting"):
        with_defaults(defaults, **given)


def test_tasks_without_their_own_settings_keep_the_thesis_defaults() -> None:
    for task in ("reber", "reber-thesis", "digits", "csv:x.csv"):
        assert train_settings(task) == THESIS
    for task in ("seq-mnist:/data", "seq-mnist-pixels:/d", "cifar10:/d", "speech-commands:/d"):
        assert train_settings(task) == {**THESIS, "readout": READOUT}
    assert train_settings("mnist1d") == MNIST1D
    assert train_settings("mnist1d", epochs=2) == {**MNIST1D, "epochs": 2}
    assert train_settings("mnist1d", readout="last") == {**MNIST1D, "readout": "last"}
    assert not {"reber", "reber-thesis", "digits"} & set(TASK_TRAINING)
    assert train_settings_help("lr") == "default: 0.001; mnist1d: 0.01"
    assert train_settings_help("readout").startswith(f"default: last; mnist1d: {READOUT}")


class _Seen(SparseNASError):
    """Raised by a stand-in to stop a command once it has shown what it received."""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--task", "reber"], TrainSpec()),
        (["--task", "mnist1d"], TrainSpec(**MNIST1D)),
        (["--task", "mnist1d", "--lr", "0.003"], TrainSpec(**{**MNIST1D, "lr": 3e-3})),
        (["--task", "mnist1d", "--readout", "last"], TrainSpec(**{**MNIST1D, "readout": "last"})),
        (["--task", "reber", "--epochs", "2"], TrainSpec(epochs=2)),
        (["--task", "reber", "--readout", "sinks"], TrainSpec(readout="sinks")),
    ],
)
def test_evaluate_trains_with_the_tasks_settings(monkeypatch, args, expected) -> None:
    seen: list[TrainSpec] = []

    def stand_in(graphs, cell, task, train, **kwargs):
        seen.append(train)
        raise _Seen("stopped")

    monkeypatch.setattr(models.evaluation, "evaluate_many", stand_in)
    monkeypatch.setattr("nas.tasks.load_task", lambda *a, **k: None)  # no data needed
    result = runner.invoke(app, ["evaluate", "--nodes", "10", "--json", *args])
    assert result.exit_code == 2 and "stopped" in result.output
    assert seen == [expected]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--task", "reber"], THESIS),
        (["--task", "mnist1d"], MNIST1D),
        (["--task", "mnist1d", "--epochs", "4"], {**MNIST1D, "epochs": 4}),
        (["--task", "mnist1d", "--readout", "last"], {**MNIST1D, "readout": "last"}),
    ],
)
def test_search_trains_with_the_tasks_settings(monkeypatch, tmp_path, args, expected) -> None:
    seen = []

    def stand_in(spec, **kwargs):
        seen.append({name: getattr(spec, name) for name in expected})
        raise _Seen("stopped")

    monkeypatch.setattr(nas.search.loop, "run_search", stand_in)
    out = tmp_path / "run"
    result = runner.invoke(app, ["search", "--budget", "3", "--out", str(out), *args])
    assert result.exit_code == 2 and "stopped" in result.output
    assert seen == [expected]
