"""Continuous batching: networks join and leave one stack at epoch boundaries, each trained
exactly as if alone.

Independence is kept by construction: each candidate has its own weights, masks, mini-batch
stream, loss, gradient-norm clip and Adam state (with its own step count), so the summed loss
gives every candidate exactly the gradient it would get alone. Candidates are aligned on
epochs: after every epoch each one is validated and reported through a callback (which may
drop it); finished and dropped candidates are tested once, then leave the stack with the
diverged ones, and the stack shrinks accordingly. A candidate whose loss turns NaN/inf is
marked ``diverged``; its numbers never reach another candidate's slice. ``train_many``
stacks candidates in depth order (:func:`models.engine.planning.depth_groups`), as many as
fit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from core.checks import check_int
from core.status import TrialStatus
from graphs.dag import LayeredDAG
from models.allocator import keep_freed_memory
from models.data import SequenceSet, Task
from models.engine.layout import StackedSparseRNN
from models.engine.optimizer import StackedAdam
from models.engine.planning import auto_slots, depth_groups, stack_sizes
from models.engine.step import EpochSums, TrainStep, evaluate_batch
from models.fused import fused_kernel
from models.networks import SparseRNNClassifier
from models.training import (
    EpochMetrics,
    TrainResult,
    TrainSpec,
    length_buckets,
    resolve_device,
    skip_epochs,
)


@dataclass(frozen=True)
class Candidate:
    """One network to train: its DAG, weight-initialisation seed, mini-batch order seed and
    the caller's ``key`` (what callbacks receive)."""

    dag: LayeredDAG
    init_seed: int
    order_seed: int
    key: int


@dataclass
class _Slot:
    """One network's place in the stack and its own training state."""

    candidate: Candidate
    model: SparseRNNClassifier  # its initial module: the layout's source and the export target
    order: torch.Generator
    epoch: int = 0
    batches: list[torch.Tensor] = field(default_factory=list)
    result: TrainResult = field(default_factory=lambda: TrainResult(status=TrialStatus.OK))
    train_loss: float = math.nan
    train_acc: float = math.nan
    started: float = field(default_factory=time.perf_counter)


#: Called after every epoch of candidate ``index``; returning True drops the candidate.
EpochCallback = Callable[[int, EpochMetrics], "bool | None"]
#: Called at every epoch boundary with the number of free slots; returns up to that many
#: candidates to start now ([]: none for now).
Feed = Callable[[int], Sequence[Candidate]]
#: Called once per candidate when it leaves the stack: its key, result and (with
#: ``keep_models``, unless it diverged) its trained module.
EndCallback = Callable[[int, TrainResult, "SparseRNNClassifier | None"], None]


class StackError(RuntimeError):
    """Training the stack raised: ``keys`` are the candidates that were in it (their results
    are lost; the caller may train them again alone to find the culprit)."""

    def __init__(self, keys: list[int]) -> None:
        super().__init__(f"training a stack of {len(keys)} networks failed")
        self.keys = keys


def train_many(
    dags: Sequence[LayeredDAG],
    cell: str,
    task: Task,
    spec: TrainSpec,
    *,
    init_seeds: Sequence[int],
    order_seeds: Sequence[int],
    embedding_dim: int = 32,
    slots: int | None = None,
    on_epoch: EpochCallback | None = None,
    keep_models: bool = False,
) -> tuple[list[TrainResult], list[SparseRNNClassifier | None]]:
    """Train one Sparse-RNN per DAG; returns per-candidate results (in input order) and, with
    ``keep_models``, the trained modules (None for diverged ones).

    Candidate i starts from ``SparseRNNClassifier(dags[i], ..., seed=init_seeds[i],
    readout=spec.readout)`` and draws
    its mini-batches from ``order_seeds[i]``, exactly like ``train_model`` would; candidates
    sharing an order seed and starting together see the same batches, which avoids padding.
    Each stack of :func:`depth_groups` starts together and trains until all have ended.
    """
    count = len(dags)
    if count == 0:
        task.validation  # noqa: B018 (a task without one is refused even with no work)
        return [], []
    capacity = slots or auto_slots(dags, cell, task, spec.batch_size)
    results: list[TrainResult | None] = [None] * count
    models: list[SparseRNNClassifier | None] = [None] * count

    def keep(key: int, result: TrainResult, model: SparseRNNClassifier | None) -> None:
        results[key], models[key] = result, model

    for group in depth_groups(dags, capacity):
        pending = [Candidate(dags[i], init_seeds[i], order_seeds[i], i) for i in group]

        def feed(free: int, pending: list[Candidate] = pending) -> list[Candidate]:
            taken = pending[:free]
            del pending[:free]
            return taken

        train_stream(
            feed, cell, task, spec, slots=len(group), embedding_dim=embedding_dim,
            on_epoch=on_epoch, on_end=keep, keep_models=keep_models,
        )  # fmt: skip
    return [r for r in results if r is not None], models


