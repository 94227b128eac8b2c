"""One training batch of a stack: forward, each network's loss, backward and clipped Adam.

Two paths with one contract. The fused step (the compiled kernel's ``train_step``) does the
whole batch in one call, with no Python and no autograd inside it: the PyTorch step around
the compiled forward and backward spent about 40 % of an epoch in small framework operations
(issue 31). The PyTorch step (the stack's forward, ``cross_entropy``, autograd, then
:class:`models.engine.optimizer.StackedAdam`) is the fallback where the kernel does not build,
and the oracle the fused step is tested against. ``SPARSE_NAS_STEP=torch`` asks for it even
where the kernel builds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from models.engine.drive import layout_views
from models.engine.layout import StackedSparseRNN
from models.engine.optimizer import ADAM_BETAS, ADAM_EPS, StackedAdam
from models.fused import CELL_IDS, fused_kernel

#: Set to "torch" to train with the PyTorch step even where the fused one builds.
STEP_ENV = "SPARSE_NAS_STEP"


@dataclass
class EpochSums:
    """Per network, over an epoch's batches: loss times rows, correct rows and rows (pad
    rows weigh zero)."""

    k: int
    loss: torch.Tensor = field(init=False)
    correct: torch.Tensor = field(init=False)
    seen: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.loss = torch.zeros(self.k, dtype=torch.float64)
        self.correct = torch.zeros(self.k, dtype=torch.long)
        self.seen = torch.zeros(self.k, dtype=torch.long)


def fused_step_enabled() -> bool:
    """Whether CPU stacks train on the fused step: the kernel built and the PyTorch step not
    asked for (``SPARSE_NAS_STEP=torch``)."""
    wanted = os.environ.get(STEP_ENV, "").strip().lower() != "torch"
    return wanted and fused_kernel() is not None


def fused_step_available(stack: StackedSparseRNN) -> bool:
    """Whether the fused step will run for ``stack``: a CPU stack, and it is enabled."""
    return stack.flat.device.type == "cpu" and fused_step_enabled()


class TrainStep:
    """Trains one stack batch by batch, on the fused step by default where it runs
    (``fused=False`` forces the PyTorch step; ``fused=True`` refuses to run without it).

    Made once per stack and epoch: the stack's layout and the optimizer's tensors stay put
    within an epoch, so the parameter views, the gradient buffer and the recurrence's state
    and activation buffers are made once here and reused by every batch.
    """

    def __init__(
        self, stack: StackedSparseRNN, optimizer: StackedAdam, fused: bool | None = None
    ) -> None:
        # the compiled step updates the optimizer's one flat leaf (StackedSparseRNN's)
        available = fused_step_available(stack) and len(optimizer.params) == 1
        if fused and not available:
            raise RuntimeError("the fused training step is not available here")
        self.stack, self.optimizer = stack, optimizer
        self.fused = available if fused is None else fused
        if self.fused:
            self.kernel = fused_kernel()
            self.grad = torch.zeros_like(stack.flat, requires_grad=False)
            self.params = _kernel_views(stack.flat.detach(), stack)
            self.grads = _kernel_views(self.grad, stack)
            self.edges = stack.edge_lists()
            self.layer = stack.buffers["layer"].to(torch.int32).contiguous()
            # the recurrence's states, activations and LSTM cells, resized by every batch
            self.workspace = [stack.flat.new_empty(0) for _ in range(3)]

    def __call__(
        self,
        inputs: torch.Tensor,
        lengths: torch.Tensor,
        labels: torch.Tensor,
        weight: torch.Tensor,
        live: torch.Tensor,
        sums: EpochSums,
    ) -> list[int]:
        """One batch (inputs (K, B, T[, F]), lengths, labels and row weights (K, B)) for every
        network: the live ones (``live`` (K,) bool) are updated; all add to ``sums``. A live
        network whose loss is not finite gets no update and is no longer live (``live`` is
        changed in place); returns those networks' rows."""
        if self.fused:
            return self._fused(inputs, lengths, labels, weight, live, sums)
        return self._torch(inputs, lengths, labels, weight, live, sums)

    def _fused(self, inputs, lengths, labels, weight, live, sums) -> list[int]:
        stack, adam = self.stack, self.optimizer
        before = live.clone()
        stopped = self.kernel.train_step(
            CELL_IDS[stack.cell], stack.lags, stack.layers, inputs, stack.buffers["shift"],
            lengths, labels, weight, *self.edges, self.layer, self.params, self.grads,
            stack.flat.detach(), self.grad, stack.buffers["flat_mask"], adam.exp_avg[0],
            adam.exp_avg_sq[0], adam.steps, live, sums.loss, sums.correct, sums.seen,
            self.workspace, adam.lr, adam.clip_norm, *ADAM_BETAS, ADAM_EPS,
        )  # fmt: skip
        if not stopped:
            return []
        return torch.nonzero(before & ~live).flatten().tolist()

    def _torch(self, inputs, lengths, labels, weight, live, sums) -> list[int]:
        stack = self.stack
        k = live.shape[0]
        logits = stack.forward(inputs, lengths)
        losses = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none"
        ).view(k, -1)
        per_slot = (losses * weight).sum(1) / weight.sum(1)
        finite = torch.isfinite(per_slot.detach())
        stopped = torch.nonzero(live & ~finite).flatten().tolist()
        live &= finite
        for param in stack.parameters():
            param.grad = None
        torch.where(live, per_slot, 0.0).sum().backward()
        self.optimizer.step(live)
        with torch.no_grad():
            sums.loss += (per_slot.detach() * weight.sum(1)).double().cpu()
            hits = (logits.argmax(-1) == labels).float() * weight
            sums.correct += hits.sum(1).long().cpu()
            sums.seen += weight.sum(1).long().cpu()
        return stopped


@torch.no_grad()
def evaluate_batch(
    stack: StackedSparseRNN,
    inputs: torch.Tensor,
    lengths: torch.Tensor,
    labels: torch.Tensor,
    loss_sum: torch.Tensor,
    correct: torch.Tensor,
    fused: bool | None = None,
) -> None:
    """Adds each network's summed loss (K,) float64 and correct rows (K,) int64 of one
    evaluation batch to ``loss_sum`` and ``correct``: one compiled call that keeps no
    activations where the fused step runs (``fused=None``: where available), else the
    stack's forward and ``cross_entropy``."""
    if fused if fused is not None else fused_step_available(stack):
        fused_kernel().evaluate_step(  # type: ignore[union-attr]
            CELL_IDS[stack.cell], stack.lags, stack.layers, inputs, stack.buffers["shift"],
            lengths, labels, *stack.edge_lists(),
            stack.buffers["layer"].to(torch.int32).contiguous(),
            _kernel_views(stack.flat.detach(), stack), loss_sum, correct,
        )  # fmt: skip
        return
    k = stack.flat.shape[0]
    logits = stack.forward(inputs, lengths)
    losses = nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none"
    ).view(k, -1)
    loss_sum += losses.double().sum(1).cpu()
    correct += (logits.argmax(-1) == labels).sum(1).cpu()


def _kernel_views(flat: torch.Tensor, stack: StackedSparseRNN) -> list[torch.Tensor]:
    """``flat``'s per-parameter views in the order the kernel's steps take them (an empty
    tensor for the embedding of real inputs)."""
    views = layout_views(flat, stack.layout)
    empty = flat.new_empty(0)
    return [views.get(name, empty) for name in StackedSparseRNN.PARAMS]
