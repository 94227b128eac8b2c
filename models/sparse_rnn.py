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
them. ``SparseRNN.forward`` is the definition run step by step (time, then layers): the
oracle that ``models.engine``'s two recurrences (the compiled kernel and its PyTorch
fallback, which train many networks at once) are tested against, outputs and gradients.
The engine reads the wiring from here, including ``lag_masks`` (which edges bridge how many
layers).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from graphs.dag import LayeredDAG
from models.cells import GATES, check_cell


class GraphMask(nn.Module):
    """Parametrization ``weight -> weight * mask``; the mask is a buffer saved in state_dict."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


class SparseRNN(nn.Module):
    """Recurrent core wired by ``dag``; input (B, T, E) -> the read-out neurons' states at
    each sequence's end (the last layer's, or those ``readout`` names: graphs.dag.READOUTS).

    Parameters
    ----------
    dag : the layered DAG (graphs.dag.layered_dag).
    cell : one of models.cells.CELLS.
    input_size : width E of the per-step input fed to layer 0.
    generator : torch.Generator for the initial weights (uniform +-1/sqrt(layer width), as
        PyTorch initialises its RNNs per layer).
    readout : which neurons the output holds (``dag.readout_neurons``), in neuron order.
    """

    def __init__(
        self,
        dag: LayeredDAG,
        cell: str,
        input_size: int,
        generator: torch.Generator | None = None,
        readout: str = "last",
    ) -> None:
        super().__init__()
        self.cell = check_cell(cell)
        self.readout_kind = readout
        self.readout_neurons = dag.readout_neurons(readout)
        self.dag = dag
        self.gates = GATES[cell]
        self.input_size = input_size
        n = dag.n_nodes
        # Neurons are ordered by layer; node_of_neuron maps back to DAG node indices.
        order = dag.neuron_order
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
        return len(self.readout_neurons)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The definition, step by step: (B, T, E), (B,) -> (B, output_size): each read-out
        neuron's state after it has read each sequence's last input.

        A loop over time steps and, inside, over layers; each layer slices the parameters to
        see only what the definition says it sees: the input (layer 0) or the states of the
        earlier layers at the same time step, plus its own previous state. Slow and obvious
        on purpose: the engine's recurrences are tested against it.
        """
        batch, steps, _ = inputs.shape
        weight_in, weight_x, weight_h = self.weight_in, self.weight_x, self.weight_h
        hidden = [inputs.new_zeros(batch, end - start) for start, end in self.layer_bounds]
        cells = [h.clone() if self.cell == "lstm" else None for h in hidden]
        read = torch.tensor(self.readout_neurons, device=inputs.device)
        read_states = []
        for t in range(steps):
            states_now: list[torch.Tensor] = []  # this step's states of the layers done so far
            for layer, (start, end) in enumerate(self.layer_bounds):
                rows = self._layer_rows(start, end)
                if layer == 0:
                    gates_in = inputs[:, t] @ weight_in[rows].T
                else:
                    earlier = torch.cat(states_now, dim=1)  # neurons 0..start-1
                    gates_in = earlier @ weight_x[rows, :start].T
                gates_in = gates_in + self.bias_x[rows]
                gates_hidden = hidden[layer] @ weight_h[rows, start:end].T + self.bias_h[rows]
                hidden[layer], cells[layer] = cell_update(
                    self.cell, gates_in, gates_hidden, hidden[layer], cells[layer]
                )
                states_now.append(hidden[layer])
            read_states.append(torch.cat(hidden, dim=1)[:, read])
        return gather_last(torch.stack(read_states, dim=1), lengths)

    def _layer_rows(self, start: int, end: int) -> torch.Tensor:
        """Row indices of neurons start..end-1 in every gate block (gate-major layout)."""
        n = self.n_neurons
        return torch.cat([torch.arange(start, end) + gate * n for gate in range(self.gates)])


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


def cell_update(
    cell: str,
    gates_in: torch.Tensor,
    gates_hidden: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step of ``cell``.

    gates_in / gates_hidden : (..., G*n) pre-activations from the inputs and from the cell's
        own previous state, biases included, gate-major (gate k occupies columns k*n:(k+1)*n).
    h, c : (..., n) previous hidden state and, for the LSTM, cell state (else None).
    Returns the new (h, c).
    """
    if cell == "rnn_tanh":
        return torch.tanh(gates_in + gates_hidden), None
    if cell == "rnn_relu":
        return torch.relu(gates_in + gates_hidden), None
    if cell == "gru":
        in_r, in_z, in_n = gates_in.chunk(3, dim=-1)
        hid_r, hid_z, hid_n = gates_hidden.chunk(3, dim=-1)
        reset = torch.sigmoid(in_r + hid_r)
        update = torch.sigmoid(in_z + hid_z)
        candidate = torch.tanh(in_n + reset * hid_n)
        return candidate + update * (h - candidate), None
    if cell == "lstm":
        assert c is not None
        gate_i, gate_f, gate_g, gate_o = (gates_in + gates_hidden).chunk(4, dim=-1)
        c_new = torch.sigmoid(gate_f) * c + torch.sigmoid(gate_i) * torch.tanh(gate_g)
        return torch.sigmoid(gate_o) * torch.tanh(c_new), c_new
    check_cell(cell)
    raise AssertionError(cell)
