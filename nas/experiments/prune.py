"""The pruning baseline experiment: prune the dense base model, retrain, compare.

1. Train the thesis' dense base model (embedding -> ``num_layers`` x ``hidden_size`` -> linear;
   Adam, batch 32) for ``epochs`` epochs.
2. For every target and percent: prune a copy (``models.pruning``: by default one global
   magnitude threshold over all recurrent layers together; ``method`` may instead set the
   masks' structure, ``random``, ``expander`` or ``anti-expander``), measure the test
   accuracy right after pruning, retrain ``retrain_epochs`` epochs with the masks fixed
   recording the accuracy after each, and count the epochs needed to regain the base
   accuracy (within ``tolerance``; ``"never"`` if not). The expansion of every pruned matrix
   (``models.expansion``) is recorded beside it.
3. Equal-sparsity comparison: given a Sparse-RNN graph, prune the base model to exactly the
   Sparse-RNN's number of nonzero recurrent weights, retrain it, and train the Sparse-RNN
   from scratch with the same total budget (``epochs + retrain_epochs`` epochs, same batch
   size and learning rate); report both accuracies.

With ``method="gradual"`` step 2 prunes by magnitude while retraining instead, along Zhu &
Gupta's cubic schedule (``models.pruning.CubicSchedule``) over the first half of the retraining
epochs (10 pruning steps per epoch); there is no accuracy "right after pruning" (NaN).

Everything is seeded by ``PruneSpec.seed``; every pruned copy is retrained with the same
mini-batch order, so rows differ only by what was pruned. :func:`prune_once` takes the base
model as an argument, so one base serves every method and percent
(``benchmarks/prune_methods.py`` does so).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from os import PathLike
from pathlib import Path

import networkx as nx
import pandas as pd
import torch

from core.checks import check_choice, check_fraction, check_int, check_real
from core.errors import SparseNASError
from core.seeds import child_seeds, derive_seed
from graphs.dag import layered_dag
from graphs.io import read_graph
from graphs.spectral import spectral_features
from models.cells import DEFAULT_EMBEDDING_DIM, GATES, check_cell, recurrent_weights
from models.data import Task
from models.evaluation import evaluate_graph
from models.expansion import expansion_summary, layer_expansion
from models.networks import DenseRNNClassifier
from models.pruning import (
    TARGETS,
    CubicSchedule,
    GradualPruner,
    check_target,
    count_pruned,
    prunable_weights,
    prune_method,
    prune_to_nonzero,
    recurrent_nonzero,
    weight_mask,
)
from models.training import (
    EpochMetrics,
    TrainResult,
    TrainSpec,
    evaluate,
    resolve_device,
    train_model,
)
from nas.search.results import ranked_run_graph

METHODS: tuple[str, ...] = ("magnitude", "gradual", "random", "expander", "anti-expander")
"""``gradual`` is magnitude pruning along a schedule; the others prune at once
(``models.pruning.MASK_METHODS``)."""
DEFAULT_PERCENTS: tuple[float, ...] = tuple(float(p) for p in range(10, 101, 10))
DEFAULT_BASE_EPOCHS = 5
"""Base training epochs: the thesis trained 50. On the default Reber task the dense GRU reaches
test accuracy 1.0 after 2 epochs and LSTM after 5; an epoch at batch 32 (18,750 strings) takes
3.6-6.4 s on one core, so the default sweep (5 + 10 x 10 epochs) takes about 8.5 minutes. Longer
training does not make the model more robust to pruning: the GRU's accuracy right after
pruning 40 % of ``both`` falls from 0.78 (5 epochs) to 0.56 (50 epochs)
(``benchmarks/prune_diagnose.py``)."""
DEFAULT_RETRAIN_EPOCHS = 10
PRUNING_STEPS_PER_EPOCH = 10
"""Gradual method: pruning steps (Zhu & Gupta's dt) per retraining epoch."""

EpochHook = Callable[[str, EpochMetrics], object]


@dataclass(frozen=True)
class PruneSpec:
    """One pruning experiment; defaults follow the issue (Adam 1e-3, batch 32, 10 retraining
    epochs, 10..100 % in steps of 10, target ``both``).

    ``percents`` may be empty (only the equal-sparsity comparison runs). ``tolerance`` is the
    accuracy gap (a fraction: 0.005 = 0.5 points) within which the base accuracy counts as
    regained.
    """

    cell: str = "gru"
    targets: tuple[str, ...] = ("both",)
    percents: tuple[float, ...] = DEFAULT_PERCENTS
    method: str = "magnitude"
    epochs: int = DEFAULT_BASE_EPOCHS
    retrain_epochs: int = DEFAULT_RETRAIN_EPOCHS
    batch_size: int = 32
    lr: float = 1e-3
    tolerance: float = 0.005
    hidden_size: int = 50
    num_layers: int = 3
    embedding_dim: int = DEFAULT_EMBEDDING_DIM
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        check_cell(self.cell)
        if not self.targets:
            raise SparseNASError(f"give at least one pruning target ({', '.join(TARGETS)})")
        for target in self.targets:
            check_target(target)
        for percent in self.percents:
            check_percent(percent)
        check_choice(self.method, "pruning method", METHODS)
        for name in ("epochs", "retrain_epochs", "hidden_size", "num_layers", "embedding_dim"):
            check_int(getattr(self, name), name, low=1)
        check_fraction(self.tolerance, "tolerance")
        self.base_train()  # batch_size, lr, device

    @property
    def seeds(self) -> tuple[int, int, int, int]:
        """Child seeds of ``seed``: the initial weights, the base training's batch order,
        the retraining's batch order and the structured masks (``mask_seed``)."""
        init, order, retrain, masks = child_seeds(self.seed, 4)
        return init, order, retrain, masks

    def mask_seed(self, target: str, percent: float) -> int:
        """The seed of the structured masks of one ``target`` and ``percent``: a method's
        masks do not depend on which other methods or percents run."""
        method = METHODS.index(self.method)
        return derive_seed(self.seeds[3], method, TARGETS.index(target), round(percent * 1000))

    def base_train(self) -> TrainSpec:
        return TrainSpec(self.epochs, self.batch_size, self.lr, device=self.device)

    def retrain(self) -> TrainSpec:
        return TrainSpec(self.retrain_epochs, self.batch_size, self.lr, device=self.device)


def check_percent(percent: object) -> float:
    """Return ``percent`` as a float if it is a number in [0, 100], else raise naming it."""
    return check_real(percent, "percent", low=0.0, high=100.0)


def parse_percents(text: str) -> tuple[float, ...]:
    """``"10,20,90"`` -> ``(10.0, 20.0, 90.0)``; every value in [0, 100]."""
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            value = float(item.rstrip("%"))
        except ValueError:
            raise SparseNASError(f"percent must be a number in [0, 100] (got {item!r})") from None
        values.append(check_percent(value) if math.isfinite(value) else check_percent(item))
    if not values:
        raise SparseNASError(f"give at least one percent, e.g. 10,50,90 (got {text!r})")
    return tuple(values)


def parse_targets(text: str) -> tuple[str, ...]:
    """``"i2h,h2h"`` -> ``("i2h", "h2h")``; each one of ``models.pruning.TARGETS``."""
    targets = tuple(check_target(t.strip()) for t in text.split(",") if t.strip())
    if not targets:
        raise SparseNASError(f"give at least one pruning target ({', '.join(TARGETS)})")
    return tuple(dict.fromkeys(targets))


# -- pieces ------------------------------------------------------------------------------------


@dataclass
class BaseModel:
    """The trained dense base model, its test accuracy (reported) and its validation
    accuracy (what retraining must regain)."""

    model: DenseRNNClassifier
    result: TrainResult
    test_acc: float
    test_loss: float

    @property
    def valid_acc(self) -> float:
        return self.result.valid_acc

    def summary(self) -> dict[str, object]:
        total = count_pruned(self.model, "both")[1]
        return {
            "status": self.result.status,
            "valid_acc": self.valid_acc,
            "test_acc": self.test_acc,
            "test_loss": self.test_loss,
            "epochs": len(self.result.history),
            "train_seconds": self.result.train_seconds,
            "recurrent_weights": total,
        }


def build_dense(spec: PruneSpec, task: Task) -> DenseRNNClassifier:
    """The untrained dense base model of ``spec`` for ``task``."""
    return DenseRNNClassifier(
        spec.cell,
        task.n_classes,
        vocab_size=task.vocab_size,
        n_features=task.n_features,
        embedding_dim=spec.embedding_dim,
        hidden_size=spec.hidden_size,
        num_layers=spec.num_layers,
        seed=spec.seeds[0],
    )


def train_base(spec: PruneSpec, task: Task, *, on_epoch: EpochHook | None = None) -> BaseModel:
    """Train the dense base model. Raises SparseNASError if training diverges (nothing
    meaningful can be pruned from it)."""
    model = build_dense(spec, task)
    hook = None if on_epoch is None else (lambda metrics: bool(on_epoch("dense base", metrics)))
    result = train_model(model, task, spec.base_train(), seed=spec.seeds[1], on_epoch=hook)
    if result.status == "diverged":
        raise SparseNASError(
            f"the dense {spec.cell} base model diverged ({result.reason}); try a smaller --lr"
        )
    return BaseModel(model, result, result.test_acc, result.test_loss)


def epochs_to_regain(
    accuracies: list[float], base_acc: float, tolerance: float, *, start: int = 0
) -> int | str:
    """The first retraining epoch (1-based) whose accuracy is within ``tolerance`` of
    ``base_acc``, counting only epochs after ``start``; ``"never"`` if none is.

    (:func:`prune_once` reports 0 when the accuracy right after one-shot pruning already is.)
    """
    threshold = base_acc - tolerance - 1e-12
    for epoch, acc in enumerate(accuracies, start=1):
        if epoch > start and acc >= threshold:
            return epoch
    return "never"


def gradual_schedule(final: float, retrain_epochs: int, steps_per_epoch: int) -> CubicSchedule:
    """The experiment's cubic schedule: from dense (s_i = 0) at step 0 to ``final`` by the
    end of the first half of the retraining epochs (at least one epoch), with
    ``PRUNING_STEPS_PER_EPOCH`` pruning steps per epoch; the last pruning step always falls
    inside training, so the final sparsity is reached."""
    interval = max(1, steps_per_epoch // PRUNING_STEPS_PER_EPOCH)
    prune_epochs = max(1, retrain_epochs // 2)
    steps = max(1, (prune_epochs * steps_per_epoch - 1) // interval)
    return CubicSchedule(final=final, steps=steps, interval=interval)


def prune_once(
    base: BaseModel,
    spec: PruneSpec,
    task: Task,
    target: str,
    percent: float,
    *,
    nonzero: int | None = None,
    on_epoch: EpochHook | None = None,
) -> tuple[dict[str, object], list[dict[str, object]], list[dict[str, object]]]:
    """Prune a copy of the base model (``percent`` of ``target``, or, given ``nonzero``,
    down to that many ``target`` weights, ``percent`` then being ignored), retrain it and
    describe it.

    Returns the result row, the per-epoch history rows and the per-matrix expansion rows.
    """
    check_target(target)
    device = resolve_device(spec.device)
    model = copy.deepcopy(base.model)
    retrain = spec.retrain()
    if nonzero is not None:
        targeted = count_pruned(model, target)[1]
        percent = 100.0 * (targeted - nonzero) / targeted
    fraction = check_percent(percent) / 100.0
    label = f"{target} {percent:.3g}%"
    handle = None
    oneshot = spec.method != "gradual"
    if oneshot:
        seed = spec.mask_seed(target, percent)
        if nonzero is None:
            prune_method(model, target, fraction, spec.method, seed=seed)
        else:
            prune_to_nonzero(model, target, nonzero, spec.method, seed=seed)
        acc_pruned = evaluate(model, task.test, device)[1]
        valid_pruned = evaluate(model, task.validation, device)[1]
        pruning_epochs = 0
        masks = _masks(model, target)
    else:
        steps_per_epoch = math.ceil(len(task.train) / spec.batch_size)
        schedule = gradual_schedule(fraction, spec.retrain_epochs, steps_per_epoch)
        handle = GradualPruner(model, target, schedule).attach()
        acc_pruned = valid_pruned = float("nan")
        pruning_epochs = schedule.end // steps_per_epoch + 1
    hook = None if on_epoch is None else (lambda metrics: bool(on_epoch(label, metrics)))
    try:
        result = train_model(model, task, retrain, seed=spec.seeds[2], on_epoch=hook)
    finally:
        if handle is not None:
            handle.remove()
    if oneshot and not all(
        torch.equal(a, b) for a, b in zip(masks, _masks(model, target), strict=True)
    ):
        raise RuntimeError("a pruning mask changed during retraining")  # a bug, never input
    expansion = layer_expansion(model, target)
    accuracies = [m.valid_acc for m in result.history]  # regaining is judged on validation
    if oneshot and valid_pruned >= base.valid_acc - spec.tolerance - 1e-12:
        regain: int | str = 0
    else:
        regain = epochs_to_regain(
            accuracies, base.valid_acc, spec.tolerance, start=max(pruning_epochs - 1, 0)
        )
    pruned, targeted = count_pruned(model, target)
    recurrent_total = count_pruned(model, "both")[1]
    row: dict[str, object] = {
        "cell": spec.cell,
        "task": task.name,
        "method": spec.method,
        "target": target,
        "percent": float(percent),
        "sparsity": pruned / targeted,
        "pruned": pruned,
        "targeted": targeted,
        "recurrent_nonzero": recurrent_nonzero(model),
        "recurrent_total": recurrent_total,
        "base_acc": base.test_acc,
        "acc_pruned": acc_pruned,
        "acc_retrained": result.test_acc,
        "best_retrained": max(accuracies, default=float("nan")),
        "epochs_to_regain": regain,
        "status": result.status,
        **expansion_summary(expansion),
    }
    for epoch in range(1, spec.retrain_epochs + 1):
        row[f"acc_epoch_{epoch}"] = accuracies[epoch - 1] if epoch <= len(accuracies) else math.nan
    keys = {"method": spec.method, "target": target, "percent": float(percent)}
    history = [{**keys, **asdict(m)} for m in result.history]
    expansion = [{**keys, **r} for r in expansion]
    return row, history, expansion


def _masks(model: DenseRNNClassifier, target: str) -> list[torch.Tensor]:
    return [weight_mask(w).detach().clone() for w in prunable_weights(model, target)]


def dense_recurrent_weights(spec: PruneSpec, task: Task) -> int:
    """The dense base model's i2h + h2h weights (what ``both`` prunes)."""
    input_width = spec.embedding_dim if task.vocab_size is not None else int(task.n_features or 0)
    gates, hidden = GATES[check_cell(spec.cell)], spec.hidden_size
    i2h = gates * hidden * (input_width + hidden * (spec.num_layers - 1))
    return i2h + gates * hidden * hidden * spec.num_layers


def check_match(graph: nx.Graph, spec: PruneSpec, task: Task) -> int:
    """The Sparse-RNN's recurrent weight count, checked to fit into the dense model."""
    nonzero = recurrent_weights(layered_dag(graph), spec.cell, spec.embedding_dim)
    total = dense_recurrent_weights(spec, task)
    if nonzero > total:
        raise SparseNASError(
            f"the graph's {spec.cell} Sparse-RNN has {nonzero} recurrent weights, more than "
            f"the dense model's {total}; use a smaller graph or a larger --hidden-size"
        )
    return nonzero


def resolve_match(match: Path | None, rank: int, cell: str) -> tuple[nx.Graph | None, str]:
    """The Sparse-RNN graph to match and a label naming it: a graph file, or a search
    out dir's RANK-th best network (its cell must be ``cell``: the weight count depends on
    it)."""
    if match is None:
        if rank != 1:
            raise SparseNASError("a rank needs a search's out dir to match")
        return None, ""
    if not match.is_dir():
        if rank != 1:
            raise SparseNASError(f"a rank needs a search's out dir; '{match}' is a file")
        return read_graph(match), str(match)
    graph, row = ranked_run_graph(match, rank)
    if row.get("cell") != cell:
        raise SparseNASError(
            f"'{match}' searched {row.get('cell')} networks, not {cell}: match the same cell"
        )
    return graph, f"{match} rank {rank} (trial {int(row['trial'])}, acc {row['test_acc']:.4f})"


def match_sparse_rnn(
    graph: nx.Graph,
    base: BaseModel,
    spec: PruneSpec,
    task: Task,
    *,
    on_epoch: EpochHook | None = None,
) -> dict[str, object]:
    """Equal-sparsity comparison: the base model pruned (``both``) to the Sparse-RNN's
    number of nonzero recurrent weights and retrained, against the Sparse-RNN trained from
    scratch for ``epochs + retrain_epochs`` epochs (the same total budget, batch size and
    learning rate)."""
    nonzero = check_match(graph, spec, task)
    row, _, expansion = prune_once(
        base, spec, task, "both", 0.0, nonzero=nonzero, on_epoch=on_epoch
    )
    budget = replace(spec.base_train(), epochs=spec.epochs + spec.retrain_epochs)
    hook = None if on_epoch is None else (lambda metrics: bool(on_epoch("sparse-rnn", metrics)))
    record = evaluate_graph(
        graph,
        spec.cell,
        task,
        budget,
        seed=spec.seed,
        embedding_dim=spec.embedding_dim,
        on_epoch=hook,
    )
    features = spectral_features(graph)
    summary = expansion_summary(expansion)
    return {
        "cell": spec.cell,
        "task": task.name,
        "method": spec.method,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "layer_sizes": record["layer_sizes"],
        "recurrent_nonzero": nonzero,
        "recurrent_total": row["recurrent_total"],
        "sparsity": row["sparsity"],
        "budget_epochs": budget.epochs,
        "sparse_rnn_acc": record["test_acc"],
        "sparse_rnn_status": record["status"],
        "dense_base_acc": base.test_acc,
        "dense_pruned_acc": row["acc_pruned"],
        "dense_retrained_acc": row["acc_retrained"],
        "dense_status": row["status"],
        "sparse_rnn_ramanujan_gap_min": features["ramanujan_gap_min"],
        "dense_ramanujan_gap_min": summary.get("ramanujan_gap_min", math.nan),
        "dense_expander_fraction": summary.get("expander_fraction", math.nan),
    }


# -- the whole experiment ----------------------------------------------------------------------


@dataclass
class PruneOutcome:
    """Everything one ``nas prune`` run measured."""

    spec: PruneSpec
    base: dict[str, object]
    table: pd.DataFrame
    history: pd.DataFrame
    expansion: pd.DataFrame
    match: dict[str, object] | None = None
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON values (NaN becomes null)."""
        records = json.loads(self.table.to_json(orient="records")) if len(self.table) else []
        return _json_safe(
            {
                "spec": asdict(self.spec),
                "base": self.base,
                "results": records,
                "match": self.match,
                "files": [str(p) for p in self.files],
            }
        )

    def write(self, out: str | PathLike[str]) -> list[Path]:
        """Write CSV tables and PNG plots into the folder ``out``; returns their paths."""
        folder = Path(out)
        written: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if len(self.table):
                for name, frame in (
                    ("prune_results.csv", self.table),
                    ("prune_history.csv", self.history),
                    ("prune_expansion.csv", self.expansion),
                ):
                    frame.to_csv(folder / name, index=False)
                    written.append(folder / name)
                written.append(plot_accuracy(self.table, folder / "prune_accuracy.png"))
                written.append(plot_regain(self.table, folder / "prune_regain.png"))
            if self.match is not None:
                pd.DataFrame([self.match]).to_csv(folder / "prune_match.csv", index=False)
                written.append(folder / "prune_match.csv")
        except OSError as exc:
            raise SparseNASError(f"cannot write into {folder}: {exc.strerror or exc}") from None
        self.files = written
        return written


def planned_epochs(spec: PruneSpec, match: bool) -> int:
    """Training epochs a run will take (for a progress bar)."""
    runs = len(spec.targets) * len(spec.percents)
    extra = (2 * spec.retrain_epochs + spec.epochs) if match else 0
    return spec.epochs + runs * spec.retrain_epochs + extra


def run_prune(
    spec: PruneSpec,
    task: Task,
    *,
    graph: nx.Graph | None = None,
    on_epoch: EpochHook | None = None,
) -> PruneOutcome:
    """Train the base model, prune and retrain it for every target and percent, and (given a
    Sparse-RNN ``graph``) run the equal-sparsity comparison."""
    if graph is not None:
        check_match(graph, spec, task)  # fail before training
    base = train_base(spec, task, on_epoch=on_epoch)
    rows, history, expansion = [], [], []
    for target in spec.targets:
        for percent in spec.percents:
            row, hist, exp = prune_once(base, spec, task, target, percent, on_epoch=on_epoch)
            rows.append(row)
            history.extend(hist)
            expansion.extend(exp)
    match = None
    if graph is not None:
        match = match_sparse_rnn(graph, base, spec, task, on_epoch=on_epoch)
    return PruneOutcome(
        spec=spec,
        base=base.summary(),
        table=pd.DataFrame(rows),
        history=pd.DataFrame(history),
        expansion=pd.DataFrame(expansion),
        match=match,
    )


# -- plots -------------------------------------------------------------------------------------


def _color(target: object) -> str:
    """One color per target, the same in every plot."""
    return f"C{TARGETS.index(str(target))}" if target in TARGETS else "C4"


def _figure():
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    figure = Figure(figsize=(6.4, 4.4))
    return figure, figure.add_subplot()


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def plot_accuracy(table: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Test accuracy vs percent pruned, per target: right after pruning (dashed) and after
    retraining (solid), with the base accuracy as a dotted line."""
    figure, ax = _figure()
    for target, rows in table.groupby("target", sort=False):
        rows = rows.sort_values("percent")
        color = _color(target)
        if rows["acc_pruned"].notna().any():
            ax.plot(
                rows["percent"],
                rows["acc_pruned"],
                "o--",
                color=color,
                alpha=0.7,
                label=f"{target}: after pruning",
            )
        ax.plot(
            rows["percent"],
            rows["acc_retrained"],
            "s-",
            color=color,
            label=f"{target}: after retraining",
        )
    ax.axhline(float(table["base_acc"].iloc[0]), color="grey", linestyle=":", label="dense base")
    epochs = sum(c.startswith("acc_epoch_") for c in table.columns)
    first = table.iloc[0]
    ax.set_title(
        f"{first['cell']} on {first['task']}: {first['method']} pruning, {epochs} retraining epochs"
    )
    ax.set_xlabel("weights pruned (%)")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)
    return _save(figure, Path(path))


def plot_regain(table: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Epochs of retraining needed to regain the base accuracy vs percent pruned, per
    target; "never" is drawn as crosses above the last epoch."""
    figure, ax = _figure()
    epochs = sum(c.startswith("acc_epoch_") for c in table.columns)
    never = epochs + 1
    for target, rows in table.groupby("target", sort=False):
        rows = rows.sort_values("percent")
        values = [never if v == "never" else int(v) for v in rows["epochs_to_regain"]]
        ax.plot(rows["percent"], values, "o-", color=_color(target), label=str(target))
        missed = [p for p, v in zip(rows["percent"], values, strict=True) if v == never]
        ax.plot(missed, [never] * len(missed), "x", color=_color(target), markersize=10)
    ax.set_yticks(list(range(0, never + 1)))
    ax.set_yticklabels([str(e) for e in range(0, never)] + ["never"])
    first = table.iloc[0]
    ax.set_title(f"{first['cell']} on {first['task']}: epochs to regain the base accuracy")
    ax.set_xlabel("weights pruned (%)")
    ax.set_ylabel("retraining epochs")
    ax.legend(fontsize=8)
    return _save(figure, Path(path))


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if hasattr(value, "item") and callable(value.item):
        return _json_safe(value.item())
    return value