def train_stream(
    feed: Feed,
    cell: str,
    task: Task,
    spec: TrainSpec,
    *,
    slots: int,
    embedding_dim: int = 32,
    on_epoch: EpochCallback | None = None,
    on_end: EndCallback | None = None,
    keep_models: bool = False,
) -> int:
    """Continuous batching: keep up to ``slots`` networks training in one stack, asking
    ``feed`` for new candidates at every epoch boundary where a slot is free, until the stack
    is empty and ``feed`` has none. Returns the number of epochs the stack ran.

    Every network trains exactly as alone (``train_model``) from ``init_seed`` on the
    mini-batch stream of ``order_seed`` started ``TrainResult.batch_offset`` epochs in: a
    network that joins after e epochs of the stack takes the stream's epoch e next, as the
    others of its seed do, so they share mini-batches. The stack is re-laid out (padding,
    layer shifts) whenever its members change; each keeps its weights and Adam state.

    Raises ``StackError`` (naming the networks in the stack) when training raises.
    """
    task.validation  # noqa: B018 (before any work: a task without one cannot be trained)
    check_int(slots, "slots", low=1)
    keep_freed_memory()  # per-batch buffers would otherwise page-fault afresh every batch
    device = resolve_device(spec.device)
    if device.type == "cpu":
        fused_kernel()  # built (once per machine) before any training time is counted
    stack: StackedSparseRNN | None = None
    optimizer: StackedAdam | None = None
    active: list[_Slot] = []
    streams: dict[int, tuple[int, torch.Generator]] = {}
    epoch = 0  # epochs the stack has run

    def build(candidate: Candidate) -> SparseRNNClassifier:
        return SparseRNNClassifier.for_task(
            candidate.dag,
            cell,
            task,
            embedding_dim=embedding_dim,
            seed=candidate.init_seed,
            readout=spec.readout,
        )

    def advance(generator: torch.Generator, epochs: int) -> None:
        skip_epochs(task.train.lengths, spec.batch_size, generator, epochs)

    while True:
        free = slots - len(active)
        joining = list(feed(free)) if free > 0 else []
        if len(joining) > free:
            raise ValueError(f"feed gave {len(joining)} networks for {free} free slots")
        if joining:
            new = [
                _Slot(c, build(c), _stream_at(streams, active, c.order_seed, epoch, advance))
                for c in joining
            ]
            for slot in new:
                slot.result.batch_offset = epoch
            stack, optimizer = _restack(stack, optimizer, active, new, spec, device)
            active += new
        if not active or stack is None or optimizer is None:
            return epoch
        active = _stack_epoch(
            stack, optimizer, active, task, spec, device, on_epoch, on_end, keep_models
        )
        epoch += 1
        if not active:
            stack, optimizer = None, None
        else:  # narrower padding once a wide or deep network has left
            stack, optimizer = _restack(stack, optimizer, active, [], spec, device)


def _stream_at(
    streams: dict[int, tuple[int, torch.Generator]],
    active: list[_Slot],
    seed: int,
    epoch: int,
    advance: Callable[[torch.Generator, int], None],
) -> torch.Generator:
    """A generator of ``seed``'s mini-batch stream positioned after ``epoch`` epochs: a copy
    of a member's of the same seed (all members stand at the stack's epoch), else of the
    cached stream, ``advance``-d by the epochs it lags."""
    source = next((s.order for s in active if s.candidate.order_seed == seed), None)
    if source is None:
        position, source = streams.get(seed, (0, torch.Generator().manual_seed(seed)))
        advance(source, max(0, epoch - position))
        streams[seed] = (max(position, epoch), source)
    return torch.Generator().set_state(source.get_state())


