"""Mask construction: one method object per way of choosing which weights to keep.

In the manner of ``torch.nn.utils.prune``, whose ``BasePruningMethod`` subclasses override only
``compute_mask``: a :class:`MaskMethod` places one matrix's kept weights, and the registry
(:data:`MASK_METHODS`, filled by :func:`register`) is the one list of methods every caller
reads (the experiment, the command line, the benchmarks). A new method is one subclass here
plus its ``@register``.

Every method keeps in each matrix as many weights as the global magnitude threshold would,
so all of them prune each matrix equally; they differ only in where inside a matrix the kept
weights sit (inputs = columns, outputs = rows of its bipartite graph):

* ``magnitude``: the largest weights (one threshold over all matrices together);
* ``random``: uniformly random entries of each matrix (the control);
* ``expander``: a random near-biregular graph (:func:`expander_mask`); random biregular
  graphs are near-Ramanujan expanders (Marcus, Spielman & Srivastava 2015; Friedman 2008);
* ``anti-expander``: the same count in two disconnected dense blocks on few neurons
  (:func:`anti_expander_mask`): ``s2 = s1``, no spectral gap.

Imports numpy but not torch (tensors come in as arguments), so the method names load with
the command line's option checks.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from core.checks import check_choice
from core.errors import SparseNASError

if TYPE_CHECKING:
    import torch


class MaskMethod(ABC):
    """How one pruning method places the kept weights of a matrix.

    :meth:`masks` fixes each matrix's count by the global magnitude threshold and asks
    :meth:`compute_mask` where to put them; subclasses override only that.
    """

    name: ClassVar[str]

    @abstractmethod
    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        """A boolean mask of ``weight``'s shape with exactly ``keep`` True entries."""

    def masks(
        self, tensors: Sequence[torch.Tensor], n_prune: int, *, seed: int = 0
    ) -> list[torch.Tensor]:
        """Masks that prune exactly ``n_prune`` entries over ``tensors`` (2-d), each tensor
        keeping as many as under the global magnitude threshold; drawn from ``seed``."""
        magnitude = global_magnitude_masks(tensors, n_prune)
        rng = np.random.default_rng(seed)
        masks = []
        for tensor, kept in zip(tensors, magnitude, strict=True):
            if tensor.dim() != 2:
                raise SparseNASError(
                    f"{self.name} masks need 2-d weights (got {tuple(tensor.shape)})"
                )
            masks.append(tensor.new_tensor(self.compute_mask(tensor, int(kept.sum()), rng)))
        return masks


_REGISTRY: dict[str, MaskMethod] = {}


