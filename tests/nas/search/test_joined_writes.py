"""Writes joined into one transaction and the pruner's shared reads
(``nas.search.optuna_adapter.set_user_attrs`` and ``PrunerView``), checked against Optuna's
own one-write-per-call path on a twin study, and as a second worker sees them."""

import collections
import random

import optuna
import pytest
from optuna.trial import TrialState
from sqlalchemy import event

from nas.search.optuna_adapter import (
    PrunerView,
    rdb_backend,
    set_trials_user_attrs,
    set_user_attrs,
    tell_with_attrs,
)
from nas.search.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # asked by hand here


def _study(url: str, name: str, pruner: optuna.pruners.BasePruner) -> optuna.Study:
    return optuna.create_study(
        storage=open_storage(url), study_name=name, direction="maximize", pruner=pruner
    )


def _pruners() -> dict[str, optuna.pruners.BasePruner]:
    return {
        "halving": optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        "hyperband": optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=9, reduction_factor=3
        ),
    }


def _drive(study: optuna.Study, joined: bool, epochs: int = 9) -> list[tuple]:
    """A stack's run, as the scheduler drives it: waves of 6 trials reporting seeded
    accuracies at every epoch boundary, stopped ones leaving; with ``joined`` through a
    PrunerView, else through Optuna's ``trial.report`` and ``trial.should_prune``. Returns
    every decision and the stored record of every trial."""
    view = PrunerView(study)
    draw = random.Random(3)
    decisions = []
    for _wave in range(3):
        view.new_boundary()  # the scheduler's ask
        live = [study.ask() for _ in range(6)]
        for epoch in range(1, epochs + 1):
            for trial in list(live):
                value = round(draw.random(), 3)
                last = epoch == epochs
                if joined:
                    stop = view.report(trial, value, epoch, consult=not last)
                else:
                    trial.report(value, epoch)
                    stop = not last and trial.should_prune()
                decisions.append((trial.number, epoch, stop))
                if stop or last:
                    view.new_boundary()  # the scheduler's tell
                    state = TrialState.COMPLETE if last else TrialState.PRUNED
                    study.tell(trial, value if last else None, state=state)
                    live.remove(trial)
    stored = [
        (t.number, t.state, t.intermediate_values, t.system_attrs)
        for t in study.get_trials(deepcopy=False)
    ]
    return decisions + stored


@pytest.mark.parametrize("kind", ["halving", "hyperband"])
def test_shared_reads_decide_as_optunas_own_pruner_and_store_the_same(tmp_path, kind):
    # one study name in two files: Hyperband's brackets hash the name
    theirs = _drive(_study(f"sqlite:///{tmp_path / 'a.db'}", "s", _pruners()[kind]), False)
    mine = _drive(_study(f"sqlite:///{tmp_path / 'b.db'}", "s", _pruners()[kind]), True)
    assert mine == theirs
    stops = [d for d in theirs if len(d) == 3 and d[2]]
    assert 3 <= len(stops) < 18, len(stops)  # the pruner did stop some, not all


