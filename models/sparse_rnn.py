"""The Sparse-RNN: a recurrent network whose wiring is a layered DAG.

One recurrent layer per DAG layer. At time step t a neuron receives, through masked weights,
the states of exactly its DAG predecessors at the same time step (skip edges included) and,
densely, the previous state of its own layer. Layer 0 receives the (dense) input projection.

All neurons live in one index space, ordered by layer, so every weight is one masked matrix:

* ``weight_in``  (G*N, E): input -> layer-0 neurons (dense inside layer 0);
* ``weight_x``   (G*N, N): predecessor -> neuron, masked by the DAG's edges;
* ``weight_h``   (G*N, N): own-layer recurrence, masked block-diagonally by layer;
* ``bias_x``, ``bias_h`` (G*N,): PyTorch's b_ih / b_hh.

The masks are parametrizations (torch.nn.utils.parametrize), so the effective weights are
exactly zero where the graph has no edge, their gradients are zero there, and Adam never moves
them. Two forward paths share these parameters: :func:`models.reference.reference_forward`, a
plain loop over time and layers kept as the test oracle, and :meth:`SparseRNN.forward`, the
wavefront schedule used for training (layer l handles time t at global step t + l, so a
length-T sequence costs T + L - 1 whole-network steps instead of T * L per-layer steps).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from graphs.dag import LayeredDAG
from models.cells import GATES, cell_update, check_cell


class GraphMask(nn.Module):
    """Parametrization ``weight -> weight * mask``; the mask is a buffer saved in state_dict."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


class SparseRNN(nn.Module):
    """Recurrent core wired by ``dag``; input (B, T, E) -> last layer's state at each end.

    Parameters
    ----------
    dag : the layered DAG (graphs.dag.layered_dag).
    cell : one of models.cells.CELLS.
    input_size : width E of the per-step input fed to layer 0.
    generator : torch.Generator for the initial weights (uniform +-1/sqrt(layer width), as
        PyTorch initialises its RNNs per layer).
    """

    def __init__(
        self,
        dag: LayeredDAG,
        cell: str,
        input_size: int,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.cell = check_cell(cell)
        self.dag = dag
        self.gates = GATES[cell]
        self.input_size = input_size
        n = dag.n_nodes
        # Neurons are ordered by layer; node_of_neuron maps back to DAG node indices.
        order = [node for layer in dag.layers for node in layer]
        neuron_of_node = {node: i for i, node in enumerate(order)}
        layer_of_neuron = torch.tensor([dag.layer_of[node] for node in order])
        sizes = dag.layer_sizes
        self.layer_bounds: tuple[tuple[int, int], ...] = tuple(
            (sum(sizes[:layer]), sum(sizes[: layer + 1])) for layer in range(len(sizes))
        )
        self.register_buffer("layer_of_neuron", layer_of_neuron, persistent=False)

        edge_mask = torch.zeros(n, n)
        lag = torch.zeros(n, n, dtype=torch.long)
        for u, v in dag.edges:
            src, dst = neuron_of_node[u], neuron_of_node[v]
            edge_mask[dst, src] = 1.0
            lag[dst, src] = dag.layer_of[v] - dag.layer_of[u]
        same_layer = (layer_of_neuron[:, None] == layer_of_neuron[None, :]).float()
        first_layer = (layer_of_neuron == 0).float()[:, None].expand(n, input_size)
        # Per lag d = 1..D: edges bridging exactly d layers (the wavefront reads d steps back).
        self.max_lag = max(dag.max_span, 1)
        lag_masks = torch.stack([(lag == d).float() for d in range(1, self.max_lag + 1)])
        self.register_buffer("lag_masks", lag_masks.repeat(1, self.gates, 1), persistent=False)

        g = self.gates
        self.weight_in = nn.Parameter(torch.empty(g * n, input_size))
        self.weight_x = nn.Parameter(torch.empty(g * n, n))
        self.weight_h = nn.Parameter(torch.empty(g * n, n))
        self.bias_x = nn.Parameter(torch.empty(g * n))
        self.bias_h = nn.Parameter(torch.empty(g * n))
        scale = 1.0 / torch.tensor([float(sizes[layer]) for layer in layer_of_neuron]).sqrt()
        scale = scale.repeat(g)
        with torch.no_grad():
            for param in (self.weight_in, self.weight_x, self.weight_h, self.bias_x, self.bias_h):
                nn.init.uniform_(param, -1.0, 1.0, generator=generator)
                param.mul_(scale if param.dim() == 1 else scale[:, None])
        masks = {
            "weight_in": first_layer.repeat(g, 1),
            "weight_x": edge_mask.repeat(g, 1),
            "weight_h": same_layer.repeat(g, 1),
        }
        for name, mask in masks.items():
            with torch.no_grad():
                getattr(self, name).mul_(mask)  # the stored original is zero off-graph too
            parametrize.register_parametrization(self, name, GraphMask(mask))

    @property
    def n_neurons(self) -> int:
        return self.dag.n_nodes

    @property
    def output_size(self) -> int:
        start, end = self.layer_bounds[-1]
        return end - start

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Wavefront schedule. inputs (B, T, E), lengths (B,) -> (B, output_size)."""
        batch, steps, _ = inputs.shape
        n, n_layers, cell = self.n_neurons, len(self.layer_bounds), self.cell
        with parametrize.cached():
            weight_lag = torch.cat(
                [self.weight_x * mask for mask in self.lag_masks], dim=1
            )  # (G*N, D*N): block d-1 reads the state saved d global steps ago
            drive = inputs @ self.weight_in.T + self.bias_x  # (B, T, G*N)
            weight_h, bias_h, bias_x = self.weight_h, self.bias_h, self.bias_x
        h = inputs.new_zeros(batch, n)
        c = inputs.new_zeros(batch, n) if cell == "lstm" else None
        window = inputs.new_zeros(batch, self.max_lag * n)
        last_start, last_end = self.layer_bounds[-1]
        outputs = []
        drive_steps = drive.unbind(1)  # one backward stack, not a zero-fill per step
        for step in range(steps + n_layers - 1):
            gates_in = drive_steps[step] if step < steps else bias_x
            gates_in = gates_in + window @ weight_lag.T
            gates_hidden = torch.addmm(bias_h, h, weight_h.T)
            h_new, c_new = cell_update(cell, gates_in, gates_hidden, h, c)
            if step < n_layers - 1:  # layers > step have not started: keep their zero state
                started = self.layer_of_neuron <= step
                h_new = torch.where(started, h_new, h)
                if c_new is not None:
                    c_new = torch.where(started, c_new, c)
            h, c = h_new, c_new
            window = torch.cat([h, window[:, : (self.max_lag - 1) * n]], dim=1)
            if step >= n_layers - 1:
                outputs.append(h[:, last_start:last_end])
        return gather_last(torch.stack(outputs, dim=1), lengths)


def gather_last(sequence: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Pick each row's state at its own last step: (B, T, H), (B,) -> (B, H)."""
    index = (lengths - 1).to(sequence.device).view(-1, 1, 1).expand(-1, 1, sequence.shape[-1])
    return sequence.gather(1, index).squeeze(1)


def init_linear(layer: nn.Linear, generator: torch.Generator | None) -> nn.Linear:
    """PyTorch's default Linear init (uniform +-1/sqrt(fan_in)) drawn from ``generator``."""
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
        if layer.bias is not None:
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer
