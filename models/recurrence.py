"""The stacked wavefront recurrence in PyTorch, with a hand-written backward pass (BPTT).

The engine's fallback where the compiled recurrence (:mod:`models.fused`) cannot be built;
both compute the same function and the engine's tests run on each.

Autograd records every per-step operation of a recurrence and replays each in reverse; for
the engine's small per-step tensors that bookkeeping (one graph node, one allocation and one
gather/scatter pair per lag, per step) cost more than the arithmetic. Here the forward pass
writes every state into one preallocated buffer and reads each step's (source, lag) pairs
with a single ``index_select`` of whole batch rows; the backward pass walks the steps in
reverse with the cells' exact derivatives and leaves the weight gradients to two large
matrix products over all steps.

Layout: time-major, so every step's slice of a buffer is one contiguous block, and
feature-major inside a step ((K, features, B), the batch innermost), so a pair read is one
contiguous row of B floats and every gate block is contiguous:

* ``drive``   (S, K, G*N, B): each global step's input projection plus ``bias_x``;
* ``states``  (D + S, K, N, B): D leading zero slots, then the state after each step, so the
  state ``d`` steps before step s sits in slot ``D + s - d``;
* a pair column j of candidate k reads neuron ``source[k, j]`` from ``lag[k, j]`` steps ago:
  row ``base[k, j] + s * K * N`` of ``states`` seen as rows of B (see :func:`pair_offsets`).

The cells' math is :func:`models.sparse_rnn.cell_update`'s (PyTorch's gate order); the engine's
tests hold this path equal to the reference loop in outputs and gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Wavefront:
    """What a forward call needs besides the differentiable tensors (none of it trainable).

    base : (K * P,) row of each pair column at step 0 (:func:`pair_offsets`).
    started : (L - 1, K, N, 1) float, 1 where a neuron's layer has started by that step
        (later steps have every real neuron started; padded neurons stay zero by weights).
    layer : (K, N) global step at which each neuron handles time 0.
    last_time : (K, B) each row's last input position: neuron i's output is its state after
        global step ``last_time + layer[i]``, once it has read that input.
    lags : D, the longest skip any candidate reads.
    keep_for_backward : whether to save the reads and activations the backward needs (False
        under torch.no_grad, where autograd still reports inputs as needing gradients).
    """

    cell: str
    base: torch.Tensor
    started: torch.Tensor
    layer: torch.Tensor
    last_time: torch.Tensor
    lags: int
    keep_for_backward: bool = True


def pair_offsets(source: torch.Tensor, lag: torch.Tensor, neurons: int, lags: int) -> torch.Tensor:
    """(K, P) sources and lags -> (K * P,) rows of a (slots, K, N, B) buffer seen as rows of
    B, at step 0 (a lag-d read at step s is slot ``lags + s - d``)."""
    k = source.shape[0]
    per_candidate = torch.arange(k, device=source.device)[:, None] * neurons
    return ((lags - lag) * (k * neurons) + per_candidate + source).reshape(-1)


class WavefrontRecurrence(torch.autograd.Function):
    """(drive, pair weights (K, G*N, P), recurrent weights (K, G*N, N), hidden bias
    (K, G*N, 1)) -> last states (K, N, B)."""

    @staticmethod
    def forward(ctx, drive, weight_pairs, weight_h, bias_h, wave: Wavefront):  # noqa: D102
        steps, k, _, batch = drive.shape
        neurons, pairs = weight_h.shape[2], weight_pairs.shape[2]
        lags, cell = wave.lags, wave.cell
        save = wave.keep_for_backward and any(ctx.needs_input_grad[:4])
        states = drive.new_zeros(lags + steps, k, neurons, batch)
        rows = states.view(-1, batch)
        stride = k * neurons
        acts = _activation_buffers(cell, drive, neurons) if save else None
        reads = drive.new_empty(steps, k, pairs, batch) if save else None
        cells = drive.new_zeros(1 + steps, k, neurons, batch) if cell == "lstm" else None
        n_started = wave.started.shape[0]
        for step in range(steps):
            out = reads[step].view(k * pairs, batch) if reads is not None else None
            read = torch.index_select(rows[step * stride :], 0, wave.base, out=out)
            gates_in = torch.baddbmm(drive[step], weight_pairs, read.view(k, pairs, batch))
            h_prev = states[lags + step - 1]
            gates_hidden = torch.baddbmm(bias_h, weight_h, h_prev)
            c_prev = cells[step] if cells is not None else None
            act = [buffer[step] for buffer in acts] if acts is not None else None
            h, c = _cell_forward(cell, gates_in, gates_hidden, h_prev, c_prev, act)
            if step < n_started:
                torch.mul(h, wave.started[step], out=states[lags + step])
                if c is not None:
                    torch.mul(c, wave.started[step], out=cells[step + 1])
            else:
                states[lags + step] = h
                if c is not None:
                    cells[step + 1] = c
        index = _last_index(wave, lags, states.shape[0])
        last = states.gather(0, index)[0]
        if save:
            ctx.wave = wave
            ctx.save_for_backward(weight_pairs, weight_h, states, reads, cells, *(acts or ()))
        return last

    @staticmethod
    def backward(ctx, grad_last):  # noqa: D102
        weight_pairs, weight_h, states, reads, cells, *acts = ctx.saved_tensors
        wave: Wavefront = ctx.wave
        lags, cell = wave.lags, wave.cell
        slots, k, neurons, batch = states.shape
        steps, pairs = slots - lags, weight_pairs.shape[2]
        gate_width = weight_h.shape[1]
        stride = k * neurons
        weight_pairs_t = weight_pairs.transpose(1, 2)
        weight_h_t = weight_h.transpose(1, 2)
        grad_states = torch.zeros_like(states)
        grad_rows = grad_states.view(-1, batch)
        grad_states.scatter_(0, _last_index(wave, lags, slots), grad_last[None])
        grad_in = states.new_empty(steps, k, gate_width, batch)
        grad_hidden = grad_in if cell != "gru" else torch.empty_like(grad_in)
        grad_c = torch.zeros_like(grad_last) if cell == "lstm" else None
        n_started = wave.started.shape[0]
        for step in reversed(range(steps)):
            grad_h = grad_states[lags + step]
            if step < n_started:
                grad_h = grad_h * wave.started[step]
                if grad_c is not None:
                    grad_c = grad_c * wave.started[step]
            h_prev = states[lags + step - 1]
            direct, grad_c = _cell_backward(
                cell,
                grad_h,
                grad_c,
                states[lags + step],
                h_prev,
                cells[step : step + 2] if cells is not None else None,
                [buffer[step] for buffer in acts],
                grad_in[step],
                grad_hidden[step],
            )
            previous = grad_states[lags + step - 1]
            if direct is not None:
                previous += direct
            previous.baddbmm_(weight_h_t, grad_hidden[step])
            grad_read = torch.bmm(weight_pairs_t, grad_in[step])
            grad_rows[step * stride :].index_add_(0, wave.base, grad_read.view(k * pairs, batch))
        flat_in = _by_candidate(grad_in)
        flat_hidden = flat_in if grad_hidden is grad_in else _by_candidate(grad_hidden)
        grad_weight_pairs = torch.bmm(flat_in, _by_candidate(reads).transpose(1, 2))
        prev_states = _by_candidate(states[lags - 1 : lags - 1 + steps])
        grad_weight_h = torch.bmm(flat_hidden, prev_states.transpose(1, 2))
        grad_bias_h = flat_hidden.sum(2, keepdim=True)
        return grad_in, grad_weight_pairs, grad_weight_h, grad_bias_h, None


def _last_index(wave: Wavefront, lags: int, slots: int) -> torch.Tensor:
    """(1, K, N, B) slot of each neuron's output state per row, for gather / scatter on dim
    0 (a padded neuron's step lies past the end: it reads the last slot, where it is zero)."""
    step = wave.last_time[:, None, :] + wave.layer[:, :, None].to(wave.last_time.dtype)
    return (lags + step).clamp(max=slots - 1)[None]


def _by_candidate(buffer: torch.Tensor) -> torch.Tensor:
    """(S, K, X, B) -> (K, X, S * B), one copy, so per-candidate sums over steps are one bmm."""
    steps, k, width, batch = buffer.shape
    return buffer.permute(1, 2, 0, 3).reshape(k, width, steps * batch)


def _activation_buffers(cell: str, drive: torch.Tensor, neurons: int) -> list[torch.Tensor]:
    """Per-step activations the backward needs, one (S, K, width, B) buffer each: GRU
    (r|z), n and the hidden n part; LSTM (i|f|g|o). The simple cells need only their states."""
    steps, k, _, batch = drive.shape
    widths = {"gru": (2, 1, 1), "lstm": (4,)}.get(cell, ())
    return [drive.new_empty(steps, k, w * neurons, batch) for w in widths]


def _cell_forward(cell, gates_in, gates_hidden, h_prev, c_prev, act):
    """One step of ``cell`` (models.sparse_rnn.cell_update's math); activations go to ``act``."""
    if cell == "rnn_tanh":
        return torch.tanh(gates_in + gates_hidden), None
    if cell == "rnn_relu":
        return torch.relu(gates_in + gates_hidden), None
    n = h_prev.shape[1]
    if cell == "gru":
        out = act or [None, None, None]
        reset_update = torch.add(gates_in[:, : 2 * n], gates_hidden[:, : 2 * n], out=out[0])
        reset_update = torch.sigmoid_(reset_update)
        reset, update = reset_update[:, :n], reset_update[:, n:]
        hidden_n = gates_hidden[:, 2 * n :]
        if act is not None:
            act[2].copy_(hidden_n)
        candidate = torch.addcmul(gates_in[:, 2 * n :], reset, hidden_n, out=out[1])
        candidate = torch.tanh_(candidate)
        return torch.addcmul(candidate, update, h_prev - candidate), None
    assert cell == "lstm" and c_prev is not None
    gates = torch.add(gates_in, gates_hidden, out=act[0] if act is not None else None)
    gates[:, : 2 * n].sigmoid_()
    gates[:, 2 * n : 3 * n].tanh_()
    gates[:, 3 * n :].sigmoid_()
    gate_i, gate_f = gates[:, :n], gates[:, n : 2 * n]
    gate_g, gate_o = gates[:, 2 * n : 3 * n], gates[:, 3 * n :]
    c = torch.addcmul(gate_f * c_prev, gate_i, gate_g)
    return gate_o * torch.tanh(c), c


def _cell_backward(cell, grad_h, grad_c, h, h_prev, c_pair, act, out_in, out_hidden):
    """Gradients of one step: writes d(gates_in) into ``out_in`` and d(gates_hidden) into
    ``out_hidden`` (the same tensor where the cell adds the two), returns the direct
    gradient to h_prev (None if there is none besides the weights) and the one to c_prev.
    ``c_pair`` (2, K, N, B) holds the LSTM's cell state before and after the step."""
    if cell == "rnn_tanh":
        torch.mul(grad_h, 1 - h * h, out=out_in)
        return None, None
    if cell == "rnn_relu":
        torch.mul(grad_h, h > 0, out=out_in)
        return None, None
    n = h.shape[1]
    if cell == "gru":
        reset_update, candidate, hidden_n = act
        reset, update = reset_update[:, :n], reset_update[:, n:]
        grad_candidate = torch.mul(grad_h * (1 - update), 1 - candidate * candidate)
        grad_rz = out_in[:, : 2 * n]  # (d reset | d update), then both sigmoid derivatives
        torch.mul(grad_candidate, hidden_n, out=grad_rz[:, :n])
        torch.mul(grad_h, h_prev - candidate, out=grad_rz[:, n:])
        grad_rz *= reset_update * (1 - reset_update)
        out_in[:, 2 * n :] = grad_candidate
        out_hidden[:, : 2 * n] = grad_rz
        torch.mul(grad_candidate, reset, out=out_hidden[:, 2 * n :])
        return grad_h * update, None
    (gates,) = act
    gate_i, gate_f = gates[:, :n], gates[:, n : 2 * n]
    gate_g, gate_o = gates[:, 2 * n : 3 * n], gates[:, 3 * n :]
    c_prev, c = c_pair[0], c_pair[1]
    tanh_c = torch.tanh(c)
    grad_c = grad_c + grad_h * gate_o * (1 - tanh_c * tanh_c)
    torch.mul(grad_c, gate_g, out=out_in[:, :n])
    torch.mul(grad_c, c_prev, out=out_in[:, n : 2 * n])
    torch.mul(grad_c * gate_i, 1 - gate_g * gate_g, out=out_in[:, 2 * n : 3 * n])
    torch.mul(grad_h, tanh_c, out=out_in[:, 3 * n :])
    out_in *= _lstm_derivative_factors(gates, n)
    return None, grad_c * gate_f


def _lstm_derivative_factors(gates: torch.Tensor, n: int) -> torch.Tensor:
    """s * (1 - s) for the sigmoid gates i, f, o and 1 for g (its tanh factor is applied
    with its own product), in gate order."""
    factors = gates * (1 - gates)
    factors[:, 2 * n : 3 * n] = 1.0
    return factors
