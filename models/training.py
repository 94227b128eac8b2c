"""Train a sequence classifier and record per-epoch metrics.

Adam, cross-entropy, gradient clipping, mini-batches bucketed by length (padding costs
whole-network steps). A non-finite loss ends the run with status ``diverged``: the caller gets
a result, never an exception, so a search can record it and go on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from core.errors import SparseNASError
from core.status import TrialStatus
from models.data import SequenceSet, Task

# TrainSpec and check_device live in the torch-free models.train_spec (the CLI reads them).
from models.train_spec import TrainSpec, check_device

#: Mini-batches sorted together by length before their order is shuffled.
BUCKET_BATCHES = 32


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch: training loss and accuracy, and the validation split's (what chooses)."""

    epoch: int
    train_loss: float
    train_acc: float
    valid_loss: float
    valid_acc: float
    seconds: float


@dataclass
class TrainResult:
    """Outcome of one training run. ``status`` (a ``core.status.TrialStatus``) is ``ok``,
    ``diverged`` or ``stopped`` (by the per-epoch callback). ``valid_*`` are the last
    completed epoch's; ``test_*`` are measured once, after the last epoch (NaN for a
    diverged run). ``batch_offset``: epochs of the mini-batch stream skipped before the
    first (a network that joined a running stack, see ``models.engine.train_stream``)."""

    status: TrialStatus
    history: list[EpochMetrics] = field(default_factory=list)
    train_seconds: float = 0.0
    reason: str = ""
    test_acc: float = float("nan")
    test_loss: float = float("nan")
    batch_offset: int = 0

    @property
    def valid_acc(self) -> float:
        return self.history[-1].valid_acc if self.history else float("nan")

    @property
    def valid_loss(self) -> float:
        return self.history[-1].valid_loss if self.history else float("nan")

    def summary(self) -> dict[str, object]:
        return {
            "status": str(self.status),  # a record holds plain JSON values
            "reason": self.reason,
            "valid_acc": self.valid_acc,
            "valid_loss": self.valid_loss,
            "test_acc": self.test_acc,
            "test_loss": self.test_loss,
            "epochs": len(self.history),
            "train_seconds": self.train_seconds,
            "batch_offset": self.batch_offset,
            "history": [asdict(m) for m in self.history],
        }


def resolve_device(device: str) -> torch.device:
    """``auto`` is CUDA when present, else the CPU; CUDA asked for where there is none is
    bad input."""
    if check_device(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SparseNASError(f"device {device!r} asked for, but this machine has no CUDA")
    return torch.device(device)


def length_buckets(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Shuffled mini-batch indices; each group of BUCKET_BATCHES batches is sorted by length
    first, so a batch holds sequences of similar length and little padding."""
    order = torch.randperm(len(lengths), generator=generator)
    chunk = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[torch.argsort(lengths[part], stable=True)]
        batches.extend(part.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffle]


def skip_epochs(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator, epochs: int
) -> None:
    """Advance a mini-batch stream by ``epochs`` epochs' draws, as if they had been trained
    (a network that starts ``batch_offset`` epochs into its seed's stream)."""
    for _ in range(epochs):
        length_buckets(lengths, batch_size, generator)


def evaluate(
    model: nn.Module, data: SequenceSet, device: torch.device, batch_size: int = 1024
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``data``."""
    model.eval()
    order = torch.argsort(data.lengths, stable=True)
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for index in order.split(batch_size):
            batch = data.subset(index)
            logits = model(batch.inputs.to(device), batch.lengths.to(device))
            labels = batch.labels.to(device)
            loss_sum += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(dim=1) == labels).sum())
    return loss_sum / len(data), correct / len(data)


def train_model(
    model: nn.Module,
    task: Task,
    spec: TrainSpec,
    *,
    seed: int = 0,
    batch_offset: int = 0,
    on_epoch: Callable[[EpochMetrics], bool | None] | None = None,
) -> TrainResult:
    """Train ``model`` on ``task.train``, validate on ``task.valid`` after every epoch and
    test on ``task.test`` once at the end.

    ``on_epoch`` sees each epoch's metrics; returning True stops the run (status ``stopped``),
    which is how a search's pruner ends unpromising candidates early. ``batch_offset``
    skips that many epochs of the mini-batch stream of ``seed`` first.
    """
    valid = task.validation
    device = resolve_device(spec.device)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr)
    generator = torch.Generator().manual_seed(seed)
    skip_epochs(task.train.lengths, spec.batch_size, generator, batch_offset)
    result = TrainResult(status=TrialStatus.OK, batch_offset=batch_offset)
    started = time.perf_counter()
    for epoch in range(1, spec.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for index in length_buckets(task.train.lengths, spec.batch_size, generator):
            batch = task.train.subset(index)
            labels = batch.labels.to(device)
            logits = model(batch.inputs.to(device), batch.lengths.to(device))
            loss = nn.functional.cross_entropy(logits, labels)
            if not torch.isfinite(loss):
                result.status = TrialStatus.DIVERGED
                result.reason = f"non-finite loss in epoch {epoch}"
                result.train_seconds = time.perf_counter() - started
                return result
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), spec.clip_norm)
            optimizer.step()
            loss_sum += float(loss.detach()) * len(index)
            correct += int((logits.argmax(dim=1) == labels).sum())
            seen += len(index)
        valid_loss, valid_acc = evaluate(model, valid, device)
        if not math.isfinite(valid_loss):
            result.status = TrialStatus.DIVERGED
            result.reason = f"non-finite validation loss in epoch {epoch}"
            result.train_seconds = time.perf_counter() - started
            return result
        metrics = EpochMetrics(
            epoch=epoch,
            train_loss=loss_sum / seen,
            train_acc=correct / seen,
            valid_loss=valid_loss,
            valid_acc=valid_acc,
            seconds=time.perf_counter() - epoch_start,
        )
        result.history.append(metrics)
        if on_epoch is not None and on_epoch(metrics):
            result.status, result.reason = TrialStatus.STOPPED, f"stopped after epoch {epoch}"
            break
    result.train_seconds = time.perf_counter() - started
    result.test_loss, result.test_acc = evaluate(model, task.test, device)
    return result
