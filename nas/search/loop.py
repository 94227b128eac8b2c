"""``run_search``: a predictor-guided search for Sparse-RNN topologies, kept in an Optuna study.

Ask/tell with continuous batching: up to ``round_size`` networks train together in one stack
(``nas.experiments.evaluate.evaluate_stream``, one shared training seed, so they share
mini-batches). Whenever a slot frees up, the next trial is asked into it: the strategy's
queued proposals first (a round of them is enqueued when the queue is empty, see
``nas.search.strategies``), its graph built from its parameters (``nas.search.space``).
Every trial is told:

- COMPLETE with the last epoch's validation accuracy (``objective="pareto"``: that and the
  nonzero parameter count); the test accuracy, measured once after the last epoch, is
  stored beside it (``test_acc``) and only reported;
- PRUNED (our status ``stopped``) when Optuna's pruner stopped it early: each epoch's
  validation accuracy is ``trial.report``-ed and the pruner is consulted through the
  engine's per-epoch callback; its last validation accuracy stays in ``valid_acc``;
- FAIL when the network diverged or training crashed (``status`` and ``reason`` say which),
  when its parameters gave no connected graph (``invalid``, not trained), or when Ctrl-C
  interrupted its training (``interrupted``; the same candidate is queued again).

The budget counts networks whose training started (stopped, diverged and crashed ones
included). The study is the record: everything a trial produced is in its user attributes,
and the files in the out dir (``evaluations.csv``/``.parquet``, ``best/``, ``config.json``)
are exported from it at most every ``EXPORT_SECONDS`` and at the end. Running the same
search again loads the study and goes on until the budget is spent; finished trials are
never trained again. With ``workers > 1`` the other workers are local processes
(``nas.search.workers``) that join the same study once it exists.
"""

from __future__ import annotations

import math
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from core.errors import SparseNASError
from graphs.io import edges_from_string, edges_to_string
from models.data import Task
from models.engine import StackError
from models.training import EpochMetrics
from nas.experiments.evaluate import evaluate_many, evaluate_stream
from nas.search.records import claims
from nas.search.results import (
    PLAN_KEYS,
    best_trials,
    check_out_owner,
    counts_toward_budget,
    export_evaluations,
    json_value,
    networks_done,
    record_attrs,
    save_best,
    write_json,
)
from nas.search.space import SearchSpace, build_graph
from nas.search.spec import SearchSpec
from nas.search.storage import heartbeat_interval, heartbeats, open_study, seconds_to_takeover
from nas.search.strategies import PredictorStrategy, make_sampler
from nas.search.workers import check_workers, local_workers
from nas.tasks import load_task
from predictors import ALL, load_table

MAX_INVALID_PER_SLOT = 50
WAIT_POLL = 5.0
"""Seconds between looks at the study while other workers hold the rest of the budget."""
EXPORT_SECONDS = 10.0
"""Longest time the out dir's tables lag behind the study while networks train."""
MAX_CRASH_STREAK = 5
"""Crashed trainings in a row after which the search stops with the error (a bug, not a
bad candidate)."""


@dataclass(frozen=True)
class SearchEvent:
    """What ``run_search`` reports to its ``progress`` callback.

    kind : ``start``, ``round`` (a round begins), ``epoch`` (a network finished an epoch),
        ``trial`` (a trial was told) or ``end``.
    done : networks whose training finished or stopped (the budget's unit, once finished).
    budget : the budget.
    best : best measured accuracy of a completed trial so far (None before the first).
    message : a short description, e.g. ``round 3: 8 networks (predictor)``.
    """

    kind: str
    done: int
    budget: int
    best: float | None
    message: str = ""


