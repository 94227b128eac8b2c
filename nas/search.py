"""``run_search``: a predictor-guided search for Sparse-RNN topologies, kept in an Optuna study.

Ask/tell, round by round: a round asks up to ``round_size`` trials (the strategy enqueues its
chosen candidates first, see ``nas.strategies``), builds each trial's graph from its
parameters (``nas.search_space``), trains the round's networks together with
``nas.evaluation.evaluate_many`` (one shared training seed, so they share mini-batches), and
tells every trial:

- COMPLETE with the final test accuracy (``--objective pareto``: accuracy and the nonzero
  parameter count);
- PRUNED when the pruner stopped it: each epoch is ``trial.report``-ed and the pruner is
  consulted through the engine's per-epoch callback; its last accuracy stays in ``test_acc``;
- FAIL when the network diverged or training crashed (``status`` and ``reason`` say which),
  when its parameters gave no connected graph (``invalid``, not trained), or when Ctrl-C
  interrupted its training (``interrupted``; the same candidate is queued again).

The budget counts networks whose training started (pruned, diverged and crashed ones
included). The study is the record: everything a trial produced is in its user attributes,
and the files in the out dir (``evaluations.csv``/``.parquet``, ``best/``, ``config.json``)
are exported from it after every round. Running the same search again loads the study and
goes on until the budget is spent; finished trials are never trained again.

A worker killed hard (SIGKILL, power loss) cannot tell its trials: while training, every
worker records a heartbeat of its open trials in the storage (Optuna's RDB heartbeat), and
every round of every worker first fails the trials whose heartbeat is older than
``HEARTBEAT_GRACE`` seconds (status ``lost``; they do not count toward the budget) and queues
their candidates again.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from graphs.errors import SparseNASError
from graphs.generators import FAMILIES, THESIS_NODES
from graphs.io import edges_from_string, edges_to_string
from models.cells import check_cell
from models.data import Task
from models.training import EpochMetrics, TrainSpec
from nas.evaluation import evaluate_many
from nas.search_space import SearchSpace, build_graph
from nas.strategies import STRATEGIES, PredictorStrategy, derive_seed, make_sampler
from nas.study_io import (
    PLAN_KEYS,
    best_trials,
    counts_toward_budget,
    export_evaluations,
    json_value,
    networks_done,
    record_attrs,
    save_best,
    study_config,
    write_json,
)
from nas.tasks import load_task
from predictors import ALL, load_table
from predictors.regressors import check_kind

OBJECTIVES: tuple[str, ...] = ("accuracy", "pareto")
PRUNERS: tuple[str, ...] = ("sha", "hyperband", "none")
IDENTITY: tuple[str, ...] = (
    "cell",
    "task",
    "task_seed",
    "n_strings",
    "epochs",
    "objective",
    "nodes",
    "families",
    "batch_size",
    "lr",
)
"""Settings a study is bound to: resuming with another value of one of them is an error.
(``seed`` is not among them: workers sharing a study give each its own seed.)"""
MAX_INVALID_PER_SLOT = 50
MAX_CRASH_STREAK = 5
"""Crashed trainings in a row after which the search stops with the error (a bug, not a
bad candidate)."""
HEARTBEAT_INTERVAL = 20
"""Seconds between heartbeats of the trials a worker is training."""
HEARTBEAT_GRACE = 120
"""Seconds without a heartbeat after which a running trial's worker is taken for dead."""
_TRAIN = 5  # SeedSequence stream of the training seed


def parse_nodes(text: str) -> tuple[int, int]:
    """``"10:50"`` (or ``"20"``) -> the inclusive node range."""
    parts = str(text).split(":")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2):
        raise SparseNASError(f"the node range must look like LOW:HIGH, e.g. 10:50 (got {text!r})")
    return (values[0], values[-1])


