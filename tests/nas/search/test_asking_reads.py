"""The asker reads the whole study once per round while the budget is far, not once per
trial, and still finds every surplus: racing workers on one SQLite study, the race placed
between two of this worker's asks."""

import pytest
from optuna.trial import TrialState

import nas.search.asking
import nas.search.loop
from core.errors import SparseNASError
from nas.search.records import counts_toward_budget, trial_status
from nas.search.spec import SearchSpec
from nas.search.storage import open_study
from nas.search.strategies.base import Warm
from predictors import ALL

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")


def _asker(tmp_path, budget: int):
    spec = SearchSpec(
        cell="gru", budget=budget, epochs=1, nodes=(10, 12), n_strings=200, round_size=4,
        pool_size=60, out=str(tmp_path / "run"), pruner="none", strategy="random",
    ).resolved()  # fmt: skip
    study = open_study(spec)
    search = nas.search.loop.SearchRun(spec, study, None, Warm(ALL), lambda e: None, 1)
    return spec, study, search.asker


def _between_asks(monkeypatch, before_ask: int, act) -> None:
    """Run ``act`` (another worker's move) just before this worker's ask number ``before_ask``."""
    calls = []
    ask_new = nas.search.asking.ask_new

    def racing_ask_new(study):
        calls.append(None)
        if len(calls) == before_ask:
            act()
        return ask_new(study)

    monkeypatch.setattr(nas.search.asking, "ask_new", racing_ask_new)


def test_a_worker_alone_reads_the_whole_study_once_for_a_round_of_asks(tmp_path, monkeypatch):
    _, study, asker = _asker(tmp_path, budget=6)
    reads = []
    get_trials = study.get_trials
    monkeypatch.setattr(study, "get_trials", lambda **kw: reads.append(1) or get_trials(**kw))
    batch = asker.ask(4, 0, "random")
    assert [entry.trial.number for entry, _ in batch] == [0, 1, 2, 3]
    assert len(reads) == 1  # at the round's start; none after each ask while the budget is far
    assert all(t.state == TrialState.RUNNING for t in get_trials())


def test_a_trial_another_worker_asks_between_two_asks_is_counted(tmp_path, monkeypatch):
    spec, study, asker = _asker(tmp_path, budget=2)
    other = open_study(spec)
    _between_asks(monkeypatch, 2, lambda: other.ask())  # trial 1: the other worker's
    batch = asker.ask(2, 0, "random")
    assert [entry.trial.number for entry, _ in batch] == [0]
    mine = study.get_trials()[2]  # numbers 0 and 1 fill the budget: 2 is the one too many
    assert trial_status(mine) == "surplus" and not counts_toward_budget(mine)


def test_a_queued_trial_another_worker_takes_between_two_asks_is_counted(tmp_path, monkeypatch):
    """Taking a queued trial claims the budget under the trial's old number: no new number
    tells this worker that another one acted."""
    spec, study, asker = _asker(tmp_path, budget=2)
    other = open_study(spec)
    other.enqueue_trial({"family": "ws"}, skip_if_exists=False)  # trial 0, queued
    _between_asks(monkeypatch, 2, lambda: other.ask())  # takes trial 0 before our second ask
    batch = asker.ask(2, 0, "random")
    assert [entry.trial.number for entry, _ in batch] == [1]
    trials = study.get_trials()
    assert trials[0].state == TrialState.RUNNING  # the other worker's
    assert trial_status(trials[2]) == "surplus"


def test_this_workers_invalid_draws_do_not_read_as_claims(tmp_path, monkeypatch):
    """Draws without a connected graph are told FAIL: a read taken while one ran must not
    count it against the budget (the asker once gave up its round here, and the search
    asked again forever)."""
    _, study, asker = _asker(tmp_path, budget=1)
    build_graph, failures = nas.search.asking.build_graph, []

    def twice_unconnected(params):
        if len(failures) < 2:
            failures.append(params)
            raise SparseNASError("no connected graph")
        return build_graph(params)

    monkeypatch.setattr(nas.search.asking, "build_graph", twice_unconnected)
    batch = asker.ask(1, 0, "random")
    assert [entry.trial.number for entry, _ in batch] == [2]
    assert [trial_status(t) for t in study.get_trials()[:2]] == ["invalid", "invalid"]
