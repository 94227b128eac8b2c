"""The trials this worker has asked and not yet told, and how each is told.

Asking (``nas.search.asking``) opens them, the engine's results (``nas.search.scheduler``)
finish them, and Ctrl-C abandons them; every one of those ends in ``OpenTrials.tell``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import Trial, TrialState

from core.jsonsafe import json_safe
from core.status import TrialStatus
from nas.search.events import Tally
from nas.search.optuna_adapter import finished_in_storage, tell_with_attrs
from nas.search.records import REQUEUED


@dataclass
class OpenTrial:
    """A trial asked in this process and not yet told: its parameters and its plan (how it
    was chosen, its graph; ``nas.search.results.PLAN_KEYS``)."""

    trial: Trial
    params: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)


class OpenTrials:
    """The open trials of this worker, by trial number."""

    def __init__(self, study: optuna.Study, tally: Tally) -> None:
        self.study = study
        self.tally = tally
        self.open: dict[int, OpenTrial] = {}

    def __contains__(self, number: int) -> bool:
        return number in self.open

    def __getitem__(self, number: int) -> OpenTrial:
        return self.open[number]

    def numbers(self) -> set[int]:
        return set(self.open)

    def opened(self, trial: Trial) -> OpenTrial:
        return self.open.setdefault(trial.number, OpenTrial(trial))

    def tell(
        self,
        entry: OpenTrial,
        state: TrialState,
        values: list[float] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        """Tell the study, with ``attrs`` (the trial's record, written with its state in one
        transaction), close the entry and count it (a network whose training started counts
        as done unless it is queued again).

        Raises ``UpdateFinishedTrialError``, writing nothing, when another worker finished the
        trial (took it for lost during a storage outage)."""
        self._tell_study(entry.trial, state, values, attrs)
        self.open.pop(entry.trial.number, None)
        stored = entry.trial.user_attrs  # every attribute, those set at asking included
        status = stored.get("status")
        requeued = status in REQUEUED
        value = values[0] if state == TrialState.COMPLETE and values else None
        self.tally.finished("train_seed" in stored and not requeued, value)
        if status != TrialStatus.INVALID:
            self.tally.emit("trial", f"trial {entry.trial.number}: {status or state.name.lower()}")

    def _tell_study(
        self,
        trial: Trial,
        state: TrialState,
        values: list[float] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        """``tell_with_attrs``, with Optuna's ValueError for a trial that is already finished
        (another worker finished it since this worker last read it) raised as the
        ``UpdateFinishedTrialError`` that every other write to it raises."""
        try:
            tell_with_attrs(self.study, trial, state, values, attrs)
        except ValueError:
            if not finished_in_storage(self.study, trial):
                raise  # a bad tell (a bug), not a race
            raise optuna.exceptions.UpdateFinishedTrialError(
                f"trial {trial.number} was finished by another worker"
            ) from None

    def taken_over(self, trial: Trial) -> None:
        """``trial`` was silent longer than the grace (a storage outage) and another worker
        took it for lost and queued its network again: this worker lets it go."""
        self.open.pop(trial.number, None)
        self.tally.emit("trial", f"trial {trial.number}: taken over by another worker")

    def abandon(self) -> None:
        """Ctrl-C: every trial asked here and not yet told is told FAIL (``interrupted``) and
        its candidate queued again, so a resumed search trains it first."""
        states = {t.number: t.state for t in self.study.get_trials(deepcopy=False)}
        for number, entry in list(self.open.items()):
            if states.get(number) != TrialState.RUNNING:
                continue
            trial = entry.trial
            try:
                self._tell_study(trial, TrialState.FAIL, attrs={"status": TrialStatus.INTERRUPTED})
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker took it for lost meanwhile and queued it again
            if entry.params:
                plan = {
                    k: json_safe(v) for k, v in entry.plan.items() if k not in ("round", "worker")
                }
                self.study.enqueue_trial(entry.params, user_attrs=plan)
        self.open.clear()