def _restack(
    stack: StackedSparseRNN | None,
    optimizer: StackedAdam | None,
    active: list[_Slot],
    new: list[_Slot],
    spec: TrainSpec,
    device: torch.device,
) -> tuple[StackedSparseRNN, StackedAdam]:
    """The stack of ``active`` (rows of ``stack``, in order) plus ``new`` candidates, padded to
    what they need now; the active ones keep their weights and Adam state."""
    slots = active + new
    sizes = stack_sizes([slot.candidate.dag for slot in slots])
    if stack is not None and optimizer is not None and not new and stack.sizes == sizes:
        return stack, optimizer
    fresh = StackedSparseRNN([slot.model for slot in slots], **sizes).to(device)
    adam = StackedAdam(fresh.parameters(), spec.lr, spec.clip_norm)
    if active and stack is not None and optimizer is not None:
        rows = len(active)
        with torch.no_grad():
            fresh.flat[:rows] = stack.relayout(stack.flat.detach(), fresh)
            for mine, theirs in zip(adam.exp_avg, optimizer.exp_avg, strict=True):
                mine[:rows] = stack.relayout(theirs, fresh)
            for mine, theirs in zip(adam.exp_avg_sq, optimizer.exp_avg_sq, strict=True):
                mine[:rows] = stack.relayout(theirs, fresh)
        adam.steps[:rows] = optimizer.steps
    fresh.requires_grad_()
    adam.params = fresh.parameters()
    return fresh, adam


@contextmanager
def _naming_the_stack(active: list[_Slot]) -> Iterator[None]:
    """Training errors become a ``StackError`` naming the stack's networks (the callbacks'
    errors, run outside this, stay what they are)."""
    try:
        yield
    except Exception as exc:
        raise StackError([slot.candidate.key for slot in active]) from exc


def _stack_epoch(
    stack: StackedSparseRNN,
    optimizer: StackedAdam,
    active: list[_Slot],
    task: Task,
    spec: TrainSpec,
    device: torch.device,
    on_epoch: EpochCallback | None,
    on_end: EndCallback | None,
    keep_models: bool,
) -> list[_Slot]:
    """One epoch of every network in the stack, its validation and callbacks; the ones that
    end are tested, handed to ``on_end`` and removed. Returns the networks that go on."""
    epoch_start = time.perf_counter()
    with _naming_the_stack(active):
        _train_epoch(stack, optimizer, active, task.train, spec, device)
        scores = _evaluate(stack, task.validation, device)
    kept, ending = [], []
    for row, slot in enumerate(active):
        result = slot.result
        loss, acc = scores[row]
        if result.status == TrialStatus.OK and not math.isfinite(loss):
            result.status = TrialStatus.DIVERGED
            result.reason = f"non-finite validation loss in epoch {slot.epoch}"
        if result.status == TrialStatus.OK:
            metrics = EpochMetrics(
                epoch=slot.epoch,
                train_loss=slot.train_loss,
                train_acc=slot.train_acc,
                valid_loss=loss,
                valid_acc=acc,
                seconds=time.perf_counter() - epoch_start,
            )
            result.history.append(metrics)
            if on_epoch is not None and on_epoch(slot.candidate.key, metrics):
                result.status = TrialStatus.STOPPED
                result.reason = f"stopped after epoch {slot.epoch}"
        if result.status == TrialStatus.OK and slot.epoch < spec.epochs:
            kept.append(row)
        else:
            ending.append(row)
    if not ending:
        return active
    tested = [row for row in ending if active[row].result.status != TrialStatus.DIVERGED]
    tests: dict[int, tuple[float, float]] = {}
    if tested:  # once per network, before its slot is freed
        rows = torch.tensor(tested, device=device)
        part = stack if len(tested) == len(active) else stack.rows(rows)
        with _naming_the_stack(active):
            tests = dict(zip(tested, _evaluate(part, task.test, device), strict=True))
    for row in ending:
        slot = active[row]
        result = slot.result
        result.train_seconds = time.perf_counter() - slot.started
        if row in tests:
            result.test_loss, result.test_acc = tests[row]
        model = None
        if keep_models and result.status != TrialStatus.DIVERGED:
            model = stack.export(row, slot.model)
        if on_end is not None:
            on_end(slot.candidate.key, result, model)
    keep = torch.tensor(kept, dtype=torch.long, device=device)
    stack.keep(keep)
    stack.requires_grad_()
    optimizer.keep(keep, stack.parameters())
    return [active[row] for row in kept]


