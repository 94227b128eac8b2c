"""Mask construction: one method object per way of choosing which weights to keep.

In the manner of ``torch.nn.utils.prune``, whose ``BasePruningMethod`` subclasses override only
``compute_mask``: a :class:`MaskMethod` places one matrix's kept weights, and the registry
(:data:`MASK_METHODS`, filled by :func:`register`) is the one list of methods every caller
reads (the experiment, the command line, the benchmarks). A new method is one subclass here
plus its ``@register``.

Every one-shot method keeps in each matrix as many weights as the global magnitude threshold
would (``degree-blocks`` up to one weight), so all of them prune each matrix equally; they
differ only in where inside a matrix the kept weights sit (inputs = columns, outputs = rows
of its bipartite graph):

* ``magnitude``: the largest weights (one threshold over all matrices together);
* ``random``: uniformly random entries of each matrix (the control);
* ``expander``: a random near-biregular graph (:func:`expander_mask`); random biregular
  graphs are near-Ramanujan expanders (Marcus, Spielman & Srivastava 2015; Friedman 2008);
* ``anti-expander``: the same count in two disconnected dense blocks on few neurons
  (:func:`anti_expander_mask`): ``s2 = s1``, no spectral gap;
* ``degree-blocks``: the expander's degree sequence in two disjoint blocks covering every
  neuron (``models.pruning.blocks``): ``s2 = s1`` without isolating neurons;
* ``ramanujan``: Kalra et al.'s iterative magnitude pruning, which stops pruning a matrix
  before its graph leaves the Ramanujan bound (``models.pruning.ramanujan``); it may keep
  more than asked.

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
from models.pruning.bipartite import near_regular_degrees, ryser_fill
from models.pruning.blocks import degree_matched_blocks_mask, even_counts

if TYPE_CHECKING:
    import torch


class MaskMethod(ABC):
    """How one pruning method places the kept weights of a matrix.

    :meth:`masks` fixes each matrix's count by the global magnitude threshold and asks
    :meth:`compute_mask` where to put them; subclasses override only that.
    """

    name: ClassVar[str]
    exact: ClassVar[bool] = True
    """Whether the method prunes exactly the count asked for (an early-stopping one may not)."""
    continues: ClassVar[bool] = False
    """Whether the method can prune a pruned model further (else its masks need a fresh one)."""
    reads_weights: ClassVar[bool] = False
    """Whether the weights' values choose the mask (else it is weight-agnostic)."""

    @abstractmethod
    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        """A boolean mask of ``weight``'s shape with exactly ``keep`` True entries."""

    def masks(
        self, tensors: Sequence[torch.Tensor], n_prune: int, *, seed: int = 0
    ) -> list[torch.Tensor]:
        """Masks that prune exactly ``n_prune`` entries over ``tensors`` (2-d), each tensor
        keeping its :meth:`counts` (by default as many as under the global magnitude
        threshold); drawn from ``seed``."""
        for tensor in tensors:
            if tensor.dim() != 2:
                raise SparseNASError(
                    f"{self.name} masks need 2-d weights (got {tuple(tensor.shape)})"
                )
        rng = np.random.default_rng(seed)
        return [
            tensor.new_tensor(self.compute_mask(tensor, keep, rng))
            for tensor, keep in zip(tensors, self.counts(tensors, n_prune), strict=True)
        ]

    def counts(self, tensors: Sequence[torch.Tensor], n_prune: int) -> list[int]:
        """How many weights each tensor keeps: as many as under the global magnitude
        threshold that prunes ``n_prune``."""
        return [int(kept.sum()) for kept in global_magnitude_masks(tensors, n_prune)]


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
    continues = True
    reads_weights = True

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


@register
class DegreeBlocksMask(MaskMethod):
    """Keep two disjoint near-biregular blocks with the expander's degree sequence
    (:func:`models.pruning.blocks.degree_matched_blocks_mask`)."""

    name = "degree-blocks"

    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        rows, cols = weight.shape
        return degree_matched_blocks_mask(rows, cols, keep, rng)

    def counts(self, tensors: Sequence[torch.Tensor], n_prune: int) -> list[int]:
        """Magnitude's counts, with odd ones evened in pairs (one weight moves between two
        matrices) so that the blocks can be exact copies (``blocks.even_counts``)."""
        return even_counts(super().counts(tensors, n_prune), [t.numel() for t in tensors])


@register
class RamanujanMask(MaskMethod):
    """Kalra et al.'s iterative magnitude pruning, each matrix stopped before its graph
    leaves the Ramanujan bound (``models.pruning.ramanujan``). Here the steps run without
    retraining between them; ``models.pruning.iterative`` retrains between steps. It may
    keep more weights than asked: that is its stopping criterion."""

    name = "ramanujan"
    exact = False
    continues = True
    reads_weights = True

    def compute_mask(self, weight: torch.Tensor, keep: int, rng: np.random.Generator) -> np.ndarray:
        return self.masks([weight], weight.numel() - keep)[0].cpu().numpy() > 0

    def masks(
        self, tensors: Sequence[torch.Tensor], n_prune: int, *, seed: int = 0
    ) -> list[torch.Tensor]:
        """Steps from the current zeros (pruned entries stay pruned; ``seed`` unused)."""
        # imported here: the rule needs networkx (graphs.spectral), the option checks do not
        from models.pruning.ramanujan import ramanujan_masks

        magnitudes = [t.detach().abs().cpu().numpy() for t in tensors]
        masks, _ = ramanujan_masks(magnitudes, n_prune, masks=[m != 0 for m in magnitudes])
        return [t.new_tensor(m) for t, m in zip(tensors, masks, strict=True)]


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
    return ryser_fill(
        near_regular_degrees(rows, keep, rng), near_regular_degrees(cols, keep, rng), rng
    )


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
