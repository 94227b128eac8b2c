"""The plain reference Sparse-RNN: a loop over time steps and, inside, over DAG layers.

Slow and obvious on purpose: it is the oracle the fast wavefront path is tested against
(outputs and gradients). It reads the same parameters as :class:`models.sparse_rnn.SparseRNN`
but slices them per layer, so each layer sees only what the definition says it sees: the input
(layer 0) or the states of the earlier layers at the same time step, plus its own previous state.
"""

from __future__ import annotations

import torch

from models.cells import cell_update
from models.sparse_rnn import SparseRNN, gather_last


def _layer_rows(rnn: SparseRNN, start: int, end: int) -> torch.Tensor:
    """Row indices of neurons start..end-1 in every gate block (gate-major layout)."""
    n = rnn.n_neurons
    return torch.cat([torch.arange(start, end) + gate * n for gate in range(rnn.gates)])


def reference_forward(rnn: SparseRNN, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Same contract as ``SparseRNN.forward``: (B, T, E), (B,) -> (B, last layer width)."""
    batch, steps, _ = inputs.shape
    weight_in, weight_x, weight_h = rnn.weight_in, rnn.weight_x, rnn.weight_h
    hidden = [inputs.new_zeros(batch, end - start) for start, end in rnn.layer_bounds]
    cells = [h.clone() if rnn.cell == "lstm" else None for h in hidden]
    last_layer_states = []
    for t in range(steps):
        states_now: list[torch.Tensor] = []  # this time step's states of the layers done so far
        for layer, (start, end) in enumerate(rnn.layer_bounds):
            rows = _layer_rows(rnn, start, end)
            if layer == 0:
                gates_in = inputs[:, t] @ weight_in[rows].T
            else:
                earlier = torch.cat(states_now, dim=1)  # neurons 0..start-1
                gates_in = earlier @ weight_x[rows, :start].T
            gates_in = gates_in + rnn.bias_x[rows]
            gates_hidden = hidden[layer] @ weight_h[rows, start:end].T + rnn.bias_h[rows]
            hidden[layer], cells[layer] = cell_update(
                rnn.cell, gates_in, gates_hidden, hidden[layer], cells[layer]
            )
            states_now.append(hidden[layer])
        last_layer_states.append(hidden[-1])
    return gather_last(torch.stack(last_layer_states, dim=1), lengths)
