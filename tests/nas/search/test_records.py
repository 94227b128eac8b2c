"""A trial's record read one way: statuses, the budget rule, the accuracy that chooses, the
ranking and the Pareto front; and every "rank N" of a run dir naming the same network, even
when its evaluations.csv lags the study."""

import shutil

import numpy as np
import pandas as pd
import pytest
from optuna.trial import TrialState, create_trial

from core.errors import SparseNASError
from nas.experiments.export import export_network
from nas.experiments.prune import resolve_match
from nas.reports.ranking import rank_source
from nas.search.records import (
    TrialStatus,
    claims,
    counts_toward_budget,
    networks_done,
    pareto,
    pareto_front,
    rank,
    ranked_trials,
    selection_accuracy,
    trial_status,
    trials_frame,
)
from nas.search.results import ranked_run_graph


def _frame(rows):
    columns = ["trial", "status", "valid_acc", "test_acc", "params_nonzero"]
    return pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows], columns=columns)


def test_rank_breaks_ties_by_size_then_trial_and_ranks_only_finished_networks():
    frame = _frame(
        [
            (0, "ok", 0.9, 0.5, 50),
            (1, "ok", 0.95, 0.4, 80),
            (2, "ok", 0.9, 0.6, 40),
            (3, "stopped", 0.99, None, 10),
            (4, "diverged", None, None, 9),
            (5, "ok", 0.9, 0.7, 40),
            (6, "ok", 0.9, 0.8, None),  # size unknown: after every known size
        ]
    )
    ranked = rank(frame)
    assert ranked["trial"].tolist() == [1, 2, 5, 0, 6]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranked.columns[0] == "rank" and "selection_acc" in ranked


def test_rank_reads_the_test_accuracy_of_older_tables_and_the_state_when_known():
    older = _frame([(0, "ok", None, 0.7, 5), (1, "ok", 0.8, 0.6, 5)]).drop(columns="valid_acc")
    assert rank(older)["trial"].tolist() == [0, 1]
    mixed = _frame([(0, "ok", None, 0.9, 5), (1, "ok", 0.8, 0.6, 5)])
    assert selection_accuracy(mixed).tolist() == [0.9, 0.8]
    told = mixed.assign(state=["FAIL", "COMPLETE"])  # ok written, then taken over: not told
    assert rank(told)["trial"].tolist() == [1]
    assert rank(_frame([])).empty and pareto(_frame([])).empty


def test_pareto_keeps_strict_improvements_by_size_and_the_earliest_of_equal_points():
    frame = _frame(
        [
            (0, "ok", 0.8, 0.0, 10),
            (1, "ok", 0.8, 0.0, 10),  # the same point, later: dropped
            (2, "ok", 0.7, 0.0, 20),  # bigger and worse: dominated
            (3, "ok", 0.9, 0.0, 30),
            (4, "ok", 0.95, 0.0, None),  # size unknown: largest
            (5, "stopped", 0.99, 0.0, 1),
        ]
    )
    assert pareto(frame)["trial"].tolist() == [0, 3, 4]


def _trial(number, state, status=None, acc=None, size=None, **attrs):
    attrs = {**attrs, **({"status": status} if status else {})}
    if acc is not None:
        attrs["valid_acc"] = acc
        attrs["test_acc"] = acc
    if size is not None:
        attrs["metrics"] = {"params_nonzero": size}
    values = [acc] if state == TrialState.COMPLETE else None
    trial = create_trial(state=state, values=values, user_attrs=attrs)
    trial.number = number
    return trial


def test_trial_lists_rank_and_front_as_their_frame():
    trials = [
        _trial(0, TrialState.COMPLETE, "ok", 0.9, 50, train_seed=1),
        _trial(1, TrialState.COMPLETE, "ok", 0.95, 80, train_seed=1),
        _trial(2, TrialState.COMPLETE, "ok", 0.9, 40, train_seed=1),
        _trial(3, TrialState.PRUNED, "stopped", 0.99, 10, train_seed=1),
    ]
    assert [t.number for t in ranked_trials(trials)] == [1, 2, 0]
    assert [t.number for t in ranked_trials(trials, 2)] == [1, 2]
    assert [t.number for t in pareto_front(trials)] == [2, 1]
    assert rank(trials_frame(trials))["trial"].tolist() == [1, 2, 0]
    assert ranked_trials([]) == [] and pareto_front([]) == []


