"""Asking new trials without Optuna's read of the queue (``nas.search.optuna_adapter.ask_new``)
and the asker's choice between it and ``Study.ask``: queued trials are still taken, by
``Study.ask``, and only they."""

import optuna
import pytest
from optuna.trial import TrialState

from nas.search import SearchSpec, run_search
from nas.search.optuna_adapter import ask_new
from nas.search.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # asked by hand here


def _study(url: str) -> optuna.Study:
    sampler = optuna.samplers.TPESampler(seed=5, n_startup_trials=2)
    study = optuna.create_study(storage=open_storage(url), study_name="s", sampler=sampler)
    for x in (0.1, 0.7, 0.4):  # finished trials, so TPE models them
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        study.tell(trial, x)
    return study


def test_ask_new_gives_the_trial_study_ask_gives_when_nothing_is_queued(tmp_path):
    """Twin studies, one asked by ``Study.ask``, one by ``ask_new``: the same trial number,
    state and suggested value (the sampler sees the same trial)."""
    theirs, mine = (
        _study(f"sqlite:///{tmp_path / 'a.db'}"),
        _study(f"sqlite:///{tmp_path / 'b.db'}"),
    )
    asked = []
    for study, ask in ((theirs, optuna.Study.ask), (mine, ask_new)):
        trial = ask(study)
        value = trial.suggest_float("x", 0.0, 1.0)
        stored = study.get_trials(deepcopy=False)[-1]
        asked.append((trial.number, stored.state, value, stored.params))
    assert asked[0] == asked[1]
    assert asked[0][0] == 3 and asked[0][1] == TrialState.RUNNING


def test_ask_new_leaves_a_queued_trial_for_study_ask(tmp_path):
    study = _study(f"sqlite:///{tmp_path / 's.db'}")
    study.enqueue_trial({"x": 0.25})
    new = ask_new(study)
    assert new.number == 4  # after the queued trial (number 3), which still waits
    assert study.get_trials(deepcopy=False)[3].state == TrialState.WAITING
    queued = study.ask()
    assert queued.number == 3 and queued.suggest_float("x", 0.0, 1.0) == 0.25


def test_the_search_takes_its_queued_proposals_with_study_ask_and_no_other(tmp_path, monkeypatch):
    """A seeded search of a warm-up stack then a predictor round: ``Study.ask`` is called
    once per trial the round queued (each taken and trained), the warm-up's and every other
    trial are asked new, and nothing is left queued."""
    calls = {"ask": 0, "enqueue": 0}
    ask, enqueue = optuna.Study.ask, optuna.Study.enqueue_trial

    def counted_ask(self, *args, **kwargs):
        calls["ask"] += 1
        return ask(self, *args, **kwargs)

    def counted_enqueue(self, *args, **kwargs):
        calls["enqueue"] += 1
        return enqueue(self, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "ask", counted_ask)
    monkeypatch.setattr(optuna.Study, "enqueue_trial", counted_enqueue)
    spec = SearchSpec(
        cell="gru", budget=8, epochs=1, nodes=(10, 12), n_strings=200, round_size=4,
        pool_size=40, out=str(tmp_path / "run"), pruner="none", seed=3,
    )  # fmt: skip
    trials = run_search(spec).get_trials(deepcopy=False)
    proposed = [t for t in trials if t.user_attrs.get("origin") in ("pool", "local")]
    assert calls["enqueue"] == len(proposed) > 0
    assert calls["ask"] == calls["enqueue"]
    assert len(trials) == 8
    assert all(t.state != TrialState.WAITING for t in trials)
    assert all("train_seed" in t.user_attrs for t in trials)
