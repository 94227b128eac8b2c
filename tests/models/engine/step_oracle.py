"""The fused training step's oracle: the same stack trained a few batches by the fused step
(one compiled call per batch) and by the PyTorch step on the PyTorch recurrence (the
stack's forward, ``cross_entropy``, autograd and ``StackedAdam``, no compiled code at all),
then every parameter, Adam moment and step count, the live flags and the epoch's sums
compared after each batch.

Batches are ragged twice over: sequence lengths 1..T per row, and per network a count of
real rows (the rest are pad rows of weight zero, as a stack of networks with different
mini-batches pads them).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from conftest import KERNEL_USERS
from engine_oracle import CLIP, LR, VOCAB, assert_equal, batches, build, small_dags

from models.engine import StackedAdam
from models.engine.drive import layout_views
from models.engine.step import EpochSums, TrainStep

BATCHES = 3


@dataclass
class Snapshot:
    """What one batch leaves behind."""

    params: dict[str, torch.Tensor]
    exp_avg: dict[str, torch.Tensor]
    exp_avg_sq: dict[str, torch.Tensor]
    steps: torch.Tensor
    live: torch.Tensor
    loss: torch.Tensor
    correct: torch.Tensor
    seen: torch.Tensor
    stopped: list[int]


def padded_batch(
    k: int, batch: int, tokens: bool, seed: int, dtype: torch.dtype, vocab: int = VOCAB
):
    """``batches``' inputs, lengths and labels (even seeds: 3 steps long, not 5), and row
    weights (K, B): network c's first count[c] rows are real (at least one), the others pad
    rows of weight zero."""
    inputs, lengths, labels = batches(k, batch, tokens, seed, dtype, vocab)
    if seed % 2 == 0:  # short, long, short: the reused buffers grow, then shrink
        lengths = lengths.clamp(max=3)
        inputs = inputs[:, :, :3]
    generator = torch.Generator().manual_seed(100 + seed)
    counts = torch.randint(1, batch + 1, (k,), generator=generator)
    weight = (torch.arange(batch) < counts[:, None]).float()
    return inputs, lengths, labels, weight


def run(
    cell: str,
    k: int,
    tokens: bool,
    dtype: torch.dtype,
    fused: bool,
    batch: int = 9,
    poison: int | None = None,
    vocab: int = VOCAB,
) -> list[Snapshot]:
    """``BATCHES`` batches of a fresh stack on one step; ``poison``: a network whose read-out
    bias is set to infinity first (its loss is not finite: it must stop, untouched)."""
    _, stack = build(small_dags(k), cell, tokens, dtype, vocab)
    if poison is not None:
        with torch.no_grad():
            layout_views(stack.flat, stack.layout)["readout_b"][poison] = float("inf")
    adam = StackedAdam(stack.parameters(), LR, CLIP)
    step = TrainStep(stack, adam, fused=fused)
    live = torch.ones(k, dtype=torch.bool)
    sums = EpochSums(k)
    snapshots = []
    for seed in range(BATCHES):
        stopped = step(*padded_batch(k, batch, tokens, seed, dtype, vocab), live, sums)

        def views(flat: torch.Tensor) -> dict[str, torch.Tensor]:
            return {n: v.clone() for n, v in layout_views(flat.detach(), stack.layout).items()}

        snapshots.append(
            Snapshot(
                views(stack.flat),
                views(adam.exp_avg[0]),
                views(adam.exp_avg_sq[0]),
                adam.steps.clone(),
                live.clone(),
                sums.loss.clone(),
                sums.correct.clone(),
                sums.seen.clone(),
                stopped,
            )  # fmt: skip
        )
    return snapshots


def oracle(cell, k, tokens, dtype, monkeypatch: pytest.MonkeyPatch, **kwargs) -> list[Snapshot]:
    """``run`` on the PyTorch step with every compiled call switched off."""
    with monkeypatch.context() as patch:
        for module in KERNEL_USERS:
            patch.setattr(module, "fused_kernel", lambda: None)
        return run(cell, k, tokens, dtype, fused=False, **kwargs)


def assert_fused_step_matches(
    cell: str,
    k: int,
    tokens: bool,
    dtype: torch.dtype,
    monkeypatch: pytest.MonkeyPatch,
    **kwargs,
) -> None:
    """The fused step against the PyTorch one, batch by batch (1e-5 relative in double
    precision, 1e-4 in single: see engine_oracle)."""
    expected = oracle(cell, k, tokens, dtype, monkeypatch, **kwargs)
    got = run(cell, k, tokens, dtype, fused=True, **kwargs)
    rows = [row for row in range(k) if row != kwargs.get("poison")]  # the poisoned: NaN
    for batch, (mine, theirs) in enumerate(zip(got, expected, strict=True)):
        for part in ("params", "exp_avg", "exp_avg_sq"):
            for name, value in getattr(theirs, part).items():
                what = f"batch {batch} {part} {name}"
                assert_equal(getattr(mine, part)[name][rows], value[rows], what)
        what = f"batch {batch} loss sums"
        assert_equal(mine.loss[rows].to(dtype), theirs.loss[rows].to(dtype), what)
        assert torch.equal(mine.steps, theirs.steps), f"batch {batch} Adam's step counts"
        assert torch.equal(mine.live, theirs.live), f"batch {batch} live"
        assert torch.equal(mine.correct, theirs.correct), f"batch {batch} correct rows"
        assert torch.equal(mine.seen, theirs.seen), f"batch {batch} rows seen"
        assert mine.stopped == theirs.stopped, f"batch {batch} stopped networks"
