"""One pruning run: train the dense base model once, then prune a copy of it, retrain it and
describe it (accuracy right after pruning and per retraining epoch, epochs to regain the base
accuracy, expansion of every pruned matrix).

:func:`prune_once` takes the base model as an argument, so one base serves every method and
percent (``nas.experiments.prune.run_prune`` and ``benchmarks/prune_methods.py`` do so).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from core.errors import SparseNASError
from core.seeds import derive_seed
from core.status import TrialStatus
from models.data import Task
from models.expansion import expansion_summary, layer_expansion
from models.networks import DenseRNNClassifier
from models.pruning import (
    CubicSchedule,
    GradualPruner,
    check_target,
    count_pruned,
    prunable_weights,
    prune_method,
    prune_ramanujan,
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
from nas.experiments.prune_spec import (
    PRUNING_STEPS_PER_EPOCH,
    RAMANUJAN_STEP_EPOCHS,
    PruneSpec,
    check_percent,
)

EpochHook = Callable[[str, EpochMetrics], object]


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
    if result.status == TrialStatus.DIVERGED:
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
    steps: list[dict[str, object]] = []
    if oneshot:
        seed = spec.mask_seed(target, percent)
        if spec.method == "ramanujan":  # Kalra et al.: retrain between the pruning steps
            steps = prune_ramanujan(
                model, target, fraction, retrain=ramanujan_retrainer(model, spec, task)
            )
        elif nonzero is None:
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
    history = [{**keys, "phase": "step", **r} for r in steps]
    history += [{**keys, **asdict(m)} for m in result.history]
    expansion = [{**keys, **r} for r in expansion]
    return row, history, expansion


def ramanujan_retrainer(
    model: DenseRNNClassifier, spec: PruneSpec, task: Task
) -> Callable[[int], float]:
    """Retraining between two ``ramanujan`` pruning steps: ``RAMANUJAN_STEP_EPOCHS`` epochs
    with the masks fixed (a batch order per step); returns the validation accuracy."""
    train = TrainSpec(RAMANUJAN_STEP_EPOCHS, spec.batch_size, spec.lr, device=spec.device)

    def retrain(step: int) -> float:
        return train_model(model, task, train, seed=derive_seed(spec.seeds[2], step)).valid_acc

    return retrain


def _masks(model: DenseRNNClassifier, target: str) -> list[torch.Tensor]:
    return [weight_mask(w).detach().clone() for w in prunable_weights(model, target)]