def parse_family_list(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"ws,ba"``, ``"all"`` or a sequence -> the family names (not yet checked)."""
    if isinstance(text, str):
        text = FAMILIES if text.strip() == "all" else text.split(",")
    return tuple(str(name).strip() for name in text if str(name).strip())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "search"


@dataclass(frozen=True)
class SearchSpec:
    """Everything a search needs; checked on construction (``SparseNASError``).

    Parameters
    ----------
    cell : rnn_tanh, rnn_relu, gru or lstm.
    budget : networks whose training may start (finished, pruned, diverged or crashed).
    task : reber, embedded-reber, digits or csv:PATH (``nas.tasks.load_task``).
    epochs : training epochs of a network that is not pruned.
    strategy : predictor, tpe or random (``nas.strategies``).
    objective : accuracy, or pareto (maximise accuracy, minimise nonzero parameters).
    nodes : inclusive node range, ``(low, high)`` or ``"low:high"``, low >= 3.
    families : graph families searched (``"ws,ba,er"``, ``"all"`` or a sequence).
    storage : Optuna storage URL; default ``sqlite:///<out>/study.db``.
    study : study name; default ``<cell>-<task>`` (a CSV task by its file's stem).
    out : output folder; default ``runs/<study>``.
    seed : seeds the samplers, the pool, the predictor and the training seed.
    warm_start : an evaluations table (CSV/Parquet, ours or the thesis') whose rows of this
        cell also train the predictor.
    round_size : candidates trained together per round.
    pool_size : random candidates the predictor scores per round.
    warmup : share of the budget drawn at random before the predictor guides (predictor
        strategy; also TPE's random start-up trials).
    kappa : exploration weight of the acquisition (``mean + kappa * std``).
    local_fraction : share of a round's slots given to local moves around the best trials.
    predictor : the ``GraphRegressor`` kind guiding the search.
    pruner : sha (successive halving), hyperband or none; unused for pareto (Optuna's
        pruners are single-objective).
    keep_best : best trials written to ``best/`` as GraphML and checkpoint (accuracy
        objective; pareto keeps the whole front).
    task_seed, n_strings, batch_size, lr, device : the task's seed and size (Reber tasks) and
        the training settings (``models.training.TrainSpec``).
    """

    cell: str = "gru"
    budget: int = 200
    task: str = "reber"
    epochs: int = 15
    strategy: str = "predictor"
    objective: str = "accuracy"
    nodes: tuple[int, int] = THESIS_NODES
    families: tuple[str, ...] = FAMILIES
    storage: str | None = None
    study: str | None = None
    out: str | None = None
    seed: int = 0
    warm_start: str | None = None
    round_size: int = 8
    pool_size: int = 2000
    warmup: float = 0.15
    kappa: float = 1.0
    local_fraction: float = 0.25
    predictor: str = "extratrees"
    pruner: str = "sha"
    keep_best: int = 5
    task_seed: int = 0
    n_strings: int | None = None
    batch_size: int = 128
    lr: float = 1e-3
    device: str = "auto"

    def __post_init__(self) -> None:
        nodes = parse_nodes(self.nodes) if isinstance(self.nodes, str) else self.nodes
        object.__setattr__(self, "nodes", tuple(int(n) for n in nodes))
        object.__setattr__(self, "families", parse_family_list(self.families))
        for name in ("out", "warm_start"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))
        check_cell(self.cell)
        _check_int("budget", self.budget, 1)
        _check_int("epochs", self.epochs, 1)
        _check_int("round_size", self.round_size, 1)
        _check_int("pool_size", self.pool_size, 1)
        _check_int("keep_best", self.keep_best, 1)
        _check_int("seed", self.seed, 0)
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("objective", self.objective, OBJECTIVES)
        _check_choice("pruner", self.pruner, PRUNERS)
        check_kind(self.predictor)
        SearchSpace(self.families, self.nodes)  # family names and node range
        if len(set(self.families)) != len(self.families):
            raise SparseNASError(f"families are listed twice (got {','.join(self.families)})")
        for name in ("warmup", "local_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SparseNASError(f"{name} must be in [0, 1] (got {value})")
        if not self.kappa >= 0:
            raise SparseNASError(f"kappa must be at least 0 (got {self.kappa})")
        TrainSpec(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr).validate()
        for name in ("study", "storage"):
            value = getattr(self, name)
            if value is not None and not str(value).strip():
                raise SparseNASError(f"{name} must not be empty")

    def resolved(self) -> SearchSpec:
        """The spec with the study name, out dir and storage URL filled in."""
        task_label = Path(self.task[4:]).stem if self.task.startswith("csv:") else self.task
        study = self.study or _slug(f"{self.cell}-{task_label}")
        out = self.out or str(Path("runs") / _slug(study))
        storage = self.storage or f"sqlite:///{Path(out) / 'study.db'}"
        return replace(self, study=study, out=out, storage=storage)

    def identity(self) -> dict[str, Any]:
        """The settings in ``IDENTITY``, as JSON values."""
        return json.loads(json.dumps({name: getattr(self, name) for name in IDENTITY}))

    def train_spec(self) -> TrainSpec:
        return TrainSpec(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, device=self.device
        )

    @property
    def directions(self) -> list[str]:
        return ["maximize", "minimize"] if self.objective == "pareto" else ["maximize"]

    @property
    def train_seed(self) -> int:
        """The training seed every network of the search shares (weights and batch order)."""
        return derive_seed(self.seed, _TRAIN)

    @property
    def warmup_trials(self) -> int:
        """Trials drawn at random before the predictor guides (at least 3 without a warm
        start, so the first regressor has data)."""
        count = math.ceil(self.warmup * self.budget)
        return min(self.budget, max(count, 0 if self.warm_start else 3))


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SparseNASError(f"{name} must be an integer >= {low} (got {value!r})")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SparseNASError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


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


# -- storage and study ---------------------------------------------------------------------------


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna RDB storage; any failure to open it is a SparseNASError.

    A SQLite file gets its folder created and is opened in WAL mode with ``synchronous =
    NORMAL``: every user attribute and every reported epoch is a transaction, and this makes
    each one a fraction of a millisecond instead of a disk flush (a crash of the process
    loses nothing; a power cut may lose the last transactions). Workers on one machine can
    share the file.
    """
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///") and "?" not in url:
        path = Path(url[len("sqlite:///") :])
        if str(path) not in ("", ":memory:"):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SparseNASError(
                    f"cannot open storage {url!r}: cannot create {path.parent} "
                    f"({exc.strerror or exc})"
                ) from None
            engine_kwargs["creator"] = functools.partial(_connect_sqlite, str(path))
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=HEARTBEAT_GRACE,
                heartbeat_stale_trial_callback=requeue_lost_trial,
            )
    except Exception as exc:  # sqlalchemy raises many kinds; all mean "cannot open"
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise SparseNASError(f"cannot open storage {url!r} ({reason})") from None


def requeue_lost_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat-stale callback: the candidate of a trial whose worker died is queued again
    with how it was chosen (the failed trial itself stays, as ``lost``)."""
    plan = {k: v for k, v in trial.user_attrs.items() if k in PLAN_KEYS and k != "round"}
    if trial.params:
        study.enqueue_trial(trial.params, user_attrs=plan)


@contextmanager
def heartbeats(storage: optuna.storages.BaseStorage, trials: list[Trial]) -> Iterator[None]:
    """Record the trials' heartbeats every ``HEARTBEAT_INTERVAL`` seconds while the body runs
    (a background thread, so a long epoch never looks like a dead worker)."""
    if not callable(getattr(storage, "record_heartbeat", None)) or not trials:
        yield  # a storage without heartbeats (Optuna wraps the RDB storage in a cache)
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            for trial in trials:
                with suppress(Exception):  # a missed beat is retried next interval
                    storage.record_heartbeat(trial._trial_id)  # Optuna has no public id
            if stop.wait(HEARTBEAT_INTERVAL):
                return

    thread = threading.Thread(target=beat, name="trial-heartbeats", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _connect_sqlite(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=60.0, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def open_study(spec: SearchSpec) -> optuna.Study:
    """Load the study ``spec.study`` or create it; an existing study must have been created
    by a search with the same ``IDENTITY`` settings (checked before anything is written)."""
    storage = open_storage(spec.storage)  # type: ignore[arg-type]
    try:
        study = optuna.load_study(study_name=spec.study, storage=storage)
    except KeyError:
        study = None
    if study is not None:
        _check_resumable(study, spec)
        return study
    study = optuna.create_study(
        storage=storage, study_name=spec.study, directions=spec.directions, load_if_exists=True
    )
    if not study_config(study):
        study.set_user_attr("search_config", spec.identity())
    _check_resumable(study, spec)
    return study


def _check_resumable(study: optuna.Study, spec: SearchSpec) -> None:
    config = study_config(study)
    if not config:
        raise SparseNASError(
            f"study {spec.study!r} in {spec.storage} was not created by `nas search`; "
            "choose another --study"
        )
    wanted = spec.identity()
    differ = [name for name in IDENTITY if config.get(name) != wanted[name]]
    if differ:
        shown = ", ".join(f"{n}={config.get(n)!r} (now {wanted[n]!r})" for n in differ)
        raise SparseNASError(
            f"study {spec.study!r} in {spec.storage} was created with {shown}; "
            "run it with the same settings to resume, or choose another --study"
        )


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


def run_search(spec: SearchSpec, progress: Progress | None = None) -> optuna.Study:
    """Run (or resume) the search described by ``spec``; returns its Optuna study.

    Raises
    ------
    SparseNASError
        For an unreadable task or warm-start table, a storage that cannot be opened, or an
        existing study created with other settings; nothing is written to the study then.
    SearchInterrupted
        On Ctrl-C, after keeping every finished trial and exporting the tables.
    """
    spec = spec.resolved()
    task = load_task(spec.task, seed=spec.task_seed, n_strings=spec.n_strings)
    warm = _load_warm_start(spec)
    study = open_study(spec)
    search = _Search(spec, study, task, warm, progress or (lambda event: None))
    search.write_config()
    search.run()
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
    def __init__(self, spec, study, task: Task, warm, progress: Progress) -> None:
        self.spec: SearchSpec = spec
        self.study: optuna.Study = study
        self.task = task
        self.progress = progress
        self.out = Path(spec.out)
        self.space = SearchSpace(spec.families, spec.nodes)
        self.train = spec.train_spec().validate()
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
        self.done = 0
        self.best: float | None = None

    # -- bookkeeping -----------------------------------------------------------------------------

    def write_config(self) -> None:
        config = {
            **asdict(self.spec),
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

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        self.refresh(self.study.get_trials(deepcopy=False))
        self.emit("start")
        try:
            while self.round():
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

    def round(self) -> bool:
        """Ask, train and tell one round; False when the budget is spent."""
        spec = self.spec
        with warnings.catch_warnings():  # Optuna marks it experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)  # trials of dead workers: lost
        trials = self.study.get_trials(deepcopy=False)
        self.refresh(trials)
        started = sum(counts_toward_budget(t) for t in trials)
        remaining = spec.budget - started
        if remaining <= 0:
            return False
        round_index = 1 + max((int(t.user_attrs.get("round", -1)) for t in trials), default=-1)
        count = min(spec.round_size, remaining)
        waiting = sum(t.state == TrialState.WAITING for t in trials)
        origin = "tpe" if spec.strategy == "tpe" else "random"
        if waiting == 0 and self.strategy is not None:
            if started < spec.warmup_trials:
                origin = "warm-up"
                count = min(count, spec.warmup_trials - started)
            else:
                origin = "random"
                for proposal in self.strategy.propose(trials, count, round_index):
                    self.study.enqueue_trial(proposal.params, user_attrs=proposal.attrs)
        self.study.sampler = make_sampler(spec.strategy, spec.seed, round_index, spec.warmup_trials)
        batch = self.ask(count, round_index, origin)
        if batch:
            label = ", ".join(sorted({o.plan["origin"] for o, _ in batch}))
            self.emit("round", f"round {round_index}: {len(batch)} networks ({label})")
            self.train_round(batch)
        self.export()
        return True

    def ask(self, count: int, round_index: int, origin: str) -> list[tuple[_Open, nx.Graph]]:
        batch = []
        invalid = 0
        while len(batch) < count and not self.budget_claimed(len(batch)):
            with warnings.catch_warnings():  # heartbeats are recorded by ``heartbeats``
                warnings.filterwarnings("ignore", "Heartbeat of storage is supposed")
                trial = self.study.ask()
            entry = self.open.setdefault(trial.number, _Open(trial))
            plan = {k: v for k, v in trial.user_attrs.items() if k in PLAN_KEYS}
            plan.setdefault("origin", origin)
            entry.params = self.space.suggest(trial)
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
            new = {"round": round_index, "edge_list": edges_to_string(graph)}
            if "origin" not in trial.user_attrs:
                new["origin"] = plan["origin"]
            for key, value in new.items():
                if trial.user_attrs.get(key) != value:
                    trial.set_user_attr(key, value)
            entry.plan = {**plan, **new}
            batch.append((entry, graph))
        return batch

    def budget_claimed(self, asked: int) -> bool:
        """Whether the networks started or claimed (here: ``asked`` so far this round; by any
        worker: running trials) already fill the budget. Checked before every ask, so
        workers sharing a study overshoot it by at most one network each."""
        trials = self.study.get_trials(deepcopy=False)
        started = sum(counts_toward_budget(t) for t in trials)
        claimed = sum(
            t.state == TrialState.RUNNING and not counts_toward_budget(t)
            and "status" not in t.user_attrs and t.number not in self.open
            for t in trials
        )  # fmt: skip
        return started + claimed + asked >= self.spec.budget

    def train_round(self, batch: list[tuple[_Open, nx.Graph]]) -> None:
        train_seed = self.spec.train_seed
        for entry, _ in batch:
            entry.trial.set_user_attr("train_seed", train_seed)
        trials = [entry.trial for entry, _ in batch]
        last_epoch = self.train.epochs

        def on_epoch(index: int, metrics: EpochMetrics) -> bool:
            trial = trials[index]
            self.emit(
                "epoch",
                f"trial {trial.number} epoch {metrics.epoch}/{last_epoch}: "
                f"test acc {metrics.test_acc:.4f}",
            )
            if not self.single:
                return False
            trial.report(metrics.test_acc, metrics.epoch)
            return metrics.epoch < last_epoch and trial.should_prune()

        graphs = [graph for _, graph in batch]
        with heartbeats(self.study._storage, trials):  # the study's own storage object
            records, models = self.evaluate(graphs, on_epoch)
        for (entry, _), record, model in zip(batch, records, models, strict=True):
            self.finish(entry, record, model)

    def evaluate(self, graphs: list[nx.Graph], on_epoch) -> tuple[list[dict], list[Any]]:
        """``evaluate_many``; if it raises, each network alone, a crash becoming a record."""
        spec, seeds = self.spec, [self.spec.train_seed] * len(graphs)
        kwargs = {"seeds": seeds, "on_epoch": on_epoch, "keep_models": True}
        try:
            return evaluate_many(graphs, spec.cell, self.task, self.train, **kwargs)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 (a crash becomes a FAIL trial)
            if len(graphs) == 1:
                return [_crash_record(exc)], [None]
        records, models = [], []
        for index, graph in enumerate(graphs):

            def alone(_i: int, metrics: EpochMetrics, index: int = index) -> bool:
                return on_epoch(index, metrics)

            try:
                (record,), (model,) = evaluate_many(
                    [graph], spec.cell, self.task, self.train, seeds=[seeds[index]],
                    on_epoch=alone, keep_models=True,
                )  # fmt: skip
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # noqa: BLE001
                record, model = _crash_record(exc), None
            records.append(record)
            models.append(model)
        return records, models

    def finish(self, entry: _Open, record: dict[str, Any], model: Any) -> None:
        trial = entry.trial
        status = record["status"]
        if status == "crashed":
            self.crash_streak += 1
        else:
            self.crash_streak = 0
        if status == "stopped":
            record = {**record, "status": "pruned"}
        attrs = record_attrs(record) if status != "crashed" else {
            "status": "crashed", "reason": record["reason"]
        }  # fmt: skip
        if attrs.get("edge_list") == entry.plan.get("edge_list"):
            attrs.pop("edge_list", None)  # set when the trial was asked
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        if status == "ok":
            values = [float(record["test_acc"])]
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
        trials = self.study.get_trials(deepcopy=False)
        self.refresh(trials)
        if entry.trial.user_attrs.get("status") != "invalid":
            status = entry.trial.user_attrs.get("status", state.name.lower())
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
                plan = {k: json_value(v) for k, v in entry.plan.items() if k != "round"}
                self.study.enqueue_trial(entry.params, user_attrs=plan)
        self.open.clear()
        self.refresh(self.study.get_trials(deepcopy=False))


def _crash_record(exc: BaseException) -> dict[str, Any]:
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    return {"status": "crashed", "reason": reason, "error": exc}
