"""The stacked layout: K Sparse-RNN classifiers of one cell as (K, ...) tensors.

Each candidate's weights are padded to a common neuron count and its layers shifted so its
last layer is the global last layer (layer l runs at global step t + l + L - L_c), which
makes the last layer's readout step the same for all; a neuron of an earlier layer (read out
as a sink, or with every neuron) is read at its own step, once it has read the row's last
input. The read-out weights span the padded width, masked to the read-out neurons. Padded
neurons have zero weights and biases, so their state stays exactly zero. The trainable
tensors live in one flat (K, total) leaf, so the optimizer's update is a handful of
operations.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from models.cells import GATES
from models.engine.autograd import stack_forward
from models.engine.drive import layout_views
from models.fused import edge_list
from models.networks import SparseRNNClassifier

#: Flat parameters whose rows are gate blocks of the padded neurons, and those whose last
#: dimension is the padded neurons.
_GATE_ROWS = frozenset({"weight_in", "weight_x", "weight_h", "bias_x", "bias_h"})
_NEURON_COLUMNS = frozenset({"weight_x", "weight_h", "readout_w"})


class StackedSparseRNN:
    """K Sparse-RNN classifiers of one cell as stacked tensors; see the module docstring.

    ``models`` supply each candidate's initial weights (a SparseRNNClassifier per candidate,
    so a candidate's start is identical to training it alone). ``neurons``, ``layers``,
    ``lags`` and ``pairs`` are the padded sizes (at least each candidate's own; see
    :func:`models.engine.planning.stack_sizes`).

    The compiled recurrence reads the masks as edge lists (:meth:`edge_lists`). The PyTorch
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
        stacks = [_slot_tensors(model, self.gates, neurons, layers, pairs) for model in models]
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
        self.buffers["flat_mask"] = _flat_mask(self.buffers, self.layout, k)
        self.flat.mul_(self.buffers["flat_mask"])
        self._edges: tuple[torch.Tensor, ...] | None = None

    # -- parameters -------------------------------------------------------------------------

    def parameters(self) -> list[torch.Tensor]:
        return [self.flat]

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """Buffers (masks, pair lists, layers) and per-parameter views of the flat leaf."""
        return {**self.buffers, **layout_views(self.flat, self.layout)}

    def gradients(self) -> dict[str, torch.Tensor]:
        """Per-parameter views of the last backward pass's gradient."""
        assert self.flat.grad is not None, "no backward pass has run"
        return layout_views(self.flat.grad, self.layout)

    def to(self, device: torch.device) -> StackedSparseRNN:
        self.flat = self.flat.to(device)
        self.buffers = {name: t.to(device) for name, t in self.buffers.items()}
        self._edges = None
        return self

    @property
    def sizes(self) -> dict[str, int]:
        """The padded sizes (as :func:`models.engine.planning.stack_sizes` gives them)."""
        return {"neurons": self.neurons, "layers": self.layers, "lags": self.lags,
                "pairs": self.pairs}  # fmt: skip

    def relayout(self, values: torch.Tensor, other: StackedSparseRNN) -> torch.Tensor:
        """(K, total) values in this stack's flat layout (weights, gradients, Adam moments) ->
        ``other``'s, whose neuron padding may differ. Layer shifts and lags live in the
        buffers, so only the padded neuron width moves anything."""
        k, old, new = values.shape[0], self.neurons, other.neurons
        parts = []
        for name, part in layout_views(values, self.layout).items():
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
        """inputs (K, B, T) token ids or (K, B, T, F) floats, lengths (K, B) -> (K, B, C)
        (:func:`models.engine.autograd.stack_forward`)."""
        return stack_forward(self, inputs, lengths)

    def steps(self, inputs: torch.Tensor) -> int:
        """Global steps a batch (K, B, T, ...) runs: its T positions, then one more per layer
        the last layer lags behind the first."""
        return inputs.shape[2] + self.layers - 1

    def edge_lists(self) -> tuple[torch.Tensor, ...]:
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

    def export(self, row: int, model: SparseRNNClassifier) -> SparseRNNClassifier:
        """Copy slot ``row``'s trained weights back into ``model`` (its own initial module)."""
        t, rnn, g = self.tensors, model.rnn, self.gates
        n = rnn.n_neurons
        read = list(rnn.readout_neurons)

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
            model.readout.weight.copy_(t["readout_w"][row][:, read])
            model.readout.bias.copy_(t["readout_b"][row])
        return model


def _slot_tensors(
    model: SparseRNNClassifier, g: int, width: int, layers: int, pairs: int
) -> dict[str, torch.Tensor | None]:
    """One candidate's weights and masks in the padded, shifted slot layout (``g`` gates,
    ``width`` padded neurons, ``layers`` and ``pairs`` the stack's)."""
    rnn = model.rnn
    n = rnn.n_neurons
    shift = layers - len(rnn.layer_bounds)
    read = list(rnn.readout_neurons)  # read at each row's end (models.engine.drive)
    with torch.no_grad():
        masks = {
            name: getattr(rnn.parametrizations, name)[0].mask
            for name in ("weight_in", "weight_x", "weight_h")
        }
        neuron_valid = torch.zeros(width)
        neuron_valid[:n] = 1.0
        readout_valid = torch.zeros(width)
        readout_valid[read] = 1.0
        readout_w = model.readout.weight.new_zeros(model.readout.out_features, width)
        readout_w[:, read] = model.readout.weight
        layer = torch.full((width,), layers + 1)  # padded neurons never start
        layer[:n] = rnn.layer_of_neuron + shift
        # (lag, source) pairs that some edge reads (lag d is lag_masks[d-1]); padding
        # columns read neuron 0 one step back through zero weights.
        lag_index, source = torch.nonzero(rnn.lag_masks.any(dim=1), as_tuple=True)
        used = len(source)
        pair_source = torch.zeros(pairs, dtype=torch.long)
        pair_source[:used] = source
        pair_lag = torch.ones(pairs, dtype=torch.long)
        pair_lag[:used] = lag_index + 1
        pair_mask = torch.zeros(g * width, pairs)
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


def _flat_mask(
    buffers: dict[str, torch.Tensor], layout: dict[str, tuple[int, tuple[int, ...]]], k: int
) -> torch.Tensor:
    """(K, total) 1 where the flat leaf holds a trainable weight, 0 where it must stay 0."""
    b = buffers
    masks = {
        "weight_in": b["mask_in"],
        "weight_x": b["mask_x"],
        "weight_h": b["mask_h"],
        "bias_x": b["mask_bias"],
        "bias_h": b["mask_bias"],
        "readout_w": b["mask_readout"][:, None, :],
    }
    parts = []
    for name, (_, shape) in layout.items():
        mask = masks.get(name)
        part = torch.ones(k, *shape) if mask is None else mask.expand(k, *shape)
        parts.append(part.reshape(k, -1))
    return torch.cat(parts, 1)


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
