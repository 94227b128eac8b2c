"""Open trials told while another worker may finish them (a storage outage past the grace)."""

import optuna
import pytest
from optuna.trial import TrialState

from nas.search.events import Tally
from nas.search.ledger import OpenTrials


@pytest.fixture
def two_workers(tmp_path):
    """One study seen through two storages, as two workers see it."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    mine = optuna.create_study(storage=url, study_name="s")
    theirs = optuna.load_study(storage=url, study_name="s")
    return mine, theirs


def test_a_trial_finished_by_another_worker_is_refused_as_taken_over(two_workers):
    mine, theirs = two_workers
    trials = OpenTrials(mine, Tally(4, lambda event: None))
    entry = trials.opened(mine.ask())
    theirs.tell(entry.trial.number, state=TrialState.FAIL)  # taken for lost meanwhile
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        trials.tell(entry, TrialState.COMPLETE, [0.5])
    assert mine.get_trials()[0].state == TrialState.FAIL


def test_a_bad_tell_of_a_running_trial_is_not_taken_for_a_race(two_workers):
    mine, _ = two_workers
    trials = OpenTrials(mine, Tally(4, lambda event: None))
    entry = trials.opened(mine.ask())
    with pytest.raises(ValueError):
        trials.tell(entry, TrialState.COMPLETE, None)  # a completed trial needs its value


def test_abandoning_skips_a_trial_another_worker_finished(two_workers):
    mine, theirs = two_workers
    trials = OpenTrials(mine, Tally(4, lambda event: None))
    kept, lost = trials.opened(mine.ask()), trials.opened(mine.ask())
    kept.params = lost.params = {"x": 1}
    real = mine.get_trials

    def read_before_the_other_worker(deepcopy=True):  # abandon's read still saw it running
        trials_read = real(deepcopy=deepcopy)
        theirs.tell(lost.trial.number, state=TrialState.FAIL)
        return trials_read

    mine.get_trials = read_before_the_other_worker
    trials.abandon()
    mine.get_trials = real
    after = {t.number: t for t in mine.get_trials()}
    assert after[kept.trial.number].user_attrs["status"] == "interrupted"
    assert "status" not in after[lost.trial.number].user_attrs
    assert len(after) == 3  # only the kept one was queued again