def test_statuses_and_the_budget_rule():
    trials = [
        _trial(0, TrialState.COMPLETE, "ok", 0.9, 5, train_seed=1),
        _trial(1, TrialState.PRUNED, "pruned", 0.5, 5, train_seed=1),  # before 0.2
        _trial(2, TrialState.FAIL, "invalid"),
        _trial(3, TrialState.FAIL, "interrupted", train_seed=1),
        _trial(4, TrialState.FAIL, train_seed=1),  # failed by the heartbeat check
        _trial(5, TrialState.FAIL, "surplus"),
        _trial(6, TrialState.RUNNING, train_seed=1),  # training
        _trial(7, TrialState.RUNNING),  # asked, not yet training
        _trial(8, TrialState.WAITING),
    ]
    statuses = [trial_status(t) for t in trials]
    assert statuses == ["ok", "stopped", "invalid", "interrupted", "lost", "surplus"] + [
        "running",
        "running",
        "waiting",
    ]
    assert statuses[4] is TrialStatus.LOST
    assert [counts_toward_budget(t) for t in trials] == [1, 1, 0, 0, 0, 0, 1, 0, 0]
    assert networks_done(trials) == 2
    assert claims(trials) == 4


@pytest.fixture
def stale_run(tiny_run, tmp_path):
    """A copy of the tiny search's out dir whose evaluations.csv lags its study: the best
    network's row is not in it yet, and the others' accuracies are shuffled."""
    out, study = tiny_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    table = pd.read_csv(run / "evaluations.csv")
    best = ranked_trials(study.get_trials())[0].number
    stale = table[table["trial"] != best].copy()
    stale["valid_acc"] = np.random.default_rng(0).permutation(stale["valid_acc"].to_numpy())
    stale.to_csv(run / "evaluations.csv", index=False)
    assert rank(stale)["trial"].iloc[0] != best
    return run, study, stale


def test_prune_match_export_and_rank_name_the_same_trial_when_the_csv_is_stale(stale_run, tmp_path):
    run, study, _ = stale_run
    expected = [t.number for t in ranked_trials(study.get_trials())]
    kept = len(list((run / "best").glob("*.pt")))
    assert kept >= 2
    _, table = rank_source(str(run), top=None)
    for position in range(1, kept + 1):
        _, row = ranked_run_graph(run, position)
        card = export_network(run, position, tmp_path / f"net{position}")
        _, label = resolve_match(run, position, "gru")
        trial = expected[position - 1]
        assert int(row["trial"]) == card["trial"] == int(table["trial"].iloc[position - 1])
        assert card["trial"] == trial and f"rank {position} (trial {trial}," in label


def test_a_run_dir_without_its_study_ranks_its_table(stale_run):
    run, _, stale = stale_run
    (run / "study.db").unlink()
    for position in (1, 2):
        _, row = ranked_run_graph(run, position)
        assert int(row["trial"]) == int(rank(stale)["trial"].iloc[position - 1])
    with pytest.raises(SparseNASError, match="rank must be an integer >= 1"):
        ranked_run_graph(run, 0)
    (run / "evaluations.csv").unlink()
    with pytest.raises(SparseNASError, match=r"is not a search's out dir \(no evaluations.csv\)"):
        ranked_run_graph(run, 1)


def test_a_dead_worker_s_trial_is_lost_at_every_step_and_another_program_s_failure_is_fail():
    """Issue 32, item 15: one word for a trial the heartbeat check failed, whether its worker
    died in training, while claiming its graph or right after asking; a failed trial with
    parameters and none of the search's attributes (plain Optuna) keeps its state's name.
    Nothing stored changes: the word is read from the trial as it always was stored."""
    from optuna.distributions import IntDistribution

    asked = _trial(0, TrialState.FAIL)  # no parameters yet
    claimed = _trial(1, TrialState.FAIL, edge_list="0-1 1-2")
    training = _trial(2, TrialState.FAIL, train_seed=7, edge_list="0-1 1-2")
    foreign = create_trial(
        state=TrialState.FAIL, params={"x": 3}, distributions={"x": IntDistribution(0, 9)}
    )
    assert [trial_status(t) for t in (asked, claimed, training)] == [TrialStatus.LOST] * 3
    assert trial_status(foreign) == "fail"
    assert not any(counts_toward_budget(t) for t in (asked, claimed, training))


def test_a_trial_failed_between_its_record_and_its_tell_is_lost_not_trained():
    """A study written before the record and the state became one transaction: the worker
    died between them, the heartbeat check failed the trial and queued its network again,
    so the record does not count it (it would be one network trained twice)."""
    record = {"train_seed": 7, "edge_list": "0-1 1-2", "valid_acc": 0.8}
    died = [_trial(i, TrialState.FAIL, status=s, **record) for i, s in enumerate(("ok", "stopped"))]
    told = _trial(2, TrialState.FAIL, status="diverged", **record)  # FAIL is its told state
    assert [trial_status(t) for t in died] == [TrialStatus.LOST] * 2
    assert not any(counts_toward_budget(t) for t in died)
    assert trial_status(told) == TrialStatus.DIVERGED and counts_toward_budget(told)
