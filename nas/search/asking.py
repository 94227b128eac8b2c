"""Asking the study for the next networks to train: the strategy's round, this worker's
share of the budget, and each trial's graph.

A round (``nas.search.strategies``) is proposed when no proposal is queued: its proposals
are enqueued with how they were chosen, and whatever they leave is drawn by the strategy's
sampler. Each asked trial suggests its parameters on the search space, is checked against
the budget other workers may have claimed meanwhile (``nas.search.budget``: against a bound
from the round's read of the study, and against a fresh read only near the budget), and gets
its graph: the proposal's, or the one its parameters build. Parameters with no connected graph
are told FAIL (``invalid``) and drawn again.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Sequence
from contextlib import suppress

import networkx as nx
import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from core.errors import SparseNASError
from core.status import TrialStatus
from graphs.io import edges_from_string, edges_to_string
from nas.search import budget
from nas.search.events import Tally
from nas.search.ledger import OpenTrial, OpenTrials
from nas.search.optuna_adapter import (
    ask_new,
    record_heartbeat,
    set_trials_user_attrs,
    set_user_attrs,
)
from nas.search.records import claims, counts_toward_budget
from nas.search.results import PLAN_KEYS
from nas.search.space import SearchSpace, build_graph
from nas.search.spec import SearchSpec
from nas.search.strategies.base import SearchStrategy

MAX_INVALID_PER_SLOT = 50
"""Parameter draws per slot that may give no connected graph before the space is refused."""


class Asker:
    """Asks this worker's next networks (see the module docstring)."""

    def __init__(
        self,
        spec: SearchSpec,
        study: optuna.Study,
        space: SearchSpace,
        strategy: SearchStrategy,
        trials: OpenTrials,
        tally: Tally,
        peers: int,
    ) -> None:
        self.spec = spec
        self.study = study
        self.strategy = strategy
        self.trials = trials
        self.tally = tally
        self.peers = max(1, peers)
        self.space = space

    def next_networks(
        self, free: int, trials: Sequence[FrozenTrial]
    ) -> list[tuple[OpenTrial, nx.Graph]]:
        """Up to ``free`` networks to start now, ``trials`` being the study as just read: the
        strategy's queued proposals first (a new round is proposed when none is queued),
        within this worker's share of the budget left."""
        spec = self.spec
        left = spec.budget - claims(trials)
        if left <= 0 or free <= 0:
            return []
        started = sum(counts_toward_budget(t) for t in trials)
        count = budget.share(left, free, self.peers)
        round_index = 1 + max((int(t.user_attrs.get("round", -1)) for t in trials), default=-1)
        waiting = sum(t.state == TrialState.WAITING for t in trials)
        origin = self.strategy.origin
        if waiting == 0:
            warming = self.strategy.warmup_left(started)
            if warming > 0:
                origin = "warm-up"
                count = min(count, warming)
            else:
                size = min(spec.round_size, left)
                for proposal in self.strategy.propose(trials, size, round_index):
                    attrs = {**proposal.attrs, "round": round_index}
                    self.study.enqueue_trial(proposal.params, user_attrs=attrs)
                    waiting += 1
        self.study.sampler = self.strategy.sampler(round_index)
        batch = self.ask(count, round_index, origin, waiting)
        if batch:
            label = ", ".join(sorted({o.plan["origin"] for o, _ in batch}))
            rounds = ", ".join(str(r) for r in sorted({o.plan["round"] for o, _ in batch}))
            self.tally.emit("round", f"round {rounds}: {len(batch)} network(s) start ({label})")
        started_now = {"train_seed": spec.train_seed}  # training starts: the budget's unit
        try:  # the whole batch in one write
            set_trials_user_attrs(self.study, [entry.trial for entry, _ in batch], started_now)
            return batch
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another worker took one for lost meanwhile: find it, keep the others
        kept = []
        for entry, graph in batch:
            try:
                set_user_attrs(self.study, entry.trial, started_now)
            except optuna.exceptions.UpdateFinishedTrialError:
                self.trials.taken_over(entry.trial)
                continue
            kept.append((entry, graph))
        return kept

    def ask(
        self, count: int, round_index: int, origin: str, waiting: int = 0
    ) -> list[tuple[OpenTrial, nx.Graph]]:
        """Ask up to ``count`` trials with graphs, while the budget is not claimed. The first
        ``waiting`` asks take queued trials (``Study.ask``); the rest are new trials
        (``ask_new``): the study as just read held no more queued ones."""
        batch: list[tuple[OpenTrial, nx.Graph]] = []
        invalid = 0
        read = None  # the study as last read: once per round while the budget is far
        while len(batch) < count:
            read = self.study.get_trials(deepcopy=False) if read is None else read
            if self.budget_claimed(len(batch), read):
                break
            with warnings.catch_warnings():  # heartbeats are recorded by ``heartbeats``
                warnings.filterwarnings("ignore", "Heartbeat of storage is supposed")
                trial = self.study.ask() if waiting > 0 else ask_new(self.study)
            waiting -= 1
            with suppress(Exception):  # a first sign of life before any training
                record_heartbeat(self.study, trial)
            entry = self.trials.opened(trial)
            try:  # UpdateFinishedTrialError: another worker took it for lost meanwhile
                plan = {k: v for k, v in trial.user_attrs.items() if k in PLAN_KEYS}
                plan.setdefault("origin", origin)
                entry.params = self.space.suggest(trial)
                if budget.claims_bound(read, trial.number) > self.spec.budget:
                    read = self.study.get_trials(deepcopy=False)  # near the budget: look
                    if budget.is_surplus(self.spec.budget, trial.number, read):
                        attrs = {"status": TrialStatus.SURPLUS}
                        self.trials.tell(entry, TrialState.FAIL, attrs=attrs)
                        break
                graph = self._graph(entry, plan)
                if graph is None:  # told FAIL: a read showing it running would count it
                    read, invalid = None, invalid + 1
                    if invalid > MAX_INVALID_PER_SLOT * count:
                        raise SparseNASError(
                            f"{invalid} parameter draws in a row gave no connected graph; "
                            "widen the node range or add families"
                        ) from None
                    continue
                self._claim(entry, plan, graph, round_index)
                batch.append((entry, graph))
            except optuna.exceptions.UpdateFinishedTrialError:
                self.trials.taken_over(trial)
                read = None  # another worker acted: read the study again
        return batch

    def budget_claimed(self, asked: int, trials: Sequence[FrozenTrial]) -> bool:
        """``budget.budget_claimed`` for this worker; ``trials``: a read of the study taken
        during this round (a pre-check: ``budget.is_surplus`` settles a race)."""
        return budget.budget_claimed(self.spec.budget, trials, asked, self.trials.numbers())

    def _graph(self, entry: OpenTrial, plan: dict) -> nx.Graph | None:
        """The trial's graph (a proposal's edge list, else built from its parameters); None,
        after telling it FAIL (``invalid``), when the parameters give no connected graph."""
        try:
            if plan.get("edge_list"):
                return edges_from_string(plan["edge_list"])
            return build_graph(entry.params)
        except SparseNASError as exc:
            attrs = {"status": TrialStatus.INVALID, "reason": str(exc)}
            self.trials.tell(entry, TrialState.FAIL, attrs=attrs)
            return None

    def _claim(self, entry: OpenTrial, plan: dict, graph: nx.Graph, round_index: int) -> None:
        """Record on the trial what it will train and who claimed it (in one write)."""
        trial: Trial = entry.trial
        new = {
            "round": plan.get("round", round_index),  # a proposal keeps its round
            "edge_list": edges_to_string(graph),
            "worker": f"{socket.gethostname()}:{os.getpid()}",
        }
        if "origin" not in trial.user_attrs:
            new["origin"] = plan["origin"]
        changed = {k: v for k, v in new.items() if trial.user_attrs.get(k) != v}
        set_user_attrs(self.study, trial, changed)
        entry.plan = {**plan, **new}
