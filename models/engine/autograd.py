"""The stack's forward pass and its gradients, on either recurrence.

On the CPU, wherever the compiled loop of :mod:`models.fused` builds, the whole stack is one
autograd function (:class:`_FusedStack`) differentiated by hand. Elsewhere the PyTorch
recurrence (:class:`models.recurrence.WavefrontRecurrence`, batched dense products over
(source, lag) pairs) runs on per-parameter views of the flat leaf (:class:`_Unflatten`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from models.engine.drive import (
    float_drive,
    fused_plan,
    layout_views,
    moved_inputs,
    readout,
    token_ids,
    token_table,
)
from models.fused import fused_kernel, recurrence_backward, recurrence_forward
from models.recurrence import Wavefront, WavefrontRecurrence, pair_offsets

if TYPE_CHECKING:
    from models.engine.layout import StackedSparseRNN


def stack_forward(
    stack: StackedSparseRNN, inputs: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    """inputs (K, B, T) token ids or (K, B, T, F) floats, lengths (K, B) -> (K, B, C)."""
    if inputs.device.type == "cpu" and fused_kernel() is not None:
        keep = torch.is_grad_enabled() and stack.flat.requires_grad  # a backward can follow
        return _FusedStack.apply(stack.flat, stack, inputs, lengths, keep)
    views = _Unflatten.apply(stack.flat, stack.buffers["flat_mask"], stack.layout)
    t = {**stack.buffers, **dict(zip(stack.layout, views, strict=True))}
    return readout(t, _portable(stack, t, inputs, lengths))


def _portable(
    stack: StackedSparseRNN,
    t: dict[str, torch.Tensor],
    inputs: torch.Tensor,
    lengths: torch.Tensor,
) -> torch.Tensor:
    """The PyTorch recurrence (models.recurrence): dense products over (source, lag)
    pairs, for devices and machines without the compiled kernel. Returns the last states
    (K, N, B)."""
    total = stack.steps(inputs)
    weight_in_t = t["weight_in"].transpose(1, 2)
    bias_x = t["bias_x"][:, None, :]
    k = inputs.shape[0]
    weight_x = t["weight_x"]
    pair_source = t["pair_source"][:, None, :].expand(k, weight_x.shape[1], stack.pairs)
    weight_pairs = weight_x.gather(2, pair_source) * t["pair_mask"]  # (K, G*N, P)
    if stack.uses_tokens:
        table = token_table(t)[1]
        rows = table.shape[1]
        ids = token_ids(stack, inputs, total)
        ids = ids + torch.arange(k, device=ids.device).view(1, k, 1) * rows
        drive = nn.functional.embedding(ids, table.reshape(k * rows, -1))
        drive = drive.transpose(2, 3).contiguous()
    else:
        drive = float_drive(moved_inputs(stack, inputs, total), weight_in_t, bias_x, total)
    steps_started = torch.arange(stack.layers - 1, device=inputs.device)[:, None, None]
    started = (t["layer"][None, :, :] <= steps_started).float()  # (L - 1, K, N)
    wave = Wavefront(
        cell=stack.cell,
        base=pair_offsets(t["pair_source"], t["pair_lag"], stack.neurons, stack.lags),
        started=started[..., None],
        layer=t["layer"],
        last_time=lengths - 1,
        lags=stack.lags,
        keep_for_backward=torch.is_grad_enabled(),
    )
    return WavefrontRecurrence.apply(
        drive,
        weight_pairs,
        t["weight_h"],
        t["bias_h"][:, :, None],
        wave,
    )


class _FusedStack(torch.autograd.Function):
    """The stack on the compiled recurrence: flat leaf -> logits (K, B, C), differentiated
    by hand in one step. Recorded operation by operation (per-parameter views, token table,
    read-out, copies), autograd's bookkeeping around the compiled call was a share of every
    batch worth removing (docs/history.md, Engine speed); here the token table, the read-out
    and their gradients are compiled calls too (each small framework operation was a dispatch
    and, on two threads, a fork and join), and the gradients are written straight into one
    masked (K, total) tensor."""

    @staticmethod
    def forward(ctx, flat, stack: StackedSparseRNN, inputs, lengths, keep: bool):  # noqa: D102
        kernel = fused_kernel()
        t = layout_views(flat, stack.layout)
        plan = fused_plan(stack, inputs, lengths, keep)
        if stack.uses_tokens:  # (K, G*N, V + 1): the kernel reads a token's column
            rows = None
            source = kernel.token_table(t["embedding"], t["weight_in"], t["bias_x"])
        else:
            total = stack.steps(inputs)
            rows = moved_inputs(stack, inputs, total)
            source = float_drive(
                rows, t["weight_in"].transpose(1, 2), t["bias_x"][:, None, :], total
            )
        last, saved = recurrence_forward(
            plan,
            source,
            t["weight_x"].contiguous(),
            t["weight_h"].contiguous(),
            t["bias_h"].contiguous(),
        )
        if saved is not None:
            ctx.save_for_backward(flat)
            ctx.layout, ctx.mask = stack.layout, stack.buffers["flat_mask"]
            ctx.recurrence, ctx.rows, ctx.last = saved, rows, last
        return kernel.readout(last, t["readout_w"], t["readout_b"])

    @staticmethod
    def backward(ctx, grad_logits):  # noqa: D102
        (flat,) = ctx.saved_tensors
        t = layout_views(flat, ctx.layout)
        grad = torch.empty_like(flat)
        g = layout_views(grad, ctx.layout)
        kernel = fused_kernel()
        grad_last = kernel.readout_backward(  # fills the read-out's gradients
            grad_logits.contiguous(), t["readout_w"], ctx.last, g["readout_w"], g["readout_b"]
        )
        grad_source, grad_wx, grad_wh, grad_bh = recurrence_backward(ctx.recurrence, grad_last)
        g["weight_x"].copy_(grad_wx)
        g["weight_h"].copy_(grad_wh)
        g["bias_h"].copy_(grad_bh)
        if "embedding" in g:  # grad_source: the token table's, (K, G*N, V + 1)
            kernel.token_table_backward(
                grad_source.transpose(1, 2).contiguous(), t["embedding"], t["weight_in"],
                g["bias_x"], g["weight_in"], g["embedding"],
            )  # fmt: skip
        else:  # grad_source: the drive's, (total, K, G*N, B)
            k, rows = grad_source.shape[1], ctx.rows.shape[1]
            per_row = grad_source.permute(1, 0, 3, 2).reshape(k, rows, -1)
            g["bias_x"].copy_(per_row.sum(1))
            g["weight_in"].copy_(torch.bmm(per_row.transpose(1, 2), ctx.rows))
        return grad.mul_(ctx.mask), None, None, None, None


class _Unflatten(torch.autograd.Function):
    """(K, total) flat leaf -> its per-parameter views. The backward joins their gradients
    into one masked (K, total) tensor: one concatenation and one multiply, where slicing
    the leaf would zero-fill a (K, total) tensor per parameter."""

    @staticmethod
    def forward(ctx, flat, mask, layout):  # noqa: D102
        ctx.save_for_backward(mask)
        return tuple(layout_views(flat, layout).values())

    @staticmethod
    def backward(ctx, *grads):  # noqa: D102
        (mask,) = ctx.saved_tensors
        k = mask.shape[0]
        return torch.cat([g.reshape(k, -1) for g in grads], 1).mul_(mask), None, None