Progress = Callable[[SearchEvent], None]


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``run_search``: finished trials are kept and the interrupted ones are
    queued again. ``study`` holds them; running the same search again resumes it."""

    def __init__(self, study: optuna.Study, spec: SearchSpec, done: int) -> None:
        super().__init__(f"search interrupted after {done} of {spec.budget} networks")
        self.study = study
        self.spec = spec
        self.done = done


def make_pruner(spec: SearchSpec) -> optuna.pruners.BasePruner:
    """The pruner consulted after every epoch but the last. Successive halving by default:
    rungs at epochs r, 3r, 9r... (r = max(1, epochs // 5)); a network is stopped at a rung
    unless its accuracy is in the top third of all networks that reached it."""
    if spec.objective == "pareto" or spec.pruner == "none":
        return optuna.pruners.NopPruner()
    min_resource = max(1, spec.epochs // 5)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=min_resource, max_resource=spec.epochs, reduction_factor=3
        )
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=min_resource, reduction_factor=3)


def predictor_strategy(
    spec: SearchSpec,
    space: SearchSpace,
    features: tuple[str, ...] = ALL,
    **extra: Any,
) -> PredictorStrategy:
    """The predictor strategy of ``spec``'s settings (``extra``: warm-start rows, or the
    fixed candidate set of a tabular replay)."""
    return PredictorStrategy(
        space,
        spec.cell,
        spec.objective,
        features,
        spec.seed,
        pool_size=spec.pool_size,
        kappa=spec.kappa,
        local_fraction=spec.local_fraction,
        kind=spec.predictor,
        **extra,
    )


def _load_warm_start(spec: SearchSpec) -> tuple[tuple[str, ...], np.ndarray, np.ndarray] | None:
    if spec.warm_start is None:
        return None
    table = load_table(spec.warm_start, features=ALL, cell=spec.cell)
    return table.features, table.X.to_numpy(dtype=float), table.y


# -- the search ----------------------------------------------------------------------------------


def run_search(
    spec: SearchSpec,
    progress: Progress | None = None,
    *,
    workers: int = 1,
    write_config: bool = True,
    peers: int | None = None,
) -> optuna.Study:
    """Run (or resume) the search described by ``spec``; returns its Optuna study.

    With ``workers > 1``, workers 1..N-1 are started as local processes once the study
    exists (``nas.search.workers``), every process with one thread; this call is worker 0
    and returns after all have ended. ``write_config=False`` is for those workers: only
    worker 0 writes ``config.json``; ``peers`` (default ``workers``) is how many local
    workers share the budget, so that a round asks at most an even share of what is left.

    Returns once the study holds ``spec.budget`` finished networks. While the rest of the
    budget is claimed by running trials of other workers it waits for them (``wait``
    events with a countdown): a worker that died is taken for dead after ``spec.grace``
    seconds without a heartbeat, and its networks are trained here.

    Raises
    ------
    SparseNASError
        For an unreadable task or warm-start table, a storage that cannot be opened, an
        existing study created with other settings, an out dir holding another study's
        exports, or workers that cannot share the storage; nothing is written to the study
        then. Also when the storage server stays unreachable (``StorageUnreachable``).
    SearchInterrupted
        On Ctrl-C, after keeping every finished trial and exporting the tables.
    """
    spec = spec.resolved()
    check_workers(workers, spec.storage)  # type: ignore[arg-type]
    task = load_task(
        spec.task, seed=spec.task_seed, n_strings=spec.n_strings, test_data=spec.test_data
    )
    warm = _load_warm_start(spec)
    check_out_owner(Path(spec.out), spec.study, spec.storage)  # type: ignore[arg-type]
    study = open_study(spec)
    search = _Search(spec, study, task, warm, progress or (lambda event: None), peers or workers)
    if write_config:
        search.write_config()

    def wait_for(helpers: Any, step: str, action: Callable[[], None]) -> None:
        """Wait for the local workers (Ctrl-C: the interrupted search, resumable)."""
        search.emit("wait", f"waiting for {len(helpers)} worker(s) to {step}")
        try:
            action()
        except KeyboardInterrupt:
            done = networks_done(study.get_trials(deepcopy=False))
            raise SearchInterrupted(study, spec, done) from None

    with local_workers(spec, workers - 1) as helpers:
        if helpers:
            wait_for(helpers, "start", helpers.wait_ready)
        search.run()
        if helpers:
            wait_for(helpers, "end their round", helpers.wait)
            search.export()
    return study


def export_results(study: optuna.Study, spec: SearchSpec, models: dict[int, Any]) -> None:
    """Write the out dir's tables and best topologies from the study (checkpoints for the
    networks in ``models``, trained in this process)."""
    out = Path(spec.out)  # type: ignore[arg-type]
    export_evaluations(study, out)
    save_best(best_trials(study, spec.objective, spec.keep_best), out, models)


@dataclass
class _Open:
    """A trial asked in this process and not yet told."""

    trial: Trial
    params: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)


class _Search:
    def __init__(self, spec, study, task: Task, warm, progress: Progress, peers: int) -> None:
        self.spec: SearchSpec = spec
        self.peers = max(1, peers)
        self.study: optuna.Study = study
        self.task = task
        self.progress = progress
        self.out = Path(spec.out)
        self.space = SearchSpace(spec.families, spec.nodes)
        self.train = spec.train_spec()
        self.single = spec.objective == "accuracy"
        features, warm_X, warm_y = warm if warm is not None else (ALL, None, None)
        self.features = features
        self.strategy = (
            predictor_strategy(spec, self.space, features, warm_X=warm_X, warm_y=warm_y)
            if spec.strategy == "predictor"
            else None
        )
        self.study.pruner = make_pruner(spec)
        self.open: dict[int, _Open] = {}
        self.models: dict[int, Any] = {}
        self.crash_streak = 0
        self.exported = time.monotonic()
        self.done = 0
        self.best: float | None = None

    # -- bookkeeping -----------------------------------------------------------------------------

    def write_config(self) -> None:
        """``config.json``; its budget is the larger of this run's and what the study already
        holds (a smaller --budget trains nothing and must not make the record say less)."""
        held = sum(counts_toward_budget(t) for t in self.study.get_trials(deepcopy=False))
        if held > self.spec.budget:
            warnings.warn(
                f"study {self.spec.study!r} already holds {held} networks, more than "
                f"--budget {self.spec.budget}: nothing to train",
                UserWarning,
                stacklevel=3,
            )
        config = {
            **asdict(self.spec),
            "budget": max(held, self.spec.budget),
            "directions": self.spec.directions,
            "train_seed": self.spec.train_seed,
            "warmup_trials": self.spec.warmup_trials,
            "features": list(self.features),
            "budget_unit": "networks whose training started",
            "optuna": optuna.__version__,
        }
        write_json(self.out / "config.json", config)

    def emit(self, kind: str, message: str = "") -> None:
        self.progress(SearchEvent(kind, self.done, self.spec.budget, self.best, message))

    def refresh(self, trials: list[FrozenTrial]) -> None:
        self.done = networks_done(trials)
        accs = [t.values[0] for t in trials if t.state == TrialState.COMPLETE and t.values]
        self.best = max(accs) if accs else None

    def export(self) -> None:
        export_results(self.study, self.spec, self.models)
        self.models = {}
        self.exported = time.monotonic()

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        self.refresh(self.study.get_trials(deepcopy=False))
        self.emit("start")
        try:
            while self.step():
                pass
        except KeyboardInterrupt:
            self.abandon()
            self.export()
            raise SearchInterrupted(self.study, self.spec, self.done) from None
        except BaseException:
            self.abandon()
            raise
        self.export()
        self.emit("end")

    def step(self) -> bool:
        """Train a stream of networks while this worker can claim some of the budget, or wait
        a moment while other workers hold the rest; False once the study holds the budget of
        finished networks."""
        self.take_over_stale()
        trials = self.study.get_trials(deepcopy=False)
        self.refresh(trials)
        if self.done >= self.spec.budget:
            return False
        if self.spec.budget - claims(trials) <= 0:
            self.wait_for_others()
            return True
        self.train_stream()
        self.export()
        return True

    def train_stream(self) -> None:
        """Continuous batching (``nas.experiments.evaluate.evaluate_stream``): up to
        ``round_size`` networks train together; whenever the pruner stops one or one
        finishes, ``feed`` asks the next candidate into its slot at the next epoch boundary.
        A stack that raises is retrained network by network, a crash becoming a record."""
        last_epoch = self.train.epochs
        live: list[Trial] = []  # the trials whose heartbeats are recorded

        def on_epoch(key: int, metrics: EpochMetrics) -> bool:
            trial = self.open[key].trial
            self.emit(
                "epoch",
                f"trial {trial.number} epoch {metrics.epoch}/{last_epoch}: "
                f"valid acc {metrics.valid_acc:.4f}",
            )
            if not self.single:
                return False
            try:  # the pruner writes its rung to the trial too, so both calls can find it taken
                trial.report(metrics.valid_acc, metrics.epoch)
                return metrics.epoch < last_epoch and trial.should_prune()
            except optuna.exceptions.UpdateFinishedTrialError:
                return True  # taken over by another worker: stop training it here

        def on_end(key: int, record: dict[str, Any], model: Any) -> None:
            entry = self.open[key]
            live.remove(entry.trial)
            self.finish(entry, record, model)

        def feed(free: int) -> list[tuple[int, nx.Graph, int]]:
            batch = self.next_networks(free)
            live.extend(entry.trial for entry, _ in batch)
            return [(entry.trial.number, graph, self.spec.train_seed) for entry, graph in batch]

        with heartbeats(self.study._storage, live):  # the study's own storage object
            try:
                evaluate_stream(
                    feed, self.spec.cell, self.task, self.train, slots=self.spec.round_size,
                    on_epoch=on_epoch, on_end=on_end, keep_models=True,
                )  # fmt: skip
            except StackError as exc:
                entries = [self.open[key] for key in exc.keys if key in self.open]
                self.retrain_alone(entries, on_epoch)
                live.clear()

    def next_networks(self, free: int) -> list[tuple[_Open, nx.Graph]]:
        """Up to ``free`` networks to start now: the strategy's queued proposals first (a new
        round of ``round_size`` is proposed when none is queued), within this worker's share
        of the budget left. Refreshes the out dir first when its last export is older than
        ``EXPORT_SECONDS``, and takes over the trials of dead workers."""
        spec = self.spec
        if time.monotonic() - self.exported > EXPORT_SECONDS:
            self.export()
        self.take_over_stale()
        trials = self.study.get_trials(deepcopy=False)
        self.refresh(trials)
        left = spec.budget - claims(trials)
        if left <= 0 or free <= 0:
            return []
        started = sum(counts_toward_budget(t) for t in trials)
        count = min(free, left, math.ceil(left / self.peers))
        round_index = 1 + max((int(t.user_attrs.get("round", -1)) for t in trials), default=-1)
        waiting = sum(t.state == TrialState.WAITING for t in trials)
        origin = "tpe" if spec.strategy == "tpe" else "random"
        if waiting == 0 and self.strategy is not None:
            if started < spec.warmup_trials:
                origin = "warm-up"
                count = min(count, spec.warmup_trials - started)
            else:
                origin = "random"
                size = min(spec.round_size, left)
                for proposal in self.strategy.propose(trials, size, round_index):
                    attrs = {**proposal.attrs, "round": round_index}
                    self.study.enqueue_trial(proposal.params, user_attrs=attrs)
        self.study.sampler = make_sampler(spec.strategy, spec.seed, round_index, spec.warmup_trials)
        batch = self.ask(count, round_index, origin)
        if batch:
            label = ", ".join(sorted({o.plan["origin"] for o, _ in batch}))
            rounds = ", ".join(str(r) for r in sorted({o.plan["round"] for o, _ in batch}))
            self.emit("round", f"round {rounds}: {len(batch)} network(s) start ({label})")
        kept = []
        for entry, graph in batch:
            try:
                entry.trial.set_user_attr("train_seed", spec.train_seed)
            except optuna.exceptions.UpdateFinishedTrialError:
                self.taken_over(entry.trial)
                continue
            kept.append((entry, graph))
        return kept

    def take_over_stale(self) -> None:
        """Trials of workers silent for longer than the grace are told FAIL (``lost``) and
        their networks queued again (the storage's callback), at every epoch boundary."""
        with warnings.catch_warnings():  # Optuna marks it experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)

    def wait_for_others(self) -> None:
        """The rest of the budget is held by running trials of other workers: wait one poll
        interval, showing when their worker would be taken for dead."""
        left = seconds_to_takeover(self.study, set(self.open))
        if left:
            soonest = max(0, math.ceil(min(left.values())))
            self.emit(
                "wait",
                f"waiting for {len(left)} network(s) of other workers; "
                f"taken over in {soonest} s if their worker is dead",
            )
        time.sleep(min(WAIT_POLL, heartbeat_interval(self.spec.grace)))

    def ask(self, count: int, round_index: int, origin: str) -> list[tuple[_Open, nx.Graph]]:
        batch = []
        invalid = 0
        seen = None  # the study as ``surplus`` last read it, which the next budget check reuses
        while len(batch) < count and not self.budget_claimed(len(batch), seen):
            seen = None
            with warnings.catch_warnings():  # heartbeats are recorded by ``heartbeats``
                warnings.filterwarnings("ignore", "Heartbeat of storage is supposed")
                trial = self.study.ask()
            with suppress(Exception):  # a first sign of life before any training
                self.study._storage.record_heartbeat(trial._trial_id)
            entry = self.open.setdefault(trial.number, _Open(trial))
            try:  # UpdateFinishedTrialError: another worker took it for lost meanwhile
                plan = {k: v for k, v in trial.user_attrs.items() if k in PLAN_KEYS}
                plan.setdefault("origin", origin)
                entry.params = self.space.suggest(trial)
                trials = self.study.get_trials(deepcopy=False)
                if self.surplus(trial, trials):
                    trial.set_user_attr("status", "surplus")
                    self.tell(entry, TrialState.FAIL)
                    break
                try:
                    if plan.get("edge_list"):
                        graph = edges_from_string(plan["edge_list"])
                    else:
                        graph = build_graph(entry.params)
                except SparseNASError as exc:
                    trial.set_user_attr("status", "invalid")
                    trial.set_user_attr("reason", str(exc))
                    self.tell(entry, TrialState.FAIL)
                    invalid += 1
                    if invalid > MAX_INVALID_PER_SLOT * count:
                        raise SparseNASError(
                            f"{invalid} parameter draws in a row gave no connected graph; "
                            "widen the node range or add families"
                        ) from None
                    continue
                new = {
                    "round": plan.get("round", round_index),  # a proposal keeps its round
                    "edge_list": edges_to_string(graph),
                    "worker": f"{socket.gethostname()}:{os.getpid()}",  # who claimed it
                }
                if "origin" not in trial.user_attrs:
                    new["origin"] = plan["origin"]
                for key, value in new.items():
                    if trial.user_attrs.get(key) != value:
                        trial.set_user_attr(key, value)
                entry.plan = {**plan, **new}
                batch.append((entry, graph))
                seen = trials
            except optuna.exceptions.UpdateFinishedTrialError:
                self.taken_over(trial)
        return batch

    def surplus(self, trial: Trial, trials: Sequence[FrozenTrial]) -> bool:
        """Whether ``trial`` would overshoot the budget, ``trials`` being the study read
        after it was asked: two workers that checked the budget at the same moment both
        asked. Trial numbers order the claims, so every worker agrees that the later trial
        is the one too many."""
        earlier = [t for t in trials if t.number <= trial.number]
        return claims(earlier) > self.spec.budget

    def budget_claimed(self, asked: int, trials: Sequence[FrozenTrial] | None = None) -> bool:
        """Whether the networks started or claimed (here: ``asked`` so far this round; by any
        worker: running trials) already fill the budget. Checked before every ask, so
        workers sharing a study overshoot it by at most one network each. ``trials``: a read
        of the study taken after the last ask (``surplus``'s, milliseconds old), else the
        study is read now."""
        if trials is None:
            trials = self.study.get_trials(deepcopy=False)
        started = sum(counts_toward_budget(t) for t in trials)
        claimed = sum(
            t.state == TrialState.RUNNING and not counts_toward_budget(t)
            and "status" not in t.user_attrs and t.number not in self.open
            for t in trials
        )  # fmt: skip
        return started + claimed + asked >= self.spec.budget

    def retrain_alone(self, entries: list[_Open], on_epoch) -> None:
        """After a stack raised: each of its networks trained alone from the start, so the
        one that crashes is found and recorded and the others are told as usual."""
        spec = self.spec
        for entry in entries:
            graph = edges_from_string(entry.plan["edge_list"])

            def alone(_i: int, metrics: EpochMetrics, key: int = entry.trial.number) -> bool:
                return on_epoch(key, metrics)

            with heartbeats(self.study._storage, [entry.trial]):
                try:
                    (record,), (model,) = evaluate_many(
                        [graph], spec.cell, self.task, self.train, seeds=[spec.train_seed],
                        on_epoch=alone, keep_models=True,
                    )  # fmt: skip
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:  # noqa: BLE001 (a crash becomes a FAIL trial)
                    record, model = _crash_record(exc), None
            self.finish(entry, record, model)

    def finish(self, entry: _Open, record: dict[str, Any], model: Any) -> None:
        try:
            self._finish(entry, record, model)
        except optuna.exceptions.UpdateFinishedTrialError:
            self.taken_over(entry.trial)  # this result is dropped

    def taken_over(self, trial: Trial) -> None:
        """``trial`` was silent longer than the grace (a storage outage) and another worker
        took it for lost and queued its network again: this worker lets it go."""
        self.open.pop(trial.number, None)
        self.emit("trial", f"trial {trial.number}: taken over by another worker")

    def _finish(self, entry: _Open, record: dict[str, Any], model: Any) -> None:
        trial = entry.trial
        status = record["status"]
        if status == "crashed":
            self.crash_streak += 1
        else:
            self.crash_streak = 0
        attrs = record_attrs(record) if status != "crashed" else {
            "status": "crashed", "reason": record["reason"]
        }  # fmt: skip
        if attrs.get("edge_list") == entry.plan.get("edge_list"):
            attrs.pop("edge_list", None)  # set when the trial was asked
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        if status == "ok":
            values = [float(record["valid_acc"])]
            if not self.single:
                values.append(float(record["params_nonzero"]))
            self.tell(entry, TrialState.COMPLETE, values)
            if model is not None:
                self.models[trial.number] = model
        elif status == "stopped":
            self.tell(entry, TrialState.PRUNED)
        else:
            self.tell(entry, TrialState.FAIL)
        if self.crash_streak >= MAX_CRASH_STREAK and "error" in record:
            raise record["error"]

    def tell(self, entry: _Open, state: TrialState, values: list[float] | None = None) -> None:
        self.study.tell(entry.trial, values, state=state)
        self.open.pop(entry.trial.number, None)
        attrs = entry.trial.user_attrs
        # Counted here rather than re-read from the study (a query per network); other
        # workers' progress is read at the next epoch boundary (``next_networks``).
        if "train_seed" in attrs and attrs.get("status") not in ("interrupted", "lost"):
            self.done += 1
        if state == TrialState.COMPLETE and values:
            self.best = values[0] if self.best is None else max(self.best, values[0])
        if attrs.get("status") != "invalid":
            status = attrs.get("status", state.name.lower())
            self.emit("trial", f"trial {entry.trial.number}: {status}")

    def abandon(self) -> None:
        """Ctrl-C: every trial asked here and not yet told is told FAIL (``interrupted``) and
        its candidate queued again, so a resumed search trains it first."""
        states = {t.number: t.state for t in self.study.get_trials(deepcopy=False)}
        for number, entry in list(self.open.items()):
            if states.get(number) != TrialState.RUNNING:
                continue
            trial = entry.trial
            trial.set_user_attr("status", "interrupted")
            self.study.tell(trial, state=TrialState.FAIL)
            if entry.params:
                plan = {
                    k: json_value(v) for k, v in entry.plan.items() if k not in ("round", "worker")
                }
                self.study.enqueue_trial(entry.params, user_attrs=plan)
        self.open.clear()
        self.refresh(self.study.get_trials(deepcopy=False))


def _crash_record(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, StackError) and exc.__cause__ is not None:
        exc = exc.__cause__  # what went wrong, not where
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return {"status": "crashed", "reason": reason, "error": exc}
