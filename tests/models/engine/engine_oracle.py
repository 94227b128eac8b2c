"""The engine's oracle: ``k`` stacked networks trained two steps against each network alone
(the reference loop with ``torch.optim.Adam``), every output, gradient, Adam moment and
weight compared.

Held to 1e-5 relative in double precision, where the two computations differ only by the
order of their sums; in single precision that order alone moves an entry formed by
cancellation by far more than 1e-5 of itself, so single precision (the compiled loop's
vector code and its own exponential) is held to 1e-4 of each tensor's scale.
"""

import torch
from engine_graphs import reference_params, slot_values
from torch import nn

from graphs.dag import layered_dag
from graphs.generators import barabasi_albert, erdos_renyi, watts_strogatz
from models.engine import ADAM_BETAS, ADAM_EPS, StackedAdam, StackedSparseRNN, stack_sizes
from models.networks import SparseRNNClassifier

VOCAB, FEATURES, CLASSES, STEPS = 7, 3, 3, 5
LR, CLIP = 0.05, 1.0  # a clip of 1 is reached by some networks' gradients, not by all
#: Relative tolerance per dtype; the absolute one is this times each tensor's largest entry,
#: so that tensors of small scale (Adam's second moments) are held as tightly as large ones.
TOLERANCE = {torch.float64: 1e-5, torch.float32: 1e-4}


def small_dags(k: int):
    """``k`` small graphs of three families, sizes and depths (padding and layer shifts)."""
    makers = (
        lambda i: watts_strogatz(5 + i % 4, 2, 0.5, seed=i),
        lambda i: barabasi_albert(5 + i % 3, 2, seed=i),
        lambda i: erdos_renyi(6 + i % 3, 0.4, seed=i),
    )
    return [layered_dag(makers[i % 3](i)) for i in range(k)]


def assert_equal(got: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    tolerance = TOLERANCE[expected.dtype]
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    atol = tolerance * max(scale, 1e-6)
    torch.testing.assert_close(
        got, expected, rtol=tolerance, atol=atol, msg=lambda m: f"{what}: {m}"
    )


def batches(k: int, batch: int, tokens: bool, seed: int, dtype: torch.dtype, vocab: int = VOCAB):
    """Per network its own inputs (K, B, T[, F]) and ragged lengths (K, B) in 1..T, padded
    as models.data.SequenceSet's are (token 0 or zero rows after each length)."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, STEPS + 1, (k, batch), generator=generator)
    padding = torch.arange(STEPS) >= lengths[..., None]  # (K, B, T)
    if tokens:
        inputs = torch.randint(1, vocab, (k, batch, STEPS), generator=generator)
        inputs[padding] = 0
    else:
        inputs = torch.randn(k, batch, STEPS, FEATURES, generator=generator, dtype=dtype)
        inputs[padding] = 0.0
    labels = torch.randint(0, CLASSES, (k, batch), generator=generator)
    return inputs, lengths, labels


def build(
    dags, cell: str, tokens: bool, dtype: torch.dtype, vocab: int = VOCAB, readout: str = "last"
):
    kind = {"vocab_size": vocab, "embedding_dim": 4} if tokens else {"n_features": FEATURES}
    models = [
        SparseRNNClassifier(d, cell, CLASSES, seed=i, readout=readout, **kind).to(dtype)
        for i, d in enumerate(dags)
    ]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    return models, stack


def assert_training_matches_alone(
    cell: str,
    k: int,
    tokens: bool,
    dtype: torch.dtype = torch.float64,
    batch: int = 9,
    vocab: int = VOCAB,
    readout: str = "last",
) -> None:
    """Two steps (forward, loss, backward, clipped Adam) of ``k`` stacked networks against
    each network alone: outputs and gradients at every step, Adam's moments and the weights
    after each."""
    dags = small_dags(k)
    models, stack = build(dags, cell, tokens, dtype, vocab, readout)
    adam = StackedAdam(stack.parameters(), LR, CLIP)
    alone = [
        torch.optim.Adam(m.parameters(), lr=LR, betas=ADAM_BETAS, eps=ADAM_EPS) for m in models
    ]
    for step in range(2):
        inputs, lengths, labels = batches(k, batch, tokens, step, dtype, vocab)
        stack.flat.grad = None
        out = stack.forward(inputs, lengths)
        loss = nn.functional.cross_entropy(out.flatten(0, 1), labels.flatten(), reduction="sum")
        (loss / batch).backward()  # each network's mean loss, summed: its own gradient
        adam.step(torch.ones(k, dtype=torch.bool))
        moments = (adam.exp_avg[0], adam.exp_avg_sq[0])
        for row, model in enumerate(models):
            params = reference_params(model)
            optimizer = alone[row]
            optimizer.zero_grad()
            expected = model(inputs[row], lengths[row])
            assert_equal(out[row].detach(), expected.detach(), f"step {step} outputs of {row}")
            nn.functional.cross_entropy(expected, labels[row]).backward()
            grads = slot_values(stack, stack.flat.grad, row, model)
            for name, param in params.items():
                assert_equal(grads[name], param.grad, f"step {step} grad {name} of {row}")
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            optimizer.step()
            got_m, got_v = (slot_values(stack, m, row, model) for m in moments)
            weights = slot_values(stack, stack.flat.detach(), row, model)
            for name, param in params.items():
                state = optimizer.state[param]
                assert_equal(got_m[name], state["exp_avg"], f"step {step} m {name} of {row}")
                assert_equal(got_v[name], state["exp_avg_sq"], f"step {step} v {name} of {row}")
                assert_equal(weights[name], param.detach(), f"step {step} {name} of {row}")
