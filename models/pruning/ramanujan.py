"""Kalra et al.'s stopping rule for iterative magnitude pruning: prune a matrix step by step
while its bipartite graph stays Ramanujan. Torch-free (magnitudes come in as arrays).

A weight matrix (outputs x inputs) is a bipartite graph between its inputs and outputs, with
an edge where the mask keeps the weight. With the average degrees ``d_in = edges / inputs``
and ``d_out = edges / outputs`` the graph is *Ramanujan* when its second singular value obeys
``s2 <= sqrt(d_in - 1) + sqrt(d_out - 1)``. For a (c, d)-biregular graph this is the
Ramanujan bound of biregular bipartite graphs (Feng & Li; Li & Sole), which random biregular
graphs nearly meet (Marcus, Spielman & Srivastava); for an irregular graph the average
degrees stand in for c and d, as in Hoory's bound and as in the pruning papers below.
``graphs.spectral.bipartite_spectrum`` computes the same bound for the Sparse-RNNs' layers.

One pruning step (:func:`ramanujan_step`) proposes, for every matrix still being pruned, to
remove ``fraction`` of its remaining weights, those of smallest magnitude (at least one).
A matrix whose proposal would leave the bound is not pruned and is never pruned again;
the others take their proposal. The step never prunes more than ``budget`` weights in all
(the smallest magnitudes over all proposals win), so a run stops at its target sparsity,
or earlier, when every matrix has stopped.

References
----------
.. [1] S. A. Kalra, A. Biswas, P. Mitra, B. Basu, Graph Expansion in Pruned Recurrent Neural
   Network Layers Preserve Performance, Tiny Papers @ ICLR 2024 (arXiv 2403.11100).
.. [2] B. Pal, A. Biswas, P. Mitra, B. Basu, Revisiting the Lottery Ticket Hypothesis: A
   Ramanujan Graph Perspective (OpenReview 2022): prune only the layers that are Ramanujan.
.. [3] S. Hoory, A lower bound on the spectral radius of the universal cover of a graph,
   J. Combin. Theory Ser. B 93 (2005).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphs.spectral import bipartite_spectra

DEFAULT_STEP_FRACTION = 0.1
"""Share of a matrix's remaining weights one step proposes to prune (Kalra et al.'s 10 %)."""
TOLERANCE = 1e-9
"""Slack on ``s2 <= bound`` for round-off (a graph exactly on the bound is Ramanujan)."""


def ramanujan_gaps(masks: Sequence[np.ndarray]) -> np.ndarray:
    """``bound - s2`` of each 0/1 mask (outputs x inputs); ``-inf`` for a mask without edges
    (no graph, no expansion)."""
    if not masks:
        return np.zeros(0)
    gaps = bipartite_spectra([np.asarray(m, dtype=float).T for m in masks])["ramanujan_gap"]
    edges = np.array([np.count_nonzero(m) for m in masks])
    return np.where(edges > 0, gaps, -np.inf)


def is_ramanujan(mask: np.ndarray) -> bool:
    """Whether the bipartite graph of ``mask`` (outputs x inputs) is Ramanujan (module doc)."""
    return bool(ramanujan_gaps([mask])[0] >= -TOLERANCE)


@dataclass
class StepOutcome:
    """What one step did: the new masks, which matrices are still being pruned, how many
    weights it pruned, and which matrices stopped at this step."""

    masks: list[np.ndarray]
    active: list[bool]
    pruned: int
    stopped: list[int]


def ramanujan_step(
    magnitudes: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    active: Sequence[bool],
    budget: int,
    fraction: float = DEFAULT_STEP_FRACTION,
) -> StepOutcome:
    """One step of Ramanujan-stopped magnitude pruning (module doc). ``masks`` are boolean
    (True = kept) and are not changed; at most ``budget`` weights are pruned."""
    proposals: list[tuple[float, int, int]] = []  # (magnitude, matrix, flat index)
    for index, (magnitude, mask, on) in enumerate(zip(magnitudes, masks, active, strict=True)):
        kept = np.flatnonzero(mask.ravel())
        if not on or kept.size == 0:
            continue
        count = min(kept.size, max(1, int(round(fraction * kept.size))))
        values = np.abs(magnitude.ravel()[kept])
        chosen = kept[np.argsort(values, kind="stable")[:count]]
        proposals.extend((float(abs(magnitude.ravel()[c])), index, int(c)) for c in chosen)
    proposals.sort(key=lambda item: item[0])  # stable: matrix order, then index, break ties
    proposals = proposals[: max(int(budget), 0)]
    candidates = [np.array(m, dtype=bool, copy=True) for m in masks]
    for _, index, flat in proposals:
        candidates[index].ravel()[flat] = False
    touched = sorted({index for _, index, _ in proposals})
    gaps = ramanujan_gaps([candidates[i] for i in touched])
    new_masks = [np.array(m, dtype=bool, copy=True) for m in masks]
    new_active = [bool(a) for a in active]
    stopped, pruned = [], 0
    for index, gap in zip(touched, gaps, strict=True):
        if gap >= -TOLERANCE:
            pruned += int(masks[index].sum() - candidates[index].sum())
            new_masks[index] = candidates[index]
        else:
            new_active[index] = False
            stopped.append(index)
    for index, mask in enumerate(new_masks):  # nothing left to prune: stopped as well
        if new_active[index] and not mask.any():
            new_active[index] = False
    return StepOutcome(new_masks, new_active, pruned, stopped)


def ramanujan_masks(
    magnitudes: Sequence[np.ndarray],
    n_prune: int,
    fraction: float = DEFAULT_STEP_FRACTION,
    masks: Sequence[np.ndarray] | None = None,
) -> tuple[list[np.ndarray], int]:
    """Steps of :func:`ramanujan_step` without retraining between them, from ``masks``
    (all kept by default) until ``n_prune`` weights are pruned in all or every matrix has
    stopped. Returns the masks and the number of steps taken."""
    current = [
        np.ones(np.shape(m), dtype=bool) if masks is None else np.asarray(masks[i], dtype=bool)
        for i, m in enumerate(magnitudes)
    ]
    active = [bool(m.any()) for m in current]
    steps = 0
    while any(active):
        need = int(n_prune) - sum(int(m.size - m.sum()) for m in current)
        if need <= 0:
            break
        outcome = ramanujan_step(magnitudes, current, active, need, fraction)
        current, active = outcome.masks, outcome.active
        steps += 1
    return current, steps
