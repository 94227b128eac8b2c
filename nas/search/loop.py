"""``run_search``: a predictor-guided search for Sparse-RNN topologies, kept in an Optuna study.

Ask/tell with continuous batching: up to ``round_size`` networks train together in one stack
(``models.evaluation.evaluate_stream``, one shared training seed, so they share
mini-batches). The engine and the search talk through one protocol: the search is the
engine's scheduler (``nas.search.scheduler``). Whenever a slot frees up, the next trial is
asked into it (``nas.search.asking``): the strategy's queued proposals first (a round of them
is enqueued when the queue is empty, see ``nas.search.strategies``), its graph built from its
parameters (``nas.search.space``). Every trial is told (``nas.search.ledger``):

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
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from core.status import TrialStatus
from graphs.io import edges_from_string
from models.data import Task
from models.engine import StackError
from models.evaluation import evaluate_many, evaluate_stream
from nas.search.asking import Asker
from nas.search.events import Progress, SearchEvent, Tally
from nas.search.ledger import OpenTrial, OpenTrials
from nas.search.optuna_adapter import fail_stale_trials, storage_of
from nas.search.records import claims, counts_toward_budget, networks_done
from nas.search.results import (
    best_trials,
    config_storage,
    export_evaluations,
    recorded_run,
    save_best,
    write_json,
)
from nas.search.scheduler import SearchScheduler
from nas.search.space import SearchSpace
from nas.search.spec import IDENTITY, KEPT, PER_RUN, SearchSpec, resumed
from nas.search.storage import heartbeat_interval, heartbeats, open_study, seconds_to_takeover
from nas.search.strategies import strategy_class
from nas.search.strategies.base import SearchStrategy, Warm
from nas.search.study_file import CONFIG, check_out_owner
from nas.search.workers import check_workers, local_workers
from nas.tasks import load_task
from predictors import ALL, load_table

WAIT_POLL = 5.0
"""Seconds between looks at the study while other workers hold the rest of the budget."""
EXPORT_SECONDS = 10.0
"""Longest time the out dir's tables lag behind the study while networks train."""

__all__ = ["SearchEvent", "SearchInterrupted", "export_results", "run_search"]


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


def make_strategy(spec: SearchSpec, space: SearchSpace, warm: Warm) -> SearchStrategy:
    """The strategy ``spec.strategy`` names, built from the search's settings."""
    return strategy_class(spec.strategy).from_spec(spec, space, warm)


def _load_warm_start(spec: SearchSpec) -> Warm:
    if spec.warm_start is None:
        return Warm(ALL)
    table = load_table(spec.warm_start, features=ALL, cell=spec.cell)
    return Warm(table.features, table.X.to_numpy(dtype=float), table.y)


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
    spec = resumed(spec, recorded_run(Path(spec.out)), given=(*IDENTITY, *KEPT))
    study = open_study(spec)
    search = SearchRun(spec, study, task, warm, progress or (lambda event: None), peers or workers)
    if write_config:
        search.write_config()

    def wait_for(helpers: Any, step: str, action: Callable[[], None]) -> None:
        """Wait for the local workers (Ctrl-C: the interrupted search, resumable)."""
        search.tally.emit("wait", f"waiting for {len(helpers)} worker(s) to {step}")
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
    trials = study.get_trials(deepcopy=False)  # one read for both
    export_evaluations(study, out, trials)
    save_best(best_trials(study, spec.objective, spec.keep_best, trials), out, models)


