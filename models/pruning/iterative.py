"""Kalra et al.'s procedure on a model: Ramanujan-stopped magnitude pruning in steps, with
retraining between the steps.

Each step (``models.pruning.ramanujan.ramanujan_step``) proposes to prune 10 % of every
still-pruned matrix's remaining weights by magnitude, stops a matrix whose graph would leave
the Ramanujan bound, installs the masks (pruned entries stay pruned) and then calls the
caller's ``retrain`` (a :class:`StepTrainer`), which trains with the masks fixed and returns
an accuracy. The run ends at the target sparsity or when every matrix has stopped. Every
step leaves one history row: the sparsity reached, the spectral gap and the Ramanujan gap of
the matrices (min and mean), how many have stopped, and the accuracy.

Training lives above this layer (``nas.experiments``), so it comes in as a callable.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from torch import nn

from core.checks import check_int, check_real
from graphs.spectral import bipartite_spectra
from models.pruning.apply import install_masks
from models.pruning.ramanujan import DEFAULT_STEP_FRACTION, ramanujan_step
from models.pruning.targets import check_amount
from models.pruning.weights import effective_weight, prunable_weights, weight_mask


class StepTrainer(Protocol):
    """Retrain the model after pruning step ``step`` (masks fixed); return its accuracy."""

    def __call__(self, step: int) -> float: ...


def prune_ramanujan(
    model: nn.Module,
    target: str,
    amount: float,
    *,
    fraction: float = DEFAULT_STEP_FRACTION,
    retrain: StepTrainer | None = None,
    max_steps: int = 1000,
) -> list[dict[str, object]]:
    """Prune ``target`` of ``model`` towards ``amount`` (``round(amount * n)`` of its ``n``
    weights) in Ramanujan-stopped steps, retraining between them (module doc).

    Returns one row per step, step 0 being the model as it came in: ``step``, ``pruned``,
    ``sparsity``, ``matrices_stopped`` (no longer pruned), ``stopped_now`` (their names, at
    this step), ``spectral_gap_min/mean``, ``ramanujan_gap_min/mean`` and ``accuracy`` (what
    ``retrain`` returned; NaN at step 0 or without ``retrain``).
    """
    amount = check_amount(amount)
    check_real(fraction, "fraction", low=0.0, high=1.0, low_open=True)
    check_int(max_steps, "max_steps", low=1)
    weights = prunable_weights(model, target)
    total = sum(effective_weight(w).numel() for w in weights)
    n_prune = int(round(amount * total))
    masks = [weight_mask(w).detach().cpu().numpy() > 0 for w in weights]
    active = [bool(m.any()) for m in masks]
    history = [_row(0, masks, active, [], math.nan)]
    for step in range(1, max_steps + 1):
        need = n_prune - sum(int(m.size - m.sum()) for m in masks)
        if need <= 0 or not any(active):
            break
        magnitudes = [effective_weight(w).abs().cpu().numpy() for w in weights]
        outcome = ramanujan_step(magnitudes, masks, active, need, fraction)
        masks, active = outcome.masks, outcome.active
        reference = [weight_mask(w) for w in weights]
        install_masks(weights, [r.new_tensor(m) for r, m in zip(reference, masks, strict=True)])
        accuracy = math.nan if retrain is None else float(retrain(step))
        stopped = [weights[i].name for i in outcome.stopped]
        history.append(_row(step, masks, active, stopped, accuracy))
    return history


def _row(
    step: int, masks: list[np.ndarray], active: list[bool], stopped: list[str], accuracy: float
) -> dict[str, object]:
    spectra = bipartite_spectra([m.T.astype(float) for m in masks])
    kept = sum(int(m.sum()) for m in masks)
    total = sum(m.size for m in masks)
    return {
        "step": step,
        "pruned": total - kept,
        "sparsity": (total - kept) / total,
        "matrices_stopped": sum(not a for a in active),
        "stopped_now": ";".join(stopped),
        "spectral_gap_min": float(spectra["gap"].min()),
        "spectral_gap_mean": float(spectra["gap"].mean()),
        "ramanujan_gap_min": float(spectra["ramanujan_gap"].min()),
        "ramanujan_gap_mean": float(spectra["ramanujan_gap"].mean()),
        "accuracy": accuracy,
    }


__all__ = ["StepTrainer", "prune_ramanujan"]
