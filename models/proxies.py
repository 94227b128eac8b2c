"""Zero-cost proxies: scores of an untrained Sparse-RNN from one forward/backward pass on one
batch, which rank networks before any training (Abdelfattah et al. 2021, "Zero-cost proxies
for lightweight NAS"; White et al. 2021 compare them with trained predictors).

- ``grad_norm``: sum over the weight matrices of the Euclidean norm of the loss gradient;
- ``snip``: sum of ``|w * dL/dw|`` over every weight (Lee et al. 2019, connection
  sensitivity);
- ``synflow``: every parameter replaced by its magnitude, an input of ones fed to the
  recurrent core, ``R`` the sum of the logits; the score is ``sum w * dR/dw`` over the
  weights (Tanaka et al. 2020), in double precision. For a network that is one chain of
  weights it is the chain's length times their product;
- ``jacov``: from the Jacobian ``J`` of each sequence's summed logits with respect to its
  encoded input, ``-sum_i log(v_i + k) + 1 / (v_i + k)`` over the eigenvalues ``v`` of the
  correlation matrix of the rows of ``J``, ``k = 1e-5`` (Mellor et al. 2021, v1): higher
  when the network tells the batch's inputs apart.

"Weights" are the parameter matrices (embedding, input, cross-layer and recurrent weights,
readout), not the biases, as in NASLib. Masked entries have zero gradient, so only the
graph's connections count. The model is left as it was.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional

from models.networks import SparseRNNClassifier

PROXIES: tuple[str, ...] = ("grad_norm", "snip", "synflow", "jacov")
"""The proxies ``zero_cost_proxies`` computes, in its order."""
JACOV_K = 1e-5


def _weights(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The weight matrices (dim >= 2), by name; a masked weight by its stored original."""
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]


def gradient_scores(
    model: SparseRNNClassifier, inputs: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """``grad_norm`` and ``snip`` from one cross-entropy backward pass on the batch."""
    model.zero_grad(set_to_none=True)
    loss = functional.cross_entropy(model(inputs, lengths), labels)
    loss.backward()
    grad_norm = snip = 0.0
    for _, weight in _weights(model):
        grad = weight.grad if weight.grad is not None else torch.zeros_like(weight)
        grad_norm += float(grad.norm())
        snip += float((weight.detach() * grad).abs().sum())
    model.zero_grad(set_to_none=True)
    return {"grad_norm": grad_norm, "snip": snip}


def synflow(model: SparseRNNClassifier, steps: int) -> float:
    """``synflow`` of a copy of the model in double precision (see the module docstring): an
    input of ones, one sequence of ``steps`` steps, fed to the recurrent core."""
    twin = copy.deepcopy(model).double()
    with torch.no_grad():
        for param in twin.parameters():
            param.abs_()
    ones = torch.ones(1, steps, twin.rnn.input_size, dtype=torch.float64)
    total = twin.readout(twin.rnn(ones, torch.tensor([steps]))).sum()
    total.backward()
    score = 0.0
    for name, weight in _weights(twin):
        if name.startswith("embedding"):
            continue  # the ones enter after the embedding
        if weight.grad is not None:
            score += float((weight.detach() * weight.grad).sum())
    return score


def jacov(model: SparseRNNClassifier, inputs: torch.Tensor, lengths: torch.Tensor) -> float:
    """``jacov`` (see the module docstring) on the batch; NaN for a batch of one sequence or
    Jacobian rows that are constant (e.g. all zero), where the correlation is undefined."""
    if len(inputs) < 2:
        return float("nan")
    encoded = model.encode(inputs).detach().requires_grad_(True)
    logits = model.readout(model.rnn(encoded, lengths))
    logits.sum().backward()
    jacobian = encoded.grad.reshape(len(inputs), -1).double()
    model.zero_grad(set_to_none=True)
    corr = torch.corrcoef(jacobian)
    if not torch.isfinite(corr).all():
        return float("nan")
    values = torch.linalg.eigvalsh(corr)
    return float(-(torch.log(values + JACOV_K) + 1.0 / (values + JACOV_K)).sum())


def zero_cost_proxies(
    model: SparseRNNClassifier, inputs: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """Every proxy of ``PROXIES`` for the untrained ``model`` on one batch."""
    scores = gradient_scores(model, inputs, lengths, labels)
    scores["synflow"] = synflow(model, int(lengths.max()))
    scores["jacov"] = jacov(model, inputs, lengths)
    return {name: scores[name] for name in PROXIES}
