"""A trial's record, read one way everywhere: its status, the budget rule, the accuracy that
chooses between networks, the ranking, the Pareto front and JSON-safe values.

The search (its budget, best trials and summary), the reports, ``nas rank``, ``nas export``
and ``nas prune --match`` all rank through ``rank`` and ``pareto``, which read an
evaluations frame (``nas.search.results.evaluations_frame``, ``evaluations.csv`` or any
table with ``status``, ``test_acc`` and ``trial`` columns); ``ranked_trials`` and
``pareto_front`` give the same order for a list of Optuna trials. So a rank names the same
network wherever it is asked for. Statuses are spelled by ``TrialStatus`` (re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from core.status import TrialStatus

REQUEUED = frozenset({TrialStatus.INTERRUPTED, TrialStatus.LOST})
"""Trials whose training started and did not end: their candidate is queued again and trains
as another trial, so they do not count toward the budget."""
NEVER_TRAINED = frozenset({TrialStatus.INVALID, TrialStatus.SURPLUS})
"""Trials told before any training: no connected graph, or one network over the budget."""
UNFINISHED = frozenset({TrialState.WAITING.name.lower(), TrialState.RUNNING.name.lower()})
"""``trial_status`` of a trial still queued or training."""
NOT_TRAINED = NEVER_TRAINED | REQUEUED | UNFINISHED
"""Rows that are not a trained network of the budget (the report's progress and timeline)."""
FAILED = frozenset(
    {TrialStatus.DIVERGED, TrialStatus.CRASHED, TrialState.FAIL.name.lower(), "failed"}
)
"""Trained networks counted as failed: diverged or crashed, a failed trial of a study without
our statuses (its state's name) and a bare table's row without accuracy (``failed``)."""
TOLD_ALIVE = frozenset({TrialStatus.OK, TrialStatus.STOPPED})
"""Statuses told with state COMPLETE or PRUNED: a FAIL trial with one is one the heartbeat
check failed after its record was written and before its state was (a study written before
the two became one transaction, ``tell_with_attrs``); its network was queued again."""
LOST_KEYS = frozenset({"train_seed", "edge_list"})
"""Attributes a search's worker sets on its trial before telling it (a failed trial with one
of them and no status is ``lost``)."""
COMPLETE = TrialState.COMPLETE.name
"""The ``state`` column's value of a trial told with its accuracy."""


def trial_status(trial: FrozenTrial) -> TrialStatus | str:
    """The trial's ``TrialStatus`` once it is finished, or its state's name for one still
    running or waiting (or a failed trial of a study without our statuses).

    ``lost``: a trial failed by the heartbeat check, which alone fails a trial without a
    status. Its worker died in training (it has a ``train_seed``), while it claimed its graph
    (``edge_list``), or right after asking for it (no parameters yet), the one word for all
    three; a failed trial with parameters and none of our attributes is another program's.
    """
    status = trial.user_attrs.get("status")
    if status and trial.state.is_finished():
        told = TrialStatus.parse(status) or str(status)
        if trial.state == TrialState.FAIL and told in TOLD_ALIVE:
            return TrialStatus.LOST  # its worker died between its record and its tell
        return told
    if trial.state == TrialState.FAIL and (
        not trial.params or not LOST_KEYS.isdisjoint(trial.user_attrs)
    ):
        return TrialStatus.LOST
    return trial.state.name.lower()


def counts_toward_budget(trial: FrozenTrial) -> bool:
    """Whether the trial's network started training (the budget's unit): such a trial has
    a ``train_seed``, and is not one of the ``REQUEUED``."""
    return "train_seed" in trial.user_attrs and trial_status(trial) not in REQUEUED


def networks_done(trials: Sequence[FrozenTrial]) -> int:
    """Networks whose training started and ended (the progress shown against the budget)."""
    return sum(counts_toward_budget(t) and t.state.is_finished() for t in trials)


def claims(trials: Sequence[FrozenTrial]) -> int:
    """Networks that hold a share of the budget: started ones (finished or training), and
    trials asked for by some worker and not yet training."""
    return sum(
        counts_toward_budget(t) or (t.state == TrialState.RUNNING and "status" not in t.user_attrs)
        for t in trials
    )


def attr(trial: FrozenTrial, key: str, default: Any = None) -> Any:
    """A result of ``trial`` by name, wherever ``nas.search.results.record_attrs`` stored it
    (a user attribute of its own, or in the ``metrics`` or ``properties`` group)."""
    attrs = trial.user_attrs
    if key in attrs:
        return attrs[key]
    for group in ("metrics", "properties"):
        values = attrs.get(group)
        if isinstance(values, dict) and key in values:
            return values[key]
    return default


# -- choosing between networks -----------------------------------------------------------------


def selection_acc(trial: FrozenTrial) -> float | None:
    """The accuracy that chooses between trials: the validation accuracy (of the last epoch
    trained), or for a study made before the validation split, the test accuracy it chose
    by then (``selection_accuracy`` for a frame)."""
    attrs = trial.user_attrs
    value = attrs.get("valid_acc")
    value = attrs.get("test_acc") if value is None else value
    return None if value is None else float(value)


def selection_accuracy(frame: pd.DataFrame) -> pd.Series:
    """``selection_acc`` of each row: its validation accuracy, else (tables and studies made
    before the validation split) its test accuracy."""
    test = pd.to_numeric(frame.get("test_acc", pd.Series(math.nan, frame.index)), errors="coerce")
    if "valid_acc" not in frame:
        return test
    return pd.to_numeric(frame["valid_acc"], errors="coerce").fillna(test)


def _finished(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of networks trained to the end (status ``ok``, an accuracy; told COMPLETE where
    the frame has the trial's state), with ``selection_acc`` and their size ``_size`` (nonzero
    parameters, unknown as infinite). Networks stopped early have the accuracy of fewer
    epochs, which is not comparable."""
    frame = frame.assign(selection_acc=selection_accuracy(frame))
    done = frame["status"].eq(TrialStatus.OK) & frame["selection_acc"].notna()
    if "state" in frame:
        done &= frame["state"].eq(COMPLETE)
    rows = frame[done]
    size = rows["params_nonzero"] if "params_nonzero" in rows else pd.Series(math.inf, rows.index)
    return rows.assign(_size=pd.to_numeric(size, errors="coerce").astype(float).fillna(math.inf))


def rank(frame: pd.DataFrame) -> pd.DataFrame:
    """The finished networks of an evaluations frame, best first, with ``rank`` (1 = best)
    in front and ``selection_acc``: by validation accuracy, ties to fewer nonzero parameters,
    then to the earlier trial."""
    rows = _finished(frame).sort_values(
        ["selection_acc", "_size", "trial"], ascending=[False, True, True]
    )
    rows = rows.drop(columns=["_size", "rank"], errors="ignore").reset_index(drop=True)
    rows.insert(0, "rank", range(1, len(rows) + 1))
    return rows


def pareto(frame: pd.DataFrame) -> pd.DataFrame:
    """The finished networks no other beats in both accuracy (higher) and nonzero parameters
    (fewer), by size, with ``selection_acc``. Of equal points the earliest trial is kept."""
    rows = _finished(frame)
    rows = rows.assign(_neg=-rows["selection_acc"]).sort_values(["_size", "_neg", "trial"])
    keep, best = [], -math.inf
    for index, acc in zip(rows.index, rows["selection_acc"], strict=True):
        if acc > best:  # increasing size: keep each strict accuracy improvement
            keep.append(index)
            best = acc
    return rows.loc[keep].drop(columns=["_size", "_neg"]).reset_index(drop=True)


def trials_frame(trials: Iterable[FrozenTrial]) -> pd.DataFrame:
    """The columns ``rank`` and ``pareto`` read, one row per trial."""
    rows = [
        {
            "trial": t.number,
            "state": t.state.name,
            "status": trial_status(t),
            "valid_acc": t.user_attrs.get("valid_acc"),
            "test_acc": t.user_attrs.get("test_acc"),
            "params_nonzero": attr(t, "params_nonzero"),
        }
        for t in trials
    ]
    columns = ["trial", "state", "status", "valid_acc", "test_acc", "params_nonzero"]
    return pd.DataFrame(rows, columns=columns)


def ranked_trials(trials: Iterable[FrozenTrial], count: int | None = None) -> list[FrozenTrial]:
    """The finished trials in ``rank``'s order (the ``count`` best, or all)."""
    trials = list(trials)
    by_number = {t.number: t for t in trials}
    numbers = rank(trials_frame(trials))["trial"].tolist()
    numbers = numbers if count is None else numbers[:count]
    return [by_number[int(n)] for n in numbers]


def pareto_front(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """The trials of ``pareto``'s front, by size."""
    trials = list(trials)
    by_number = {t.number: t for t in trials}
    return [by_number[int(n)] for n in pareto(trials_frame(trials))["trial"]]


__all__ = [
    "COMPLETE",
    "FAILED",
    "NEVER_TRAINED",
    "NOT_TRAINED",
    "REQUEUED",
    "UNFINISHED",
    "TrialStatus",
    "attr",
    "claims",
    "counts_toward_budget",
    "networks_done",
    "pareto",
    "pareto_front",
    "rank",
    "ranked_trials",
    "selection_acc",
    "selection_accuracy",
    "trial_status",
    "trials_frame",
]
