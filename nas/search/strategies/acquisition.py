"""Choosing a round from scored candidates: an upper confidence bound or independent Thompson
samples (``acquisition_scores``; for the pareto objective, ParEGO-style weighted sums with
the size), picked greedily with local penalisation so a round does not spend its slots on
near-copies."""

from __future__ import annotations

import math

import numpy as np

from core.checks import check_choice
from nas.search.strategies import ACQUISITIONS
from nas.search.strategies.base import ACQUISITION_STREAM, MODEL_STREAM

BANDWIDTH_SHARE = 0.02
"""Local penalisation's h^2, as a share of the median squared distance between candidates."""


def acquisition_scores(
    mean: np.ndarray,
    std: np.ndarray,
    count: int,
    *,
    acquisition: str,
    kappa: float,
    seed: int,
    round_index: int,
) -> np.ndarray:
    """One row of candidate scores per slot of the round, ``(count, candidates)``.

    ``ucb``: ``mean + kappa * std`` in every row. ``thompson``: independent Thompson
    sampling (BANANAS' ITS, White et al. 2021): each slot draws its own
    ``normal(mean, std)`` per candidate, so every slot is chosen by a fresh sample of what
    the ensemble believes; seeded by ``(seed, round)``, a resumed or repeated round draws the
    same samples. ``kappa`` is unused by ``thompson``.
    """
    check_choice(acquisition, "acquisition", ACQUISITIONS)
    mean, std = np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
    slots = max(int(count), 1)
    if acquisition == "ucb":
        return np.tile(mean + kappa * std, (slots, 1))
    rng = np.random.default_rng([seed, ACQUISITION_STREAM, round_index])
    return mean + np.maximum(std, 0.0) * rng.standard_normal((slots, len(mean)))


def select_round(
    rows: np.ndarray,
    sizes: np.ndarray,
    scores: np.ndarray,
    is_local: np.ndarray,
    count: int,
    n_local: int,
    *,
    pareto: bool,
    seed: int,
) -> list[int]:
    """Indices of up to ``count`` candidates: the first ``n_local`` slots from the local
    moves (``is_local``), the rest from the pool. ``scores`` is one score per candidate, or
    one row of them per slot (``acquisition_scores``). After each pick every candidate's
    shifted score is multiplied by ``1 - exp(-d^2 / 2h^2)``, d its distance to the pick in
    standardised features. With ``pareto``, slot i scores ``w * z(score) - (1 - w) *
    z(log size)``, the weights w spread evenly over [0, 1]."""
    per_slot = np.atleast_2d(np.asarray(scores, dtype=float))
    scale = rows.std(axis=0)
    z = (rows - rows.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    rng = np.random.default_rng([seed, MODEL_STREAM, len(rows)])
    sample = z[rng.choice(len(z), size=min(len(z), 256), replace=False)]
    pair_d2 = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1)
    median = float(np.median(pair_d2[np.triu_indices(len(sample), 1)])) if len(sample) > 1 else 1.0
    h2 = max(BANDWIDTH_SHARE * median, 1e-9)
    if pareto:
        size_z = _standard(np.log(np.maximum(sizes, 1.0)))
    penalty = np.ones(len(rows))
    chosen: list[int] = []
    for slot in range(min(count, len(rows))):
        score = per_slot[min(slot, len(per_slot) - 1)]
        if pareto:
            weight = (slot + 0.5) / count
            score = weight * _standard(score) - (1.0 - weight) * size_z
        allowed = is_local if slot < n_local else ~is_local
        if not allowed.any() or all(i in chosen for i in np.flatnonzero(allowed)):
            allowed = np.ones(len(rows), dtype=bool)
        shifted = (score - score.min() + 1e-9) * penalty
        shifted[~allowed] = -math.inf
        shifted[chosen] = -math.inf
        if not np.isfinite(shifted).any():
            break
        pick = int(np.argmax(shifted))
        chosen.append(pick)
        d2 = ((z - z[pick]) ** 2).sum(axis=1)
        penalty *= 1.0 - np.exp(-d2 / (2.0 * h2))
    return chosen


def _standard(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 0 else 1.0)
