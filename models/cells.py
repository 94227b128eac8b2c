"""The four recurrent cells as pure update functions (the reference and autograd paths).

Both the reference and the fast Sparse-RNN call :func:`cell_update`; its math follows PyTorch's
``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` exactly (same gate order, same bias placement), which the
tests check against those modules. The batched engine's recurrence (models/recurrence.py)
writes the same math into preallocated buffers with its own derivatives; the engine's tests
hold it equal to the reference. Pre-activations come in two parts because the GRU applies
its reset gate to the hidden part only.
"""

from __future__ import annotations

import torch

from graphs.errors import SparseNASError

#: Gate blocks per cell, in PyTorch's order: GRU (r, z, n), LSTM (i, f, g, o).
GATES: dict[str, int] = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}
CELLS: tuple[str, ...] = tuple(GATES)


def check_cell(cell: str) -> str:
    """Return ``cell`` if known, else raise with the allowed names."""
    if cell not in GATES:
        raise SparseNASError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
    return cell


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
    raise SparseNASError(f"unknown cell {cell!r}; choose one of {', '.join(CELLS)}")
