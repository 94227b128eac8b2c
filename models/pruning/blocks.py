"""The degree-matched block control: a poor expander with the expander's degrees.

The anti-expander (``models.pruning.methods.anti_expander_mask``) isolates most neurons, so
it tests a narrower network as much as a poorer expander. This control keeps what the
expander keeps on every neuron and changes only the wiring: the same near-regular degree
sequence (every output reads ``floor(keep / rows)`` or one more inputs, every input feeds
``floor(keep / cols)`` or one more outputs, as many of each as in the expander), but as two
disjoint near-biregular blocks that together cover every neuron. A neuron is isolated only
where the expander's degrees give it no edge (``keep`` below ``rows`` or ``cols``).

When the degree sequence splits into two equal halves (even ``keep`` with even ``rows`` and
``cols``: the hidden sizes and gate stacks here) the second block is a copy of the first, so
the two blocks share their singular values: ``s2 = s1``, no spectral gap, the Ramanujan gap
as low as two equal halves allow. Otherwise the two blocks differ by a few edges and
``s2`` is close to, not equal to, ``s1``; the method object evens the matrices' counts in
pairs (``DegreeBlocksMask.counts``) so that this happens in one matrix at most. A matrix
with a single row or column, or too few per half, has no two-block form: it gets the
expander's graph (for one input column every mask is a star anyway).
"""

from __future__ import annotations

import numpy as np

from core.errors import SparseNASError
from models.pruning.bipartite import near_regular_degrees, ryser_fill


def _class_range(count: int, high: int, total: int) -> tuple[int, int]:
    """The numbers of high-degree nodes ``count`` of ``total`` nodes (``high`` of them of
    the higher degree) can include."""
    return max(0, count - (total - high)), min(count, high)


def _split(rows: int, cols: int, keep: int) -> tuple[int, int, int, int] | None:
    """Block A's rows ``p``, high-degree rows ``hr``, columns ``m`` and high-degree columns
    ``hc``: equal edge counts on both sides, both blocks fillable, as close to halves as
    possible (exact halves first). None when no split exists."""
    alpha, xr = divmod(keep, rows)
    beta, xc = divmod(keep, cols)
    if keep % 2 == 0 and rows % 2 == 0 and cols % 2 == 0 and xr % 2 == 0 and xc % 2 == 0:
        candidates = [(rows // 2, xr // 2, cols // 2, xc // 2)]
    else:
        candidates = []
        for p in range(1, rows):
            low, high = _class_range(p, xr, rows)
            for m in range(1, cols):
                c_low, c_high = _class_range(m, xc, cols)
                t_low = max(p * alpha + low, m * beta + c_low)
                t_high = min(p * alpha + high, m * beta + c_high)
                if t_low <= t_high:
                    t = min(max(keep // 2, t_low), t_high)  # the edges as even as they go
                    candidates.append((p, t - p * alpha, m, t - m * beta))
        candidates.sort(key=lambda c: abs(2 * c[0] - rows) / rows + abs(2 * c[2] - cols) / cols)
    for p, hr, m, hc in candidates:
        max_row = [alpha + (hr > 0), alpha + (xr - hr > 0)]
        max_col = [beta + (hc > 0), beta + (xc - hc > 0)]
        if (
            max_row[0] <= m
            and max_col[0] <= p
            and max_row[1] <= cols - m
            and max_col[1] <= rows - p
        ):
            return p, hr, m, hc
    return None


def _degrees(count: int, high: int, base: int) -> np.ndarray:
    return np.array([base + 1] * high + [base] * (count - high), dtype=np.int64)


def degree_matched_blocks_mask(
    rows: int, cols: int, keep: int, rng: np.random.Generator
) -> np.ndarray:
    """A 0/1 mask (``rows`` outputs x ``cols`` inputs) with ``keep`` ones: two disjoint
    near-biregular blocks with the expander's degree sequence (module doc)."""
    mask = np.zeros((rows, cols), dtype=bool)
    if keep == 0:
        return mask
    if keep > rows * cols:
        raise SparseNASError(f"cannot keep {keep} entries of a {rows} x {cols} matrix")
    split = _split(rows, cols, keep) if min(rows, cols) > 1 else None
    if split is None:
        return ryser_fill(
            near_regular_degrees(rows, keep, rng), near_regular_degrees(cols, keep, rng), rng
        )
    p, hr, m, hc = split
    alpha, xr = divmod(keep, rows)
    beta, xc = divmod(keep, cols)
    row_a, col_a = _degrees(p, hr, alpha), _degrees(m, hc, beta)
    row_b, col_b = _degrees(rows - p, xr - hr, alpha), _degrees(cols - m, xc - hc, beta)
    block_a = ryser_fill(row_a, col_a, rng)
    same = np.array_equal(row_a, row_b) and np.array_equal(col_a, col_b)
    block_b = block_a.copy() if same else ryser_fill(row_b, col_b, rng)
    row_order, col_order = rng.permutation(rows), rng.permutation(cols)
    mask[np.ix_(row_order[:p], col_order[:m])] = block_a
    mask[np.ix_(row_order[p:], col_order[m:])] = block_b
    return mask


def even_counts(counts: list[int], sizes: list[int]) -> list[int]:
    """``counts`` with the odd ones paired off, one more in the first of a pair and one less
    in the second (each still in [0, size]): the same total, at most one odd count left."""
    result = list(counts)
    odd = [i for i, c in enumerate(result) if c % 2]
    for first, second in zip(odd[::2], odd[1::2], strict=False):
        if result[first] < sizes[first] and result[second] > 0:
            result[first] += 1
            result[second] -= 1
        elif result[first] > 0 and result[second] < sizes[second]:
            result[first] -= 1
            result[second] += 1
    return result
