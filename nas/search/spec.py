"""``SearchSpec``: every setting of a search, checked on construction, and what follows from it.

The CLI builds one from its options (whose defaults are read from here), ``run_search`` runs
it, its workers receive it resolved (``config.json``), and a study remembers the settings in
``IDENTITY`` so that a resume with other ones is refused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from core.checks import check_choice, check_choices, check_fraction, check_int, check_real
from core.errors import SparseNASError
from core.seeds import derive_seed
from graphs.families import FAMILIES
from graphs.generators import THESIS_NODES
from models.cells import check_cell
from models.train_spec import TrainSpec
from nas.search.space import SearchSpace
from nas.search.strategies import ACQUISITIONS, REGISTRY
from predictors.names import check_kind

OBJECTIVES: tuple[str, ...] = ("accuracy", "pareto")
PRUNERS: tuple[str, ...] = ("sha", "hyperband", "none")
"""Optuna pruners that stop unpromising networks early (``none``: every network trains all
its epochs)."""
IDENTITY: tuple[str, ...] = (
    "cell",
    "task",
    "task_seed",
    "test_data",
    "n_strings",
    "epochs",
    "objective",
    "nodes",
    "families",
    "batch_size",
    "lr",
    "readout",
)
"""Settings a study is bound to: resuming with another value of one of them is an error.
(``seed`` is not among them: workers sharing a study give each its own seed.)"""
IDENTITY_DEFAULTS: dict[str, Any] = {"readout": "last"}
"""The value of an ``IDENTITY`` setting that studies and ``config.json`` files made before
it existed lack: what every network of theirs was trained with."""
KEPT: tuple[str, ...] = (
    "strategy",
    "warm_start",
    "round_size",
    "pool_size",
    "warmup",
    "kappa",
    "acquisition",
    "local_fraction",
    "predictor",
    "pruner",
    "keep_best",
)
"""Settings of a run that its resume keeps (``config.json`` records them): an option not
given takes the recorded value, another value given is refused like an ``IDENTITY`` one."""
PER_RUN: tuple[str, ...] = ("seed", "grace", "device")
"""Settings each command on a study chooses for itself (a worker's own seed, its patience with
other workers, its device): a resume may change them, and ``config.json`` keeps the values of
the command that started the run. The budget may grow; ``--workers`` and the display are not
settings of the run at all."""
HEARTBEAT_GRACE = 120
"""Default seconds without a heartbeat after which a running trial's worker is taken for dead
and its network queued again for the other workers (``SearchSpec.grace``)."""
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


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "search"


@dataclass(frozen=True)
class SearchSpec:
    """Everything a search needs; checked on construction (``SparseNASError``).

    Parameters
    ----------
    cell : rnn_tanh, rnn_relu, gru or lstm.
    budget : networks whose training may start (finished, stopped early, diverged or crashed).
    task : reber, embedded-reber, digits or csv:PATH (``nas.tasks.load_task``).
    epochs : training epochs of a network that is not stopped early.
    strategy : a name of ``nas.search.strategies.REGISTRY`` (predictor, tpe, random,
        evolution, local).
    objective : accuracy, or pareto (maximise accuracy, minimise nonzero parameters).
    nodes : inclusive node range, ``(low, high)`` or ``"low:high"``, low >= 3.
    families : graph families searched (``"ws,ba,er"``, ``"all"`` or a sequence).
    storage : Optuna storage URL; default ``sqlite:///<out>/study.db``.
    study : study name; default ``<cell>-<task>`` (a CSV task by its file's stem, a folder
        task by its kind: ``gru-seq-mnist``).
    out : output folder; default ``runs/<study>``.
    seed : seeds the samplers, the pool, the predictor and the training seed.
    warm_start : an evaluations table (CSV/Parquet, ours or the thesis') whose rows of this
        cell also train the predictor.
    round_size : candidates proposed per round, and trained together in one stack (16: the
        stack trains faster per network than 8, and the tabular replay finds random search's
        best as fast; docs/figures.md).
    pool_size : random candidates the predictor scores per round.
    warmup : share of the budget drawn at random before the predictor guides (predictor
        strategy; also TPE's random start-up trials and evolution's population). 0.08 and
        ``kappa`` 0.5 were chosen by the tabular replays of the four cells' pools on one
        set of seeds and confirmed on another (docs/strategies.md).
    kappa : exploration weight of the ucb acquisition (``mean + kappa * std``).
    acquisition : how the predictor scores candidates: ``ucb`` (the upper confidence bound)
        or ``thompson`` (independent Thompson sampling: a draw from ``normal(mean, std)``
        per candidate and slot); ``nas.search.strategies.acquisition``.
    local_fraction : share of a round's slots given to local moves around the best trials.
    predictor : the regressor kind guiding the search (a ``GraphRegressor`` kind, or
        ``gnn``: ``predictors.gnn.GNNRegressor`` on the graphs themselves).
    pruner : sha (successive halving), hyperband or none: Optuna's pruner, which stops
        unpromising networks early; unused for pareto (Optuna's pruners are single-objective).
    keep_best : best trials written to ``best/`` as GraphML and checkpoint (accuracy
        objective; pareto keeps the whole front).
    task_seed, n_strings, batch_size, lr, device : the task's seed and size (Reber tasks) and
        the training settings (``models.training.TrainSpec``).
    readout : the neurons each network's read-out sees (``graphs.dag.READOUTS``).
    test_data : with a CSV task, a fixed test file (``nas.tasks.load_task``).
    grace : seconds without a heartbeat after which a running trial's worker is taken for
        dead and the network is trained again by a surviving worker (``nas.search.storage``).
    """

    cell: str = "gru"
    budget: int = 200
    task: str = "reber"
    epochs: int = TrainSpec.epochs
    strategy: str = "predictor"
    objective: str = "accuracy"
    nodes: tuple[int, int] = THESIS_NODES
    families: tuple[str, ...] = FAMILIES
    storage: str | None = None
    study: str | None = None
    out: str | None = None
    seed: int = 0
    warm_start: str | None = None
    round_size: int = 16
    pool_size: int = 2000
    warmup: float = 0.08
    kappa: float = 0.5
    acquisition: str = ACQUISITIONS[0]
    local_fraction: float = 0.25
    predictor: str = "extratrees"
    pruner: str = "sha"
    keep_best: int = 5
    task_seed: int = 0
    n_strings: int | None = None
    batch_size: int = TrainSpec.batch_size
    lr: float = TrainSpec.lr
    device: str = TrainSpec.device
    readout: str = TrainSpec.readout
    test_data: str | None = None
    grace: float = HEARTBEAT_GRACE

    def __post_init__(self) -> None:
        nodes = parse_nodes(self.nodes) if isinstance(self.nodes, str) else self.nodes
        object.__setattr__(self, "nodes", tuple(int(n) for n in nodes))
        object.__setattr__(self, "families", check_choices(self.families, "graph family", FAMILIES))
        for name in ("out", "warm_start", "test_data"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, str(value))
        check_cell(self.cell)
        check_int(self.budget, "budget", low=1)
        check_int(self.round_size, "round_size", low=1)
        check_int(self.pool_size, "pool_size", low=1)
        check_int(self.keep_best, "keep_best", low=1)
        check_int(self.seed, "seed", low=0)
        check_choice(self.strategy, "strategy", tuple(REGISTRY))
        check_choice(self.objective, "objective", OBJECTIVES)
        check_choice(self.pruner, "pruner", PRUNERS)
        check_choice(self.acquisition, "acquisition", ACQUISITIONS)
        check_kind(self.predictor)
        SearchSpace(self.families, self.nodes)  # the node range
        check_fraction(self.warmup, "warmup")
        check_fraction(self.local_fraction, "local_fraction")
        check_real(self.kappa, "kappa", low=0.0)
        check_real(self.grace, "grace", low=1.0)
        self.train_spec()  # epochs, batch_size, lr, device, readout
        for name in ("study", "storage"):
            value = getattr(self, name)
            if value is not None and not str(value).strip():
                raise SparseNASError(f"{name} must not be empty")

    def resolved(self) -> SearchSpec:
        """The spec with the study name, out dir and storage URL filled in."""
        kind, _, where = self.task.partition(":")
        task_label = Path(where).stem if kind == "csv" else kind  # a folder task by its kind
        study = self.study or _slug(f"{self.cell}-{task_label}")
        out = self.out or str(Path("runs") / _slug(study))
        storage = self.storage or f"sqlite:///{Path(out) / 'study.db'}"
        return replace(self, study=study, out=out, storage=storage)

    def identity(self) -> dict[str, Any]:
        """The settings in ``IDENTITY``, as JSON values."""
        return json.loads(json.dumps({name: getattr(self, name) for name in IDENTITY}))

    def to_json(self) -> dict[str, Any]:
        """Every setting as a JSON value; ``SearchSpec.from_json`` reads it back."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchSpec:
        """The spec saved by ``to_json`` (extra keys, such as those ``config.json`` adds, are
        ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def train_spec(self) -> TrainSpec:
        return TrainSpec(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            device=self.device,
            readout=self.readout,
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
        """Trials drawn at random before the predictor guides. Without a warm start at least
        3, so the first regressor has data, and at least ``round_size``, so the first stack
        trains full rather than waiting for rows to fit on."""
        count = math.ceil(self.warmup * self.budget)
        return min(self.budget, max(count, 0 if self.warm_start else max(3, self.round_size)))


def resumed(spec: SearchSpec, recorded: dict[str, Any], given: Collection[str]) -> SearchSpec:
    """``spec`` resuming the run ``recorded`` (its ``config.json``, when it is this study's):
    every ``IDENTITY`` and ``KEPT`` setting not in ``given`` takes the recorded value; one
    given with another value is refused, naming both.

    Raises
    ------
    SparseNASError
        If a given setting differs from the recorded run's.
    """
    if not recorded or recorded.get("study") != spec.study:
        return spec
    recorded = {**IDENTITY_DEFAULTS, **recorded}  # a run recorded before a setting existed
    names = [name for name in (*IDENTITY, *KEPT) if name in recorded]
    try:
        before = replace(spec, **{name: recorded[name] for name in names})
    except (SparseNASError, TypeError, ValueError):
        return spec  # a record this version cannot read: the study's own check still holds
    taken = replace(spec, **{name: getattr(before, name) for name in names if name not in given})
    differ = [name for name in names if _json(getattr(before, name)) != _json(getattr(taken, name))]
    if differ:
        shown = ", ".join(
            f"{name}={_json(getattr(before, name))!r} (now {_json(getattr(taken, name))!r})"
            for name in differ
        )
        raise SparseNASError(
            f"{spec.out} holds a run of study {spec.study!r} with {shown}; resume it with its "
            "settings (leave those options out), or choose another --out and --study"
        )
    return taken


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))
