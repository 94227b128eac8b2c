"""The search as the engine sees it: a ``models.evaluation.Scheduler``.

The engine trains a stack of networks and, at every epoch boundary, asks for networks to
fill its free slots (``ask``), reports each network's epoch (``report``: Optuna's pruner
answers whether to stop it, the reports of one boundary sharing one read of the study) and
tells each network that ended (``tell``: its record becomes the trial's user attributes, in
one write, and its state). Before asking, the search's own step runs at the
boundary (exports, taking over dead workers' trials, reading the study: ``boundary``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx
import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from core.status import TrialStatus
from models.training import EpochMetrics
from nas.search.asking import Asker
from nas.search.events import Tally
from nas.search.ledger import OpenTrial, OpenTrials
from nas.search.optuna_adapter import PrunerView
from nas.search.results import record_attrs
from nas.search.spec import SearchSpec

MAX_CRASH_STREAK = 5
"""Crashed trainings in a row after which the search stops with the error (a bug, not a
bad candidate)."""


class SearchScheduler:
    """Feeds the engine the search's networks and turns their results into told trials.

    ``live`` holds the trials in training, whose heartbeats are recorded; ``models`` the
    networks trained here that completed, kept for the out dir's checkpoints."""

    def __init__(
        self,
        spec: SearchSpec,
        asker: Asker,
        trials: OpenTrials,
        tally: Tally,
        boundary: Callable[[], Sequence[FrozenTrial]],
    ) -> None:
        self.spec = spec
        self.asker = asker
        self.trials = trials
        self.tally = tally
        self.boundary = boundary
        self.single = spec.objective == "accuracy"
        self.live: list[Trial] = []
        self.models: dict[int, Any] = {}
        self.crash_streak = 0
        self.pruner = PrunerView(trials.study)

    def ask(self, free: int) -> list[tuple[int, nx.Graph, int]]:
        self.pruner.new_boundary()
        batch = self.asker.next_networks(free, self.boundary())
        self.live.extend(entry.trial for entry, _ in batch)
        return [(entry.trial.number, graph, self.spec.train_seed) for entry, graph in batch]

    def report(self, key: int, metrics: EpochMetrics) -> bool:
        trial = self.trials[key].trial
        self.tally.emit(
            "epoch",
            f"trial {trial.number} epoch {metrics.epoch}/{self.spec.epochs}: "
            f"valid acc {metrics.valid_acc:.4f}",
        )
        if not self.single:
            return False
        try:  # the value and the pruner's rung, in one write
            last = metrics.epoch >= self.spec.epochs  # nothing left to stop
            return self.pruner.report(trial, metrics.valid_acc, metrics.epoch, consult=not last)
        except optuna.exceptions.UpdateFinishedTrialError:
            return True  # taken over by another worker: stop training it here

    def tell(self, key: int, record: dict[str, Any], model: Any) -> None:
        entry = self.trials[key]
        self.live.remove(entry.trial)
        self.pruner.new_boundary()
        self.finish(entry, record, model)

    def finish(self, entry: OpenTrial, record: dict[str, Any], model: Any) -> None:
        """Store the record on the trial and tell it: COMPLETE (ok), PRUNED (stopped) or
        FAIL (diverged, crashed). A trial another worker took over meanwhile is let go."""
        try:
            self._finish(entry, record, model)
        except optuna.exceptions.UpdateFinishedTrialError:
            self.trials.taken_over(entry.trial)  # this result is dropped

    def _finish(self, entry: OpenTrial, record: dict[str, Any], model: Any) -> None:
        trial = entry.trial
        status = record["status"]
        crashed = status == TrialStatus.CRASHED
        self.crash_streak = self.crash_streak + 1 if crashed else 0
        attrs = (
            {"status": TrialStatus.CRASHED, "reason": record["reason"]}
            if crashed
            else record_attrs(record)
        )
        if attrs.get("edge_list") == entry.plan.get("edge_list"):
            attrs.pop("edge_list", None)  # set when the trial was asked
        if status == TrialStatus.OK:
            values = [float(record["valid_acc"])]
            if not self.single:
                values.append(float(record["params_nonzero"]))
            self.trials.tell(entry, TrialState.COMPLETE, values, attrs)
            if model is not None:
                self.models[trial.number] = model
        elif status == TrialStatus.STOPPED:
            self.trials.tell(entry, TrialState.PRUNED, attrs=attrs)
        else:
            self.trials.tell(entry, TrialState.FAIL, attrs=attrs)
        if self.crash_streak >= MAX_CRASH_STREAK and "error" in record:
            raise record["error"]