def _train_epoch(
    stack: StackedSparseRNN,
    optimizer: StackedAdam,
    slots: list[_Slot],
    data: SequenceSet,
    spec: TrainSpec,
    device: torch.device,
) -> None:
    """One epoch for every slot; each slot walks its own mini-batch order."""
    _epoch_batches(slots, data, spec.batch_size)
    live = torch.tensor([s.result.status == TrialStatus.OK for s in slots], device=device)
    sums = EpochSums(len(slots))
    step = TrainStep(stack, optimizer)
    for position in range(len(slots[0].batches)):
        inputs, lengths, labels, weight = _batch(data, [s.batches[position] for s in slots], device)
        for row in step(inputs, lengths, labels, weight, live, sums):
            slots[row].result.status = TrialStatus.DIVERGED
            slots[row].result.reason = f"non-finite loss in epoch {slots[row].epoch}"
    for row, slot in enumerate(slots):
        slot.train_loss = float(sums.loss[row] / sums.seen[row])
        slot.train_acc = float(sums.correct[row] / sums.seen[row])


def _epoch_batches(slots: list[_Slot], data: SequenceSet, batch_size: int) -> None:
    """Each slot's mini-batches for its next epoch, drawn from its own stream. Slots whose
    streams stand at the same state (networks sharing a training seed and batch offset: a
    search's whole stack, as a rule) would draw the same batches: those are drawn once,
    shared, and every such stream is advanced to the state the draw left."""
    drawn: dict[bytes, tuple[list[torch.Tensor], torch.Tensor]] = {}
    for slot in slots:
        slot.epoch += 1
        state = slot.order.get_state()
        key = state.numpy().tobytes()
        if key in drawn:
            slot.batches, after = drawn[key]
            slot.order.set_state(after)
        else:
            slot.batches = length_buckets(data.lengths, batch_size, slot.order)
            drawn[key] = (slot.batches, slot.order.get_state())


@torch.no_grad()
def _evaluate(
    stack: StackedSparseRNN, data: SequenceSet, device: torch.device
) -> list[tuple[float, float]]:
    """Mean loss and accuracy of every stacked network on the shared ``data``."""
    k = stack.flat.shape[0]
    order = torch.argsort(data.lengths, stable=True)
    loss_sum = torch.zeros(k, dtype=torch.float64)
    correct = torch.zeros(k, dtype=torch.long)
    for index in order.split(1024):
        batch = data.subset(index)
        inputs = batch.inputs.to(device).expand(k, *batch.inputs.shape)
        lengths = batch.lengths.to(device).expand(k, -1)
        labels = batch.labels.to(device).expand(k, -1)
        evaluate_batch(stack, inputs, lengths, labels, loss_sum, correct)
    return [(float(loss_sum[row]) / len(data), int(correct[row]) / len(data)) for row in range(k)]


def _batch(data: SequenceSet, rows: list[torch.Tensor], device: torch.device):
    """Stack one mini-batch per slot, padded to a common size; pad rows weigh zero. When
    every slot reads the same mini-batch (one stream, see :func:`_epoch_batches`), it is
    gathered once and the slots get views of it."""
    if all(r is rows[0] for r in rows):
        k, index = len(rows), rows[0]
        lengths = data.lengths[index]
        inputs = data.inputs[index, : int(lengths.max())]
        return (
            inputs.to(device).expand(k, *inputs.shape),
            lengths.to(device).expand(k, -1),
            data.labels[index].to(device).expand(k, -1),
            torch.ones(k, len(index), device=device),
        )
    index = nn.utils.rnn.pad_sequence(rows, batch_first=True)  # pad rows read string 0
    counts = torch.tensor([len(r) for r in rows])
    weight = (torch.arange(index.shape[1]) < counts[:, None]).float()  # (K, B): 1 for real rows
    lengths = data.lengths[index]
    steps = int(lengths.max())
    inputs = data.inputs[index, :steps]
    return (
        inputs.to(device),
        lengths.to(device),
        data.labels[index].to(device),
        weight.to(device),
    )