def register(cls: type[MaskMethod]) -> type[MaskMethod]:
    """Class decorator: add a method to the registry under its ``name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"mask method {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def mask_method(name: object) -> MaskMethod:
    """The registered method called ``name``, else raise naming the value."""
    return _REGISTRY[check_mask_method(name)]


def check_mask_method(method: object) -> str:
    """Return ``method`` if it is a registered mask method, else raise naming the value."""
    return check_choice(method, "mask method", tuple(_REGISTRY))


def method_masks(
    tensors: Sequence[torch.Tensor], n_prune: int, method: str, *, seed: int = 0
) -> list[torch.Tensor]:
    """Masks that prune exactly ``n_prune`` entries over ``tensors`` by the registered
    ``method`` (see :meth:`MaskMethod.masks`), seeded by ``seed`` (magnitude ignores it)."""
    chosen = mask_method(method)
    _check_count(n_prune, sum(t.numel() for t in tensors))
    return chosen.masks(tensors, n_prune, seed=seed)


# -- the methods -------------------------------------------------------------------------------


@register
class MagnitudeMask(MaskMethod):
    """Keep the weights of largest magnitude, one threshold over all matrices together."""

    name = "magnitude"

    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        return global_magnitude_masks([weight], weight.numel() - keep)[0].cpu().numpy() > 0

    def masks(
        self, tensors: Sequence[torch.Tensor], n_prune: int, *, seed: int = 0
    ) -> list[torch.Tensor]:
        """The global threshold itself (any shape; ``seed`` unused)."""
        return global_magnitude_masks(tensors, n_prune)


@register
class RandomMask(MaskMethod):
    """Keep uniformly random entries (the control)."""

    name = "random"

    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        rows, cols = weight.shape
        mask = np.zeros(rows * cols, dtype=bool)
        mask[rng.choice(rows * cols, size=keep, replace=False)] = True
        return mask.reshape(rows, cols)


@register
class ExpanderMask(MaskMethod):
    """Keep a random near-biregular graph (:func:`expander_mask`)."""

    name = "expander"

    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        rows, cols = weight.shape
        return expander_mask(rows, cols, keep, rng)


@register
class AntiExpanderMask(MaskMethod):
    """Keep two disconnected dense blocks on few neurons (:func:`anti_expander_mask`)."""

    name = "anti-expander"

    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        rows, cols = weight.shape
        return anti_expander_mask(rows, cols, keep, rng)


MASK_METHODS: tuple[str, ...] = tuple(_REGISTRY)
"""The registered mask methods, in registration order (the experiment's seeds use it)."""


# -- the mask functions the methods use --------------------------------------------------------


def _check_count(n_prune: object, total: int) -> None:
    if isinstance(n_prune, bool) or not isinstance(n_prune, numbers.Integral):
        raise SparseNASError(f"number of weights to prune must be an integer (got {n_prune!r})")
    if not 0 <= n_prune <= total:
        raise SparseNASError(
            f"cannot prune {n_prune} of {total} weights; choose a count in [0, {total}]"
        )


def global_magnitude_masks(tensors: Sequence[torch.Tensor], n_prune: int) -> list[torch.Tensor]:
    """Masks that zero the ``n_prune`` entries of smallest magnitude over all ``tensors``.

    One global threshold: the magnitudes of every tensor are pooled, sorted (stable, so ties
    go to the earlier tensor and the lower flat index) and the first ``n_prune`` are masked.
    Entries that are already zero sort first, so a pruned entry stays pruned.

    Returns one float mask per tensor, of its shape, dtype and device (1 keep, 0 pruned).
    """
    total = sum(t.numel() for t in tensors)
    _check_count(n_prune, total)
    magnitudes = np.concatenate(
        [t.detach().abs().flatten().cpu().numpy() for t in tensors] or [np.zeros(0)]
    )
    keep = np.ones(total, dtype=bool)
    keep[np.argsort(magnitudes, kind="stable")[: int(n_prune)]] = False
    parts = np.split(keep, np.cumsum([t.numel() for t in tensors])[:-1])
    return [t.new_tensor(part.reshape(t.shape)) for t, part in zip(tensors, parts, strict=True)]


def near_regular_degrees(nodes: int, edges: int, rng: np.random.Generator) -> np.ndarray:
    """Degrees ``floor(edges / nodes)`` for all ``nodes`` and one more for ``edges % nodes``
    of them, picked at random: the most even degree sequence with that sum."""
    base, extra = divmod(edges, nodes)
    degrees = np.full(nodes, base, dtype=np.int64)
    degrees[rng.choice(nodes, size=extra, replace=False)] += 1
    return degrees


def expander_mask(rows: int, cols: int, keep: int, rng: np.random.Generator) -> np.ndarray:
    """A random near-biregular 0/1 mask (``rows`` outputs x ``cols`` inputs, ``keep`` ones).

    Row sums are ``floor(keep / rows)`` or one more, column sums ``floor(keep / cols)`` or one
    more (:func:`near_regular_degrees`). Built by Ryser's greedy construction (each row, in
    random order, takes the columns with the most remaining demand, ties at random; it always
    succeeds for such degree sequences by the Gale-Ryser theorem), then randomised by
    ``2 keep`` attempted degree-preserving double-edge swaps.
    """
    mask = np.zeros((rows, cols), dtype=bool)
    if keep == 0:
        return mask
    if keep > rows * cols:
        raise SparseNASError(f"cannot keep {keep} entries of a {rows} x {cols} matrix")
    row_degrees = near_regular_degrees(rows, keep, rng)
    demand = near_regular_degrees(cols, keep, rng)
    for row in rng.permutation(rows):
        degree = int(row_degrees[row])
        if degree == 0:
            continue
        chosen = np.lexsort((rng.random(cols), -demand))[:degree]
        mask[row, chosen] = True
        demand[chosen] -= 1
    assert not demand.any(), "Ryser's construction left demand: not a Gale-Ryser sequence"
    _shuffle_edges(mask, 2 * keep, rng)
    return mask


def _shuffle_edges(mask: np.ndarray, attempts: int, rng: np.random.Generator) -> None:
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


def anti_expander_mask(rows: int, cols: int, keep: int, rng: np.random.Generator) -> np.ndarray:
    """A 0/1 mask with ``keep`` ones that is a poor expander: two disconnected blocks on as few
    random neurons as can hold them, every other neuron isolated.

    The same fraction of rows and of columns is used, the smallest whose two blocks (halves
    of those rows x halves of those columns) hold ``keep`` entries; each block is itself
    filled by :func:`expander_mask`, half the count each. Two equal disjoint blocks have
    ``s2 = s1``, no spectral gap. Below about 50 % sparsity two blocks cannot hold the
    weights; the rest are then random entries outside the blocks (joining them).
    """
    mask = np.zeros((rows, cols), dtype=bool)
    if keep == 0:
        return mask
    if keep > rows * cols:
        raise SparseNASError(f"cannot keep {keep} entries of a {rows} x {cols} matrix")
    for used_rows in range(1, rows + 1):
        used_cols = min(cols, max(1, round(used_rows * cols / rows)))
        if used_rows == rows:
            used_cols = cols
        halves = [(-(-used_rows // 2), -(-used_cols // 2)), (used_rows // 2, used_cols // 2)]
        if halves[1][0] * halves[1][1] == 0:  # one row or column: one block only
            halves = [(used_rows, used_cols), (0, 0)]
        capacity = sum(r * c for r, c in halves)
        if capacity >= keep or used_rows == rows:
            break
    row_order, col_order = rng.permutation(rows), rng.permutation(cols)
    first = min(-(-keep // 2), halves[0][0] * halves[0][1])
    counts = [first, min(keep - first, halves[1][0] * halves[1][1])]
    row_start = col_start = 0
    for (r, c), count in zip(halves, counts, strict=True):
        block_rows = row_order[row_start : row_start + r]
        block_cols = col_order[col_start : col_start + c]
        mask[np.ix_(block_rows, block_cols)] = expander_mask(r, c, count, rng) if count else 0
        row_start, col_start = row_start + r, col_start + c
    rest = keep - int(mask.sum())
    if rest:
        free = np.flatnonzero(~mask.ravel())
        mask.ravel()[rng.choice(free, size=rest, replace=False)] = True
    return mask
