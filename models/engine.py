"""Train many Sparse-RNNs at once, each exactly as if it were trained alone.

K candidate networks share one program: their weights are stacked into (K, ...) tensors padded
to a common neuron count (the trainable ones in one flat leaf, so the optimizer's update is
a handful of operations), and the recurrence runs on the wavefront schedule of
:mod:`models.sparse_rnn`: by the compiled loop of :mod:`models.fused` (one multiply-add per
edge, fused cell math, all K candidates in one call) wherever it builds, else by
:class:`models.recurrence.WavefrontRecurrence` (batched dense products, hand-written
backward). Tiny networks are all overhead on a CPU, so sharing each call between K networks
is where the rest of the speed comes from.

Independence is kept by construction: each candidate has its own weights, masks, mini-batch
stream, loss, gradient-norm clip and Adam state (with its own step count), so the summed loss
gives every candidate exactly the gradient it would get alone. Candidates are aligned on
epochs: after every epoch each one is validated and reported through a callback (which may
drop it); finished and dropped candidates are tested once, then leave the stack with the
diverged ones, and the stack shrinks accordingly.
Candidates are stacked in depth order (:func:`depth_groups`), as many as fit.
A candidate whose loss turns NaN/inf is marked ``diverged``; its numbers never reach another
candidate's slice.

Layout: candidate c with L_c layers is shifted so its last layer is the global last layer
(layer l runs at global step t + l + L - L_c), which makes the readout step the same for all.
Padded neurons have zero weights and biases, so their state stays exactly zero.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from core.checks import check_int
from graphs.dag import LayeredDAG
from models.allocator import keep_freed_memory
from models.cells import GATES
from models.data import SequenceSet, Task
from models.fused import (
    FusedPlan,
    edge_list,
    fused_kernel,
    recurrence_backward,
    recurrence_forward,
)
from models.networks import SparseRNNClassifier
from models.recurrence import Wavefront, WavefrontRecurrence, pair_offsets
from models.training import (
    EpochMetrics,
    TrainResult,
    TrainSpec,
    length_buckets,
    resolve_device,
    skip_epochs,
)

#: Called after every epoch of candidate ``index``; returning True drops the candidate.
EpochCallback = Callable[[int, EpochMetrics], "bool | None"]
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
#: Share of the available memory the automatic slot count may plan for.
MEMORY_SHARE = 0.25
MAX_AUTO_SLOTS = 64


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
    result: TrainResult = field(default_factory=lambda: TrainResult(status="ok"))
    train_loss: float = math.nan
    train_acc: float = math.nan
    started: float = field(default_factory=time.perf_counter)


#: Flat parameters whose rows are gate blocks of the padded neurons, and those whose last
#: dimension is the padded neurons.
_GATE_ROWS = frozenset({"weight_in", "weight_x", "weight_h", "bias_x", "bias_h"})
_NEURON_COLUMNS = frozenset({"weight_x", "weight_h", "readout_w"})


def _layout_views(
    flat: torch.Tensor, layout: dict[str, tuple[int, tuple[int, ...]]]
) -> dict[str, torch.Tensor]:
    """(K, total) tensor in a stack's flat layout -> its per-parameter (K, *shape) views."""
    k = flat.shape[0]
    return {
        name: flat[:, offset : offset + math.prod(shape)].view(k, *shape)
        for name, (offset, shape) in layout.items()
    }