def test_a_rung_another_worker_wrote_is_seen_at_the_next_boundary(tmp_path):
    """Two trials at one rung: the other worker's value, written before this boundary's
    first report, makes this worker's lower value lose (the top third goes on); written
    during the boundary, after the shared read, it is not seen until the next one."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    halving = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    mine = _study(url, "s", halving)
    theirs = optuna.load_study(storage=open_storage(url), study_name="s", pruner=halving)
    view = PrunerView(mine)
    first, second = mine.ask(), mine.ask()
    other = theirs.ask()
    assert view.report(first, 0.5, 1) is False  # alone at rung 0: promoted
    theirs_trial = theirs.get_trials(deepcopy=False)[other.number]
    assert "completed_rung_0" not in theirs_trial.system_attrs
    other.report(0.9, 1)
    assert other.should_prune() is False  # now 0.5 and 0.9 at rung 0
    # same boundary: the shared read (before the other's rung) holds only ``first``'s 0.5
    assert view.report(second, 0.7, 1) is False
    view.new_boundary()
    third = mine.ask()
    # next boundary: 0.5, 0.9, 0.7 are read; 0.6 is not in the top half of four
    assert view.report(third, 0.6, 1) is True
    stored = {t.number: t for t in theirs.get_trials(deepcopy=False)}
    assert stored[third.number].intermediate_values == {1: 0.6}
    assert stored[third.number].system_attrs["completed_rung_0"] == 0.6


def test_a_report_of_a_trial_another_worker_finished_stores_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    mine = _study(url, "s", _pruners()["halving"])
    theirs = optuna.load_study(storage=open_storage(url), study_name="s")
    trial = mine.ask()
    theirs.tell(trial.number, state=TrialState.FAIL)  # taken for lost
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        PrunerView(mine).report(trial, 0.5, 1)
    stored = theirs.get_trials(deepcopy=False)[0]
    assert stored.intermediate_values == {}
    assert stored.system_attrs == {}


def test_a_trials_attributes_are_one_write_another_worker_sees_whole(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    mine = _study(url, "s", optuna.pruners.NopPruner())
    theirs = optuna.load_study(storage=open_storage(url), study_name="s")
    trial = mine.ask()
    attrs = {"status": "ok", "valid_acc": 0.75, "metrics": {"epochs": 3, "acc": [0.5, None]}}
    set_user_attrs(mine, trial, attrs)
    assert trial.user_attrs == attrs  # the trial's own copy, as set_user_attr keeps it
    assert theirs.get_trials(deepcopy=False)[0].user_attrs == attrs
    set_user_attrs(mine, trial, {"valid_acc": 0.8})  # an update keeps the others
    assert theirs.get_trials(deepcopy=False)[0].user_attrs == {**attrs, "valid_acc": 0.8}
    theirs.tell(trial.number, state=TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        set_user_attrs(mine, trial, {"status": "crashed", "reason": "late"})
    after = theirs.get_trials(deepcopy=False)[0].user_attrs
    assert after["status"] == "ok" and "reason" not in after  # neither was written


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """A fresh storage of each database the search supports (PostgreSQL: TEST_DB_URL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return request.getfixturevalue("pg_url")


def _statements(study: optuna.Study) -> collections.Counter:
    """The SQL statements and commits the study's storage sends from now on, by kind."""
    seen: collections.Counter = collections.Counter()
    engine = rdb_backend(study).engine
    event.listen(engine, "before_cursor_execute", lambda *a: seen.update([a[2].split()[0].upper()]))
    event.listen(engine, "commit", lambda _connection: seen.update(["COMMIT"]))
    return seen


def _writing_commits(study: optuna.Study) -> list[list[str]]:
    """The statements of every commit that writes, from now on (reads commit too)."""
    commits: list[list[str]] = [[]]
    engine = rdb_backend(study).engine

    def commit(_connection) -> None:
        if {"INSERT", "UPDATE", "DELETE"} & set(commits[-1]):
            commits.append([])
        else:
            commits[-1].clear()

    event.listen(engine, "before_cursor_execute", lambda *a: commits[-1].append(a[2].split()[0]))
    event.listen(engine, "commit", commit)
    return commits


def test_a_trials_attributes_are_one_statement_and_one_commit(url):
    study = _study(url, "s", optuna.pruners.NopPruner())
    trial = study.ask()
    set_user_attrs(study, trial, {"old": 0})
    seen = _statements(study)
    attrs = {f"key{i}": [i, None, {"n": i}] for i in range(12)} | {"old": 1}
    set_user_attrs(study, trial, attrs)  # eleven new rows and one replaced
    assert seen == {"SELECT": 1, "INSERT": 1, "COMMIT": 1}
    reader = optuna.load_study(storage=open_storage(url), study_name="s")
    assert reader.get_trials(deepcopy=False)[0].user_attrs == attrs


def test_a_batch_of_trials_gets_its_attribute_in_one_write_or_none_gets_it(url):
    mine = _study(url, "s", optuna.pruners.NopPruner())
    theirs = optuna.load_study(storage=open_storage(url), study_name="s")
    batch = [mine.ask() for _ in range(5)]
    seen = _statements(mine)
    set_trials_user_attrs(mine, batch, {"train_seed": 7})
    assert seen == {"SELECT": 1, "INSERT": 1, "COMMIT": 1}
    assert all(t.user_attrs == {"train_seed": 7} for t in batch)  # the trials' own copies
    assert [t.user_attrs for t in theirs.get_trials(deepcopy=False)] == [{"train_seed": 7}] * 5
    set_trials_user_attrs(mine, [batch[0], batch[0]], {"train_seed": 7})  # twice: one row
    theirs.tell(batch[3].number, state=TrialState.FAIL)  # one taken for lost meanwhile
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        set_trials_user_attrs(mine, batch, {"train_seed": 8, "worker": "w"})
    stored = theirs.get_trials(deepcopy=False)
    assert [t.user_attrs for t in stored] == [{"train_seed": 7}] * 5  # none was written


def _told(study: optuna.Study, state: TrialState, joined: bool) -> list[tuple]:
    """Three trials told ``state`` with a record (one reported an epoch first), through
    ``tell_with_attrs`` (``joined``) or Optuna's ``set_user_attr`` then ``tell``."""
    values = {TrialState.COMPLETE: [0.75, 120.0][: len(study.directions)]}.get(state)
    for number in range(3):
        trial = study.ask()
        if number == 1 and len(study.directions) == 1:
            trial.report(0.5, 1)  # a pruned trial's value is its last report
        record = {"status": "ok", "valid_acc": 0.75, "metrics": {"epochs": [1, None]}}
        if joined:
            tell_with_attrs(study, trial, state, values, record)
        else:
            for key, value in record.items():
                trial.set_user_attr(key, value)
            study.tell(trial, values, state=state)
    return [
        (t.number, t.state, t.values, t.user_attrs, t.intermediate_values)
        for t in study.get_trials(deepcopy=False)
    ]


@pytest.mark.parametrize("state", [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL])
@pytest.mark.parametrize("directions", [["maximize"], ["maximize", "minimize"]])
def test_a_record_told_with_its_state_is_stored_as_optunas_own_two_writes(
    tmp_path, state, directions
):
    if state == TrialState.PRUNED and len(directions) > 1:
        pytest.skip("Optuna prunes single-objective trials only")
    twins = [
        optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / n}.db"), study_name="s",
                            directions=directions)
        for n in ("theirs", "mine")
    ]  # fmt: skip
    theirs, mine = _told(twins[0], state, False), _told(twins[1], state, True)
    assert mine == theirs
    assert {t[1] for t in mine} == {state}


