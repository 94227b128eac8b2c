"""Bipartite graphs with a given degree sequence, as 0/1 masks (rows = outputs, columns =
inputs): the building blocks of the structured mask methods (``models.pruning.methods``,
``models.pruning.blocks``). Torch-free.

References
----------
.. [1] H. J. Ryser, Combinatorial properties of matrices of zeros and ones, Canadian Journal
   of Mathematics 9 (1957); D. Gale, A theorem on flows in networks, Pacific Journal of
   Mathematics 7 (1957): the Gale-Ryser theorem and the greedy construction.
"""

from __future__ import annotations

import numpy as np


def near_regular_degrees(nodes: int, edges: int, rng: np.random.Generator) -> np.ndarray:
    """Degrees ``floor(edges / nodes)`` for all ``nodes`` and one more for ``edges % nodes``
    of them, picked at random: the most even degree sequence with that sum."""
    base, extra = divmod(edges, nodes)
    degrees = np.full(nodes, base, dtype=np.int64)
    degrees[rng.choice(nodes, size=extra, replace=False)] += 1
    return degrees


def ryser_fill(
    row_degrees: np.ndarray, col_degrees: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A random 0/1 mask with exactly these row and column sums.

    Ryser's greedy construction (each row, in random order, takes the columns with the most
    remaining demand, ties at random; it succeeds whenever the sequences are bigraphic, by
    the Gale-Ryser theorem, e.g. for sequences that each differ by at most one and fit the
    other side), then ``2 edges`` attempted degree-preserving double-edge swaps.
    """
    rows, cols = len(row_degrees), len(col_degrees)
    mask = np.zeros((rows, cols), dtype=bool)
    demand = np.asarray(col_degrees, dtype=np.int64).copy()
    assert int(np.sum(row_degrees)) == int(demand.sum()), "row and column sums differ"
    for row in rng.permutation(rows):
        degree = int(row_degrees[row])
        if degree == 0:
            continue
        chosen = np.lexsort((rng.random(cols), -demand))[:degree]
        mask[row, chosen] = True
        demand[chosen] -= 1
    assert not demand.any() and (demand >= 0).all(), "not a Gale-Ryser (bigraphic) sequence"
    shuffle_edges(mask, 2 * int(mask.sum()), rng)
    return mask


def shuffle_edges(mask: np.ndarray, attempts: int, rng: np.random.Generator) -> None:
    """Degree-preserving double-edge swaps in place: edges (a, b), (c, d) become (a, d),
    (c, b) when neither exists yet."""
    edges = np.argwhere(mask)
    if len(edges) < 2:
        return
    picks = rng.integers(0, len(edges), size=(attempts, 2))
    for first, second in picks:
        (a, b), (c, d) = edges[first], edges[second]
        if a == c or b == d or mask[a, d] or mask[c, b]:
            continue
        mask[a, b] = mask[c, d] = False
        mask[a, d] = mask[c, b] = True
        edges[first] = (a, d)
        edges[second] = (c, b)
