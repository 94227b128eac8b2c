"""What the stack's recurrences read and give, as plain functions of a stack: per-parameter
views of its flat leaf, each global step's input (token ids, moved feature vectors and their
projection), the compiled loop's plan, and the read-out.

A candidate shifted by s layers (:mod:`models.engine.layout`) sees its step j at global
step j + s; before and after its sequence it is idle, reading the idle token (a zero
embedding) or a zero feature vector, so only the bias drives it there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from models.fused import FusedPlan, fused_kernel

if TYPE_CHECKING:
    from models.engine.layout import StackedSparseRNN


def layout_views(
    flat: torch.Tensor, layout: dict[str, tuple[int, tuple[int, ...]]]
) -> dict[str, torch.Tensor]:
    """(K, total) tensor in a stack's flat layout -> its per-parameter (K, *shape) views."""
    k = flat.shape[0]
    return {
        name: flat[:, offset : offset + math.prod(shape)].view(k, *shape)
        for name, (offset, shape) in layout.items()
    }


def fused_plan(
    stack: StackedSparseRNN, inputs: torch.Tensor, lengths: torch.Tensor, keep_for_backward: bool
) -> FusedPlan:
    """The compiled recurrence's edge lists, layers and this batch's token ids."""
    x_edges, x_count, h_edges, h_count = stack.edge_lists()
    total = stack.steps(inputs)
    ids = None
    if stack.uses_tokens:  # what token_ids computes, in one compiled pass
        kernel = fused_kernel()
        assert kernel is not None, "the compiled recurrence is not built"
        vocab = stack.layout["embedding"][1][0]
        ids = kernel.token_ids(inputs, stack.buffers["shift"], total, vocab)
    return FusedPlan(
        cell=stack.cell,
        lags=stack.lags,
        x_edges=x_edges,
        x_count=x_count,
        h_edges=h_edges,
        h_count=h_count,
        layer=stack.buffers["layer"].to(torch.int32).contiguous(),
        length=inputs.shape[2],
        last_time=(lengths - 1).contiguous(),
        ids=ids,
        keep_for_backward=keep_for_backward,
    )


def positions(
    stack: StackedSparseRNN, inputs: torch.Tensor, total: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per global step and candidate: whether it is idle (before or after its sequence)
    and which input position it reads."""
    steps = inputs.shape[2]
    local = torch.arange(total, device=inputs.device)[:, None] - stack.buffers["shift"]
    return (local < 0) | (local >= steps), local.clamp(0, steps - 1)  # (total, K)


def token_ids(stack: StackedSparseRNN, inputs: torch.Tensor, total: int) -> torch.Tensor:
    """(total, K, B) row of the token table each global step reads (V when idle)."""
    k, batch = inputs.shape[:2]
    idle, position = positions(stack, inputs, total)
    position = position.T[:, None, :].expand(k, batch, total)
    ids = inputs.gather(2, position).permute(2, 0, 1)
    vocab = stack.layout["embedding"][1][0]
    return torch.where(idle[:, :, None], vocab, ids).contiguous()


def moved_inputs(stack: StackedSparseRNN, inputs: torch.Tensor, total: int) -> torch.Tensor:
    """(K, B, T, F) feature vectors -> (K, total * B, F): the one each global step reads
    (zero while idle, so only the bias drives it there)."""
    k, batch, _, width = inputs.shape
    idle, position = positions(stack, inputs, total)
    position = position.T[:, None, :].expand(k, batch, total)
    moved = inputs.gather(2, position[..., None].expand(k, batch, total, width))
    moved = torch.where(idle.T[:, None, :, None], 0.0, moved).transpose(1, 2)
    return moved.reshape(k, total * batch, width)


def _with_idle_row(embedding: torch.Tensor) -> torch.Tensor:
    """(K, V, D) -> (K, V + 1, D): token V, the input of idle steps, embeds to zero."""
    k, _, width = embedding.shape
    return torch.cat([embedding, embedding.new_zeros(k, 1, width)], 1)


def token_table(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The embedding with its idle row (K, V + 1, D), and per token its projection plus bias
    (K, V + 1, G*N); row V, the idle input, is the bias alone. Formed token-major: MKL is much
    slower at the product with only V + 1 output columns (docs/history.md, Engine speed)."""
    rows = _with_idle_row(t["embedding"])
    return rows, torch.baddbmm(t["bias_x"][:, None, :], rows, t["weight_in"].transpose(1, 2))


def float_drive(
    moved: torch.Tensor, weight_in_t: torch.Tensor, bias_x: torch.Tensor, total: int
) -> torch.Tensor:
    """Every global step's input projection plus bias, (total, K, G*N, B), from the moved
    inputs (K, total * B, F) (:func:`moved_inputs`)."""
    k = moved.shape[0]
    drive = torch.baddbmm(bias_x, moved, weight_in_t)
    return drive.view(k, total, -1, drive.shape[2]).permute(1, 0, 3, 2).contiguous()


def readout(t: dict[str, torch.Tensor], last: torch.Tensor) -> torch.Tensor:
    """Last states (K, N, B) -> logits (K, B, C), as (K, C, N) x (K, N, B) products: the
    transposed operands of the (K, B, N) x (K, N, C) form take a slower path in PyTorch. The
    logits are made contiguous: ``argmax`` over the last dimension of the transposed view
    takes a slow path that cost far more than the copy (docs/history.md, Engine speed)."""
    logits = torch.bmm(t["readout_w"], last) + t["readout_b"][:, :, None]
    return logits.transpose(1, 2).contiguous()