def test_a_record_and_its_final_state_are_one_commit(url):
    """A worker killed between its record and its state would leave a record on a running
    trial: the heartbeat check fails it, queues its network again, and the record counts
    it as trained (one network trained twice)."""
    study = _study(url, "s", optuna.pruners.NopPruner())
    trial = study.ask()
    commits = _writing_commits(study)
    tell_with_attrs(study, trial, TrialState.COMPLETE, [0.75], {"status": "ok", "acc": 0.75})
    assert len(commits[:-1]) == 1, commits  # the record, the value and the state together
    assert trial.user_attrs == {"status": "ok", "acc": 0.75}  # the trial's own copy
    assert not rdb_backend(study).attrs_on_tell
    stored = optuna.load_study(storage=open_storage(url), study_name="s").trials[0]
    assert (stored.state, stored.values, stored.user_attrs["status"]) == (
        TrialState.COMPLETE, [0.75], "ok",
    )  # fmt: skip


def test_a_record_of_a_trial_another_worker_finished_is_not_written(url):
    mine = _study(url, "s", optuna.pruners.NopPruner())
    theirs = optuna.load_study(storage=open_storage(url), study_name="s")
    trial = mine.ask()
    theirs.tell(trial.number, state=TrialState.FAIL)  # taken for lost
    with pytest.raises((optuna.exceptions.UpdateFinishedTrialError, ValueError)):
        tell_with_attrs(mine, trial, TrialState.COMPLETE, [0.75], {"status": "ok"})
    assert not rdb_backend(mine).attrs_on_tell
    stored = theirs.get_trials(deepcopy=False)[0]
    assert stored.state == TrialState.FAIL and stored.user_attrs == {}


def test_storages_without_transactions_are_written_one_by_one():
    study = optuna.create_study(direction="maximize")  # in memory
    trial = study.ask()
    other = study.ask()
    set_user_attrs(study, trial, {"a": 1, "b": [2]})
    set_trials_user_attrs(study, [trial, other], {"c": 3})
    assert PrunerView(study).report(trial, 0.5, 1) is False
    tell_with_attrs(study, other, TrialState.FAIL, attrs={"status": "crashed"})
    stored = study.get_trials(deepcopy=False)
    assert stored[0].user_attrs == {"a": 1, "b": [2], "c": 3}
    assert stored[1].user_attrs == {"c": 3, "status": "crashed"}
    assert stored[1].state == TrialState.FAIL
    assert stored[0].intermediate_values == {1: 0.5}