def _fit(values: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """``values`` cut or zero-padded to ``size`` along ``dim``."""
    have = values.shape[dim]
    if have >= size:
        return values.narrow(dim, 0, size)
    shape = list(values.shape)
    shape[dim] = size - have
    return torch.cat([values, values.new_zeros(shape)], dim)


def _pad_gate_rows(weight: torch.Tensor, gates: int, n: int, width: int) -> torch.Tensor:
    """(G*n, cols) -> (G*width, cols): each gate block padded from n to ``width`` rows."""
    cols = weight.shape[1:]
    blocks = weight.reshape(gates, n, *cols)
    padded = weight.new_zeros(gates, width, *cols)
    padded[:, :n] = blocks
    return padded.reshape(gates * width, *cols)


def _pad_cols(weight: torch.Tensor, width: int) -> torch.Tensor:
    padded = weight.new_zeros(*weight.shape[:-1], width)
    padded[..., : weight.shape[-1]] = weight
    return padded


class StackedSparseRNN:
    """K Sparse-RNN classifiers of one cell as stacked tensors; see the module docstring.

    ``models`` supply each candidate's initial weights (a SparseRNNClassifier per candidate,
    so a candidate's start is identical to training it alone). ``neurons``, ``layers``,
    ``lags`` and ``pairs`` are the padded sizes (at least each candidate's own; see
    :func:`stack_sizes`).

    The compiled recurrence reads the masks as edge lists (:meth:`_edge_lists`). The PyTorch
    one reads edges through (source, lag) pairs: each candidate lists the (neuron, lag) pairs
    some edge of it reads, padded to the stack's largest count, so its per-step product costs
    (pairs x gates*neurons) instead of (lags*neurons x gates*neurons).
    """

    PARAMS = ("embedding", "weight_in", "weight_x", "weight_h", "bias_x", "bias_h")
    PARAMS += ("readout_w", "readout_b")

    def __init__(
        self,
        models: Sequence[SparseRNNClassifier],
        neurons: int,
        layers: int,
        lags: int,
        pairs: int,
    ) -> None:
        first = models[0]
        self.cell = first.rnn.cell
        self.gates = GATES[self.cell]
        self.neurons, self.layers, self.lags, self.pairs = neurons, layers, lags, pairs
        self.uses_tokens = first.embedding is not None
        stacks = [self._slot_tensors(model) for model in models]
        stacked = {
            name: torch.stack([one[name] for one in stacks])  # type: ignore[misc]
            for name, value in stacks[0].items()
            if value is not None
        }
        # All trainable tensors live in one (K, total) leaf, so the optimizer's per-candidate
        # update is a dozen operations on one tensor instead of a dozen per parameter.
        names = [name for name in self.PARAMS if name in stacked]
        self.layout: dict[str, tuple[int, tuple[int, ...]]] = {}
        offset = 0
        for name in names:
            self.layout[name] = (offset, tuple(stacked[name].shape[1:]))
            offset += stacked[name][0].numel()
        k = len(models)
        self.flat = torch.cat([stacked.pop(name).reshape(k, -1) for name in names], 1)
        self.buffers = stacked
        # Which flat entries are real weights. The ones off the graph or in the padding start
        # at zero and get zero gradient (masked in the backward of _Unflatten), so Adam leaves
        # them at zero and the forward needs no weight * mask.
        self.buffers["flat_mask"] = self._flat_mask(k)
        self.flat.mul_(self.buffers["flat_mask"])
        self._edges: tuple[torch.Tensor, ...] | None = None

    def _slot_tensors(self, model: SparseRNNClassifier) -> dict[str, torch.Tensor | None]:
        """One candidate's weights and masks in the padded, shifted slot layout."""
        rnn, g, width = model.rnn, self.gates, self.neurons
        n = rnn.n_neurons
        shift = self.layers - len(rnn.layer_bounds)
        last_start, last_end = rnn.layer_bounds[-1]
        with torch.no_grad():
            masks = {
                name: getattr(rnn.parametrizations, name)[0].mask
                for name in ("weight_in", "weight_x", "weight_h")
            }
            neuron_valid = torch.zeros(width)
            neuron_valid[:n] = 1.0
            readout_valid = torch.zeros(width)
            readout_valid[last_start:last_end] = 1.0
            readout_w = model.readout.weight.new_zeros(model.readout.out_features, width)
            readout_w[:, last_start:last_end] = model.readout.weight
            layer = torch.full((width,), self.layers + 1)  # padded neurons never start
            layer[:n] = rnn.layer_of_neuron + shift
            # (lag, source) pairs that some edge reads (lag d is lag_masks[d-1]); padding
            # columns read neuron 0 one step back through zero weights.
            lag_index, source = torch.nonzero(rnn.lag_masks.any(dim=1), as_tuple=True)
            used = len(source)
            pair_source = torch.zeros(self.pairs, dtype=torch.long)
            pair_source[:used] = source
            pair_lag = torch.ones(self.pairs, dtype=torch.long)
            pair_lag[:used] = lag_index + 1
            pair_mask = torch.zeros(g * width, self.pairs)
            pair_mask[:, :used] = _pad_gate_rows(rnn.lag_masks[lag_index, :, source].T, g, n, width)
            return {
                "embedding": model.embedding.weight.clone() if model.embedding else None,
                "weight_in": _pad_gate_rows(rnn.weight_in, g, n, width),
                "weight_x": _pad_cols(_pad_gate_rows(rnn.weight_x, g, n, width), width),
                "weight_h": _pad_cols(_pad_gate_rows(rnn.weight_h, g, n, width), width),
                "bias_x": _pad_gate_rows(rnn.bias_x[:, None], g, n, width)[:, 0],
                "bias_h": _pad_gate_rows(rnn.bias_h[:, None], g, n, width)[:, 0],
                "readout_w": readout_w,
                "readout_b": model.readout.bias.clone(),
                "mask_in": _pad_gate_rows(masks["weight_in"], g, n, width),
                "mask_x": _pad_cols(_pad_gate_rows(masks["weight_x"], g, n, width), width),
                "mask_h": _pad_cols(_pad_gate_rows(masks["weight_h"], g, n, width), width),
                "mask_bias": neuron_valid.repeat(g),
                "mask_readout": readout_valid,
                "pair_source": pair_source,
                "pair_lag": pair_lag,
                "pair_mask": pair_mask,
                "layer": layer,
                "shift": torch.tensor(shift),
            }

    def _flat_mask(self, k: int) -> torch.Tensor:
        """(K, total) 1 where the flat leaf holds a trainable weight, 0 where it must stay 0."""
        b = self.buffers
        masks = {
            "weight_in": b["mask_in"],
            "weight_x": b["mask_x"],
            "weight_h": b["mask_h"],
            "bias_x": b["mask_bias"],
            "bias_h": b["mask_bias"],
            "readout_w": b["mask_readout"][:, None, :],
        }
        parts = []
        for name, (_, shape) in self.layout.items():
            mask = masks.get(name)
            part = torch.ones(k, *shape) if mask is None else mask.expand(k, *shape)
            parts.append(part.reshape(k, -1))
        return torch.cat(parts, 1)

    # -- parameters -------------------------------------------------------------------------

    def parameters(self) -> list[torch.Tensor]:
        return [self.flat]

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """Buffers (masks, pair lists, layers) and per-parameter views of the flat leaf."""
        return {**self.buffers, **_layout_views(self.flat, self.layout)}

    def gradients(self) -> dict[str, torch.Tensor]:
        """Per-parameter views of the last backward pass's gradient."""
        assert self.flat.grad is not None, "no backward pass has run"
        return _layout_views(self.flat.grad, self.layout)

    def to(self, device: torch.device) -> StackedSparseRNN:
        self.flat = self.flat.to(device)
        self.buffers = {name: t.to(device) for name, t in self.buffers.items()}
        self._edges = None
        return self

    @property
    def sizes(self) -> dict[str, int]:
        """The padded sizes (as :func:`stack_sizes` gives them)."""
        return {"neurons": self.neurons, "layers": self.layers, "lags": self.lags,
                "pairs": self.pairs}  # fmt: skip

    def relayout(self, values: torch.Tensor, other: StackedSparseRNN) -> torch.Tensor:
        """(K, total) values in this stack's flat layout (weights, gradients, Adam moments) ->
        ``other``'s, whose neuron padding may differ. Layer shifts and lags live in the
        buffers, so only the padded neuron width moves anything."""
        k, old, new = values.shape[0], self.neurons, other.neurons
        parts = []
        for name, part in _layout_views(values, self.layout).items():
            if name in _GATE_ROWS:
                rest = part.shape[2:]
                part = _fit(part.reshape(k, self.gates, old, *rest), 2, new)
                part = part.reshape(k, self.gates * new, *rest)
            if name in _NEURON_COLUMNS:
                part = _fit(part, part.dim() - 1, new)
            parts.append(part.reshape(k, -1))
        return torch.cat(parts, 1)

    def keep(self, rows: torch.Tensor) -> None:
        """Compact the stack to the slots ``rows`` (dropping finished candidates)."""
        self.flat = self.flat[rows].detach()
        self.buffers = {name: t[rows] for name, t in self.buffers.items()}
        self._edges = None

    def rows(self, rows: torch.Tensor) -> StackedSparseRNN:
        """A stack of just the slots ``rows`` (same padding, weights detached), this one
        unchanged: testing the few networks that end costs only their share."""
        part = copy.copy(self)
        part.keep(rows)
        return part

    def requires_grad_(self) -> StackedSparseRNN:
        self.flat.requires_grad_(True)
        return self

    # -- forward ----------------------------------------------------------------------------

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """inputs (K, B, T) token ids or (K, B, T, F) floats, lengths (K, B) -> (K, B, C)."""
        if inputs.device.type == "cpu" and fused_kernel() is not None:
            keep = torch.is_grad_enabled() and self.flat.requires_grad  # a backward can follow
            return _FusedStack.apply(self.flat, self, inputs, lengths, keep)
        views = _Unflatten.apply(self.flat, self.buffers["flat_mask"], self.layout)
        t = {**self.buffers, **dict(zip(self.layout, views, strict=True))}
        total = self.steps(inputs)
        weight_in_t = t["weight_in"].transpose(1, 2)
        bias_x = t["bias_x"][:, None, :]
        last_step = self.layers - 2 + lengths
        last = self._portable(t, inputs, total, weight_in_t, bias_x, last_step)
        return _readout(t, last)

    def steps(self, inputs: torch.Tensor) -> int:
        """Global steps a batch (K, B, T, ...) runs: its T positions, then one more per layer
        the last layer lags behind the first."""
        return inputs.shape[2] + self.layers - 1

    def _fused_plan(
        self, inputs: torch.Tensor, lengths: torch.Tensor, keep_for_backward: bool
    ) -> FusedPlan:
        """The compiled recurrence's edge lists, layers and this batch's token ids."""
        x_edges, x_count, h_edges, h_count = self._edge_lists()
        total = self.steps(inputs)
        ids = None
        if self.uses_tokens:  # what _token_ids computes, in one compiled pass
            kernel = fused_kernel()
            assert kernel is not None, "the compiled recurrence is not built"
            vocab = self.layout["embedding"][1][0]
            ids = kernel.token_ids(inputs, self.buffers["shift"], total, vocab)
        return FusedPlan(
            cell=self.cell,
            lags=self.lags,
            x_edges=x_edges,
            x_count=x_count,
            h_edges=h_edges,
            h_count=h_count,
            layer=self.buffers["layer"].to(torch.int32).contiguous(),
            length=inputs.shape[2],
            last_step=(self.layers - 2 + lengths).contiguous(),
            ids=ids,
            keep_for_backward=keep_for_backward,
        )

    def _portable(self, t, inputs, total, weight_in_t, bias_x, last_step):
        """The PyTorch recurrence (models.recurrence): dense products over (source, lag)
        pairs, for devices and machines without the compiled kernel."""
        k = inputs.shape[0]
        weight_x = t["weight_x"]
        pair_source = t["pair_source"][:, None, :].expand(k, weight_x.shape[1], self.pairs)
        weight_pairs = weight_x.gather(2, pair_source) * t["pair_mask"]  # (K, G*N, P)
        if self.uses_tokens:
            table = _token_table(t)[1]
            rows = table.shape[1]
            ids = self._token_ids(inputs, total)
            ids = ids + torch.arange(k, device=ids.device).view(1, k, 1) * rows
            drive = nn.functional.embedding(ids, table.reshape(k * rows, -1))
            drive = drive.transpose(2, 3).contiguous()
        else:
            drive = _float_drive(self._moved_inputs(inputs, total), weight_in_t, bias_x, total)
        steps_started = torch.arange(self.layers - 1, device=inputs.device)[:, None, None]
        started = (t["layer"][None, :, :] <= steps_started).float()  # (L - 1, K, N)
        wave = Wavefront(
            cell=self.cell,
            base=pair_offsets(t["pair_source"], t["pair_lag"], self.neurons, self.lags),
            started=started[..., None],
            last_step=last_step,
            lags=self.lags,
            keep_for_backward=torch.is_grad_enabled(),
        )
        return WavefrontRecurrence.apply(
            drive,
            weight_pairs,
            t["weight_h"],
            t["bias_h"][:, :, None],
            wave,
        )

    def _edge_lists(self) -> tuple[torch.Tensor, ...]:
        """Every edge weight (gate row, source, lag) and own-layer weight (gate row, neuron)
        of each candidate, from the masks (cached until the stack is compacted)."""
        if self._edges is None:
            t = self.buffers
            layer = t["layer"].repeat(1, self.gates)  # (K, G*N): layer of each gate row
            lag = layer[:, :, None] - t["layer"][:, None, :]
            k, rows, n = t["mask_x"].shape
            target = (torch.arange(rows) % n)[None, :, None].expand(k, rows, n)
            self._edges = (
                *edge_list(t["mask_x"], lag, target),
                *edge_list(t["mask_h"], target),
            )
        return self._edges

    def _positions(self, inputs: torch.Tensor, total: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per global step and candidate: whether it is idle (before or after its sequence)
        and which input position it reads. A candidate shifted by s layers sees its step j
        at global step j + s."""
        steps = inputs.shape[2]
        local = torch.arange(total, device=inputs.device)[:, None] - self.buffers["shift"]
        return (local < 0) | (local >= steps), local.clamp(0, steps - 1)  # (total, K)

    def _token_ids(self, inputs: torch.Tensor, total: int) -> torch.Tensor:
        """(total, K, B) row of the token table each global step reads (V when idle)."""
        k, batch = inputs.shape[:2]
        idle, position = self._positions(inputs, total)
        position = position.T[:, None, :].expand(k, batch, total)
        ids = inputs.gather(2, position).permute(2, 0, 1)
        vocab = self.layout["embedding"][1][0]
        return torch.where(idle[:, :, None], vocab, ids).contiguous()

    def _moved_inputs(self, inputs: torch.Tensor, total: int) -> torch.Tensor:
        """(K, B, T, F) feature vectors -> (K, total * B, F): the one each global step reads
        (zero while idle, so only the bias drives it there)."""
        k, batch, _, width = inputs.shape
        idle, position = self._positions(inputs, total)
        position = position.T[:, None, :].expand(k, batch, total)
        moved = inputs.gather(2, position[..., None].expand(k, batch, total, width))
        moved = torch.where(idle.T[:, None, :, None], 0.0, moved).transpose(1, 2)
        return moved.reshape(k, total * batch, width)

    def export(self, row: int, model: SparseRNNClassifier) -> SparseRNNClassifier:
        """Copy slot ``row``'s trained weights back into ``model`` (its own initial module)."""
        t, rnn, g = self.tensors, model.rnn, self.gates
        n = rnn.n_neurons
        last_start, last_end = rnn.layer_bounds[-1]

        def unpad(weight: torch.Tensor) -> torch.Tensor:
            return weight.reshape(g, self.neurons, *weight.shape[1:])[:, :n].reshape(
                g * n, *weight.shape[1:]
            )

        with torch.no_grad():
            if model.embedding is not None:
                model.embedding.weight.copy_(t["embedding"][row])
            originals = rnn.parametrizations
            originals.weight_in.original.copy_(unpad(t["weight_in"][row] * t["mask_in"][row]))
            originals.weight_x.original.copy_(unpad(t["weight_x"][row] * t["mask_x"][row])[:, :n])
            originals.weight_h.original.copy_(unpad(t["weight_h"][row] * t["mask_h"][row])[:, :n])
            rnn.bias_x.copy_(unpad(t["bias_x"][row][:, None])[:, 0])
            rnn.bias_h.copy_(unpad(t["bias_h"][row][:, None])[:, 0])
            model.readout.weight.copy_(t["readout_w"][row][:, last_start:last_end])
            model.readout.bias.copy_(t["readout_b"][row])
        return model


def _with_idle_row(embedding: torch.Tensor) -> torch.Tensor:
    """(K, V, D) -> (K, V + 1, D): token V, the input of idle steps, embeds to zero."""
    k, _, width = embedding.shape
    return torch.cat([embedding, embedding.new_zeros(k, 1, width)], 1)


def _token_table(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The embedding with its idle row (K, V + 1, D), and per token its projection plus bias
    (K, V + 1, G*N); row V, the idle input, is the bias alone. Formed token-major: MKL is much
    slower at the product with only V + 1 output columns (docs/benchmarks.md)."""
    rows = _with_idle_row(t["embedding"])
    return rows, torch.baddbmm(t["bias_x"][:, None, :], rows, t["weight_in"].transpose(1, 2))


def _float_drive(
    moved: torch.Tensor, weight_in_t: torch.Tensor, bias_x: torch.Tensor, total: int
) -> torch.Tensor:
    """Every global step's input projection plus bias, (total, K, G*N, B), from the moved
    inputs (K, total * B, F) (:meth:`StackedSparseRNN._moved_inputs`)."""
    k = moved.shape[0]
    drive = torch.baddbmm(bias_x, moved, weight_in_t)
    return drive.view(k, total, -1, drive.shape[2]).permute(1, 0, 3, 2).contiguous()


def _readout(t: dict[str, torch.Tensor], last: torch.Tensor) -> torch.Tensor:
    """Last states (K, N, B) -> logits (K, B, C), as (K, C, N) x (K, N, B) products: the
    transposed operands of the (K, B, N) x (K, N, C) form take a slower path in PyTorch. The
    logits are made contiguous: ``argmax`` over the last dimension of the transposed view
    takes a slow path that cost far more than the copy (docs/benchmarks.md)."""
    logits = torch.bmm(t["readout_w"], last) + t["readout_b"][:, :, None]
    return logits.transpose(1, 2).contiguous()


class _FusedStack(torch.autograd.Function):
    """The stack on the compiled recurrence: flat leaf -> logits (K, B, C), differentiated
    by hand in one step. Recorded operation by operation (per-parameter views, token table,
    read-out, copies), autograd's bookkeeping around the compiled call was a share of every
    batch worth removing (docs/benchmarks.md); here the whole backward is a few products,
    and the gradients are written straight into one masked (K, total) tensor."""

    @staticmethod
    def forward(ctx, flat, stack: StackedSparseRNN, inputs, lengths, keep: bool):  # noqa: D102
        t = _layout_views(flat, stack.layout)
        plan = stack._fused_plan(inputs, lengths, keep)
        if stack.uses_tokens:  # (K, G*N, V + 1): the kernel reads a token's column
            rows, table = _token_table(t)
            source = table.transpose(1, 2).contiguous()
        else:
            total = stack.steps(inputs)
            rows = stack._moved_inputs(inputs, total)
            source = _float_drive(
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
        return _readout(t, last)

    @staticmethod
    def backward(ctx, grad_logits):  # noqa: D102
        (flat,) = ctx.saved_tensors
        t = _layout_views(flat, ctx.layout)
        grad = torch.empty_like(flat)
        g = _layout_views(grad, ctx.layout)
        grad_t = grad_logits.transpose(1, 2)  # (K, C, B)
        g["readout_b"].copy_(grad_t.sum(2))
        g["readout_w"].copy_(torch.bmm(grad_t, ctx.last.transpose(1, 2)))
        grad_last = torch.bmm(t["readout_w"].transpose(1, 2), grad_t)
        grad_source, grad_wx, grad_wh, grad_bh = recurrence_backward(ctx.recurrence, grad_last)
        g["weight_x"].copy_(grad_wx)
        g["weight_h"].copy_(grad_wh)
        g["bias_h"].copy_(grad_bh)
        if "embedding" in g:  # grad_source: the token table's, (K, G*N, V + 1)
            g["bias_x"].copy_(grad_source.sum(2))
            g["weight_in"].copy_(torch.bmm(grad_source, ctx.rows))
            by_token = torch.bmm(grad_source.transpose(1, 2), t["weight_in"])
            g["embedding"].copy_(by_token[:, :-1])
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
        return tuple(_layout_views(flat, layout).values())

    @staticmethod
    def backward(ctx, *grads):  # noqa: D102
        (mask,) = ctx.saved_tensors
        k = mask.shape[0]
        return torch.cat([g.reshape(k, -1) for g in grads], 1).mul_(mask), None, None


class StackedAdam:
    """Adam (PyTorch's update, default betas and eps) with one step count per candidate, and
    per-candidate gradient-norm clipping, so stacked candidates train independently."""

    def __init__(self, params: list[torch.Tensor], lr: float, clip_norm: float) -> None:
        self.params, self.lr, self.clip_norm = params, lr, clip_norm
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = torch.zeros(params[0].shape[0], dtype=torch.float64)

    def keep(self, rows: torch.Tensor, params: list[torch.Tensor]) -> None:
        self.params = params
        self.exp_avg = [m[rows] for m in self.exp_avg]
        self.exp_avg_sq = [v[rows] for v in self.exp_avg_sq]
        self.steps = self.steps[rows.cpu()]

    @torch.no_grad()
    def step(self, active: torch.Tensor) -> None:
        """One update of the slots where ``active`` (K,) is True; others are left untouched."""
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        self.steps += active.cpu().double()
        beta1, beta2 = ADAM_BETAS
        step_size = self.lr / (1 - beta1**self.steps)
        correction2 = (1 - beta2**self.steps).sqrt()
        kernel = fused_kernel() if self.params[0].device.type == "cpu" else None
        if kernel is not None and len(self.params) == 1:  # the flat leaf: one compiled pass
            kernel.adam_step(
                self.params[0], grads[0].contiguous(), self.exp_avg[0], self.exp_avg_sq[0],
                step_size, correction2, active.cpu(), self.clip_norm, beta1, beta2, ADAM_EPS,
            )  # fmt: skip
            return
        k = active.shape[0]
        squares = sum(g.reshape(k, -1).square().sum(1, dtype=torch.float64) for g in grads)
        norms = squares.sqrt()  # type: ignore[union-attr]
        clip = (self.clip_norm / (norms + 1e-6)).clamp(max=1.0).float()
        step_size = torch.where(active.cpu(), step_size, torch.zeros_like(step_size))
        correction2 = torch.where(active.cpu(), correction2, torch.ones_like(correction2))
        everyone = bool(active.all())  # the usual case: no masking, in-place updates
        for param, grad, m, v in zip(
            self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True
        ):
            shape = (k,) + (1,) * (param.dim() - 1)
            grad = grad * clip.to(grad.device).view(shape)
            if everyone:
                m.lerp_(grad, 1 - beta1)
                v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            else:
                live = active.view(shape)
                grad = torch.where(live, grad, 0.0)
                m.copy_(torch.where(live, m.lerp(grad, 1 - beta1), m))
                v.copy_(torch.where(live, v * beta2 + (1 - beta2) * grad * grad, v))
            denom = (v.sqrt() / correction2.to(v).view(shape)).add_(ADAM_EPS)
            param.sub_(step_size.to(param).view(shape) * m / denom)


def stack_sizes(dags: Sequence[LayeredDAG]) -> dict[str, int]:
    """Padded sizes that fit every DAG: neurons, layers, lags and the most (source, lag)
    pairs any DAG reads (at least one)."""
    pairs = [len({(u, dag.layer_of[v] - dag.layer_of[u]) for u, v in dag.edges}) for dag in dags]
    return {
        "neurons": max(d.n_nodes for d in dags),
        "layers": max(d.n_layers for d in dags),
        "lags": max(max(d.max_span, 1) for d in dags),
        "pairs": max(1, *pairs),
    }


def depth_groups(dags: Sequence[LayeredDAG], capacity: int) -> list[list[int]]:
    """Indices of ``dags`` in stacks of at most ``capacity``, in order of depth, skip span
    and size, so that when the graphs need several stacks each holds similar depths.

    A stack runs T + L - 1 steps for its deepest member, but the compiled loop skips every
    neuron's steps outside its sequence, so a shallow graph pays little for a deep stack-mate,
    and fewer, fuller stacks share the per-batch work: one stack trains faster than stacks
    split by depth (measured in docs/benchmarks.md, "Stacking by depth").
    """
    order = sorted(
        range(len(dags)), key=lambda i: (dags[i].n_layers, dags[i].max_span, dags[i].n_nodes)
    )
    return [order[start : start + capacity] for start in range(0, len(order), capacity)]


def auto_slots(
    dags: Sequence[LayeredDAG],
    cell: str,
    task: Task,
    batch_size: int,
    available: int | None = None,
) -> int:
    """How many candidates to stack: what the activation memory of the largest allows within
    MEMORY_SHARE of the ``available`` memory (bytes; default: what the machine has free),
    capped at MAX_AUTO_SLOTS."""
    neurons = max(d.n_nodes for d in dags)
    lags = max(max(d.max_span, 1) for d in dags)
    steps = int(task.train.lengths.max()) + max(d.n_layers for d in dags)
    per_step = batch_size * neurons * (4 * GATES[cell] + lags + 8)  # floats kept for backward
    per_candidate = 4 * steps * per_step * 2
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 4 * 2**30
    return int(max(1, min(MAX_AUTO_SLOTS, MEMORY_SHARE * available // per_candidate)))


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

    Candidate i starts from ``SparseRNNClassifier(dags[i], ..., seed=init_seeds[i])`` and draws
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
            candidate.dag, cell, task, embedding_dim=embedding_dim, seed=candidate.init_seed
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
        if result.status == "ok" and not math.isfinite(loss):
            result.status = "diverged"
            result.reason = f"non-finite validation loss in epoch {slot.epoch}"
        if result.status == "ok":
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
                result.status = "stopped"
                result.reason = f"stopped after epoch {slot.epoch}"
        if result.status == "ok" and slot.epoch < spec.epochs:
            kept.append(row)
        else:
            ending.append(row)
    if not ending:
        return active
    tested = [row for row in ending if active[row].result.status != "diverged"]
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
        if keep_models and result.status != "diverged":
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
    k = len(slots)
    live = torch.tensor([s.result.status == "ok" for s in slots], device=device)
    sums = torch.zeros(k, dtype=torch.float64)
    correct = torch.zeros(k, dtype=torch.long)
    seen = torch.zeros(k, dtype=torch.long)
    for position in range(len(slots[0].batches)):
        inputs, lengths, labels, weight = _batch(data, [s.batches[position] for s in slots], device)
        logits = stack.forward(inputs, lengths)
        losses = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none"
        ).view(k, -1)
        per_slot = (losses * weight).sum(1) / weight.sum(1)
        finite = torch.isfinite(per_slot.detach())
        for row in torch.nonzero(live & ~finite).flatten().tolist():
            slots[row].result.status = "diverged"
            slots[row].result.reason = f"non-finite loss in epoch {slots[row].epoch}"
        live = live & finite
        for param in stack.parameters():
            param.grad = None
        torch.where(live, per_slot, 0.0).sum().backward()
        optimizer.step(live)
        with torch.no_grad():
            sums += (per_slot.detach() * weight.sum(1)).double().cpu()
            hits = (logits.argmax(-1) == labels).float() * weight
            correct += hits.sum(1).long().cpu()
            seen += weight.sum(1).long().cpu()
    for row, slot in enumerate(slots):
        slot.train_loss = float(sums[row] / seen[row])
        slot.train_acc = float(correct[row] / seen[row])


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
        logits = stack.forward(inputs, lengths)
        losses = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none"
        ).view(k, -1)
        loss_sum += losses.double().sum(1).cpu()
        correct += (logits.argmax(-1) == labels).sum(1).cpu()
    return [(float(loss_sum[row]) / len(data), int(correct[row]) / len(data)) for row in range(k)]