class SearchRun:
    """One worker's search: the parts (asking, the open trials, the engine's scheduler) and
    the steps between streams of training (exports, waiting for other workers)."""

    def __init__(
        self,
        spec: SearchSpec,
        study: optuna.Study,
        task: Task | None,
        warm: Warm,
        progress: Progress,
        peers: int,
    ) -> None:
        self.spec = spec
        self.study = study
        self.task = task
        self.out = Path(spec.out)  # type: ignore[arg-type]
        self.train = spec.train_spec()
        self.features = warm.features
        self.study.pruner = make_pruner(spec)
        self.tally = Tally(spec.budget, progress)
        self.trials = OpenTrials(study, self.tally)
        space = SearchSpace(spec.families, spec.nodes)
        strategy = make_strategy(spec, space, warm)
        self.asker = Asker(spec, study, space, strategy, self.trials, self.tally, peers)
        self.scheduler = SearchScheduler(spec, self.asker, self.trials, self.tally, self.boundary)
        self.exported = time.monotonic()

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
        recorded = recorded_run(self.out)  # this study's (``check_out_owner``), if any
        kept = {k: recorded[k] for k in (*PER_RUN, "train_seed") if k in recorded}
        budget = max(held, self.spec.budget)
        config = {
            **asdict(self.spec),
            "budget": budget,
            **config_storage(self.spec.storage, self.out),  # never its password
            "directions": self.spec.directions,
            "train_seed": self.spec.train_seed,
            "warmup_trials": replace(self.spec, budget=budget).warmup_trials,
            **kept,  # the first command's: a resume never rewrites them (docs/search.md)
            "features": list(self.features),
            "budget_unit": "networks whose training started",
            "optuna": optuna.__version__,
        }
        write_json(self.out / CONFIG, config)

    def export(self) -> None:
        export_results(self.study, self.spec, self.scheduler.models)
        self.scheduler.models = {}
        self.exported = time.monotonic()

    def run(self) -> None:
        self.tally.refresh(self.study.get_trials(deepcopy=False))
        self.tally.emit("start")
        try:
            while self.step():
                pass
        except KeyboardInterrupt:
            self.abandon()
            self.export()
            raise SearchInterrupted(self.study, self.spec, self.tally.done) from None
        except BaseException:
            self.abandon()
            raise
        self.export()
        self.tally.emit("end")

    def step(self) -> bool:
        """Train a stream of networks while this worker can claim some of the budget, or wait
        a moment while other workers hold the rest; False once the study holds the budget of
        finished networks."""
        fail_stale_trials(self.study)
        trials = self.study.get_trials(deepcopy=False)
        self.tally.refresh(trials)
        if self.tally.done >= self.spec.budget:
            return False
        if self.spec.budget - claims(trials) <= 0:
            self.wait_for_others()
            return True
        self.train_stream()
        if self.tally.done < self.spec.budget:  # else ``run`` ends now and exports once
            self.export()
        return True

    def boundary(self) -> Sequence[FrozenTrial]:
        """The search's step at an epoch boundary, before the engine is given networks:
        refresh the out dir when its last export is older than ``EXPORT_SECONDS``, fail the
        trials of workers silent for longer than the grace (``lost``; the storage's callback
        queues their networks again), and read the study."""
        if time.monotonic() - self.exported > EXPORT_SECONDS:
            self.export()
        fail_stale_trials(self.study)
        trials = self.study.get_trials(deepcopy=False)
        self.tally.refresh(trials)
        return trials

    def train_stream(self) -> None:
        """Continuous batching (``models.evaluation.evaluate_stream``): up to ``round_size``
        networks train together, the scheduler filling each freed slot at the next epoch
        boundary. A stack that raises is retrained network by network, a crash becoming a
        record."""
        scheduler = self.scheduler
        with heartbeats(storage_of(self.study), scheduler.live):
            try:
                evaluate_stream(
                    scheduler, self.spec.cell, self.task, self.train, slots=self.spec.round_size,
                    keep_models=True,
                )  # fmt: skip
            except StackError as exc:
                entries = [self.trials[key] for key in exc.keys if key in self.trials]
                self.retrain_alone(entries)
                scheduler.live.clear()

    def retrain_alone(self, entries: list[OpenTrial]) -> None:
        """After a stack raised: each of its networks trained alone from the start, so the
        one that crashes is found and recorded and the others are told as usual."""
        spec, scheduler = self.spec, self.scheduler
        for entry in entries:
            graph = edges_from_string(entry.plan["edge_list"])

            def alone(_i: int, metrics: Any, key: int = entry.trial.number) -> bool:
                return scheduler.report(key, metrics)

            with heartbeats(storage_of(self.study), [entry.trial]):
                try:
                    (record,), (model,) = evaluate_many(
                        [graph], spec.cell, self.task, self.train, seeds=[spec.train_seed],
                        on_epoch=alone, keep_models=True,
                    )  # fmt: skip
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:  # noqa: BLE001 (a crash becomes a FAIL trial)
                    record, model = _crash_record(exc), None
            scheduler.finish(entry, record, model)

    def wait_for_others(self) -> None:
        """The rest of the budget is held by running trials of other workers: wait one poll
        interval, showing when their worker would be taken for dead."""
        left = seconds_to_takeover(self.study, self.trials.numbers())
        if left:
            soonest = max(0, math.ceil(min(left.values())))
            self.tally.emit(
                "wait",
                f"waiting for {len(left)} network(s) of other workers; "
                f"taken over in {soonest} s if their worker is dead",
            )
        time.sleep(min(WAIT_POLL, heartbeat_interval(self.spec.grace)))

    def abandon(self) -> None:
        """Ctrl-C or an error: the open trials are told and queued again (``OpenTrials``)."""
        self.trials.abandon()
        self.tally.refresh(self.study.get_trials(deepcopy=False))


def _crash_record(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, StackError) and exc.__cause__ is not None:
        exc = exc.__cause__  # what went wrong, not where
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return {"status": TrialStatus.CRASHED, "reason": reason, "error": exc}
