"""Pruning of the dense base model: magnitude (one-shot, gradual), structure-controlled masks,
and the bookkeeping around it.

The pruning baseline of the thesis: zero the recurrent weights of smallest magnitude, with one
threshold taken over all recurrent layers together (a *global* threshold), keep the zeros fixed
and retrain. Masks are ``torch.nn.utils.prune`` masks (``custom_from_mask``): the parameter
moves to ``<name>_orig``, the mask is the buffer ``<name>_mask`` (so ``state_dict`` carries
it), a forward pre-hook rebuilds ``<name> = <name>_orig * <name>_mask`` before every forward,
masked entries get zero gradient and the parameter object is kept, so an optimizer built before
pruning keeps working.

Targets (``TARGETS``), always weight matrices, never biases:

* ``i2h``: the input-to-hidden matrices ``weight_ih_l{k}`` of every recurrent layer;
* ``h2h``: the hidden-to-hidden matrices ``weight_hh_l{k}``;
* ``both``: i2h and h2h together (one threshold over all of them);
* ``all``: every weight matrix of the classifier: the embedding table, i2h, h2h and the
  readout, again under one global threshold.

One mask function (:func:`global_magnitude_masks`) serves both methods: one-shot pruning
(:func:`prune_magnitude`, :func:`prune_to_nonzero`) and gradual pruning while training
(:class:`CubicSchedule`, :class:`GradualPruner`, after Zhu & Gupta). Pruning an already pruned
weight updates its mask buffer in place and never revives a pruned entry, so sparsity only
grows.

Besides magnitude, three one-shot mask methods (``MASK_METHODS``) control the *structure* of
each pruned matrix's bipartite graph (inputs = columns, outputs = rows), to test whether
expansion is what keeps a pruned network accurate (``models.expansion``, docs/expansion.md).
Each keeps in every matrix as many weights as the global magnitude threshold would (so all
four methods prune each matrix equally), but places them ignoring the weights' values; they
differ only in where inside a matrix the kept weights sit:

* ``random``: uniformly random entries of each matrix (the control);
* ``expander``: a random near-biregular graph (:func:`expander_mask`): every output keeps
  ``floor(k / rows)`` or ``ceil(k / rows)`` inputs and every input feeds ``floor(k / cols)``
  or ``ceil(k / cols)`` outputs; random biregular graphs are near-Ramanujan expanders [2]_;
* ``anti-expander``: the same count concentrated on few neurons in two disconnected dense
  blocks (:func:`anti_expander_mask`), so ``s2 = s1`` (no spectral gap) and the other
  neurons are isolated.

References
----------
.. [1] M. Zhu, S. Gupta, To prune, or not to prune: exploring the efficacy of pruning for
   model compression, ICLR workshop 2018 (arXiv 1710.01878).
.. [2] C. Marcus, D. Spielman, N. Srivastava, Interlacing families I: bipartite Ramanujan graphs
   of all degrees, Annals of Mathematics 182 (2015); J. Friedman, A proof of Alon's second
   eigenvalue conjecture, Memoirs of the AMS 195 (2008).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune
from torch.utils.hooks import RemovableHandle

from core.checks import check_choice, check_fraction, check_int
from core.errors import SparseNASError
from models.networks import parameter_counts
from models.prune_targets import TARGETS

RECURRENT_KINDS: tuple[str, ...] = ("i2h", "h2h")
MASK_METHODS: tuple[str, ...] = ("magnitude", "random", "expander", "anti-expander")
"""One-shot mask methods; ``magnitude`` is the global threshold, the others set structure."""


@dataclass(frozen=True)
class PrunableWeight:
    """One weight matrix a target covers: ``module.<attr>`` known as ``name`` in the model."""

    name: str
    module: nn.Module
    attr: str
    kind: str  # "embedding", "i2h", "h2h" or "readout"
    layer: int | None  # recurrent layer index (None for embedding and readout)


# -- validation --------------------------------------------------------------------------------


def check_target(target: object) -> str:
    """Return ``target`` if it is one of ``TARGETS``, else raise naming the value."""
    return check_choice(target, "pruning target", TARGETS)


def check_mask_method(method: object) -> str:
    """Return ``method`` if it is one of ``MASK_METHODS``, else raise naming the value."""
    return check_choice(method, "mask method", MASK_METHODS)


def check_amount(amount: object) -> float:
    """Return ``amount`` as a float if it is a fraction in [0, 1], else raise naming it."""
    return check_fraction(amount, "amount")


def _recurrent_core(model: nn.Module) -> nn.RNNBase:
    rnn = getattr(model, "rnn", None)
    if not isinstance(rnn, nn.RNNBase):
        raise SparseNASError(
            f"magnitude pruning needs a dense model with a torch RNN/GRU/LSTM as `.rnn` "
            f"(got {type(model).__name__})"
        )
    return rnn


# -- what a target covers ----------------------------------------------------------------------


def prunable_weights(model: nn.Module, target: str) -> list[PrunableWeight]:
    """The weight matrices ``target`` covers, in a fixed order: embedding, then per recurrent
    layer its i2h and h2h, then the readout (the order also breaks magnitude ties).

    ``model`` is a ``models.networks.DenseRNNClassifier`` (anything with a torch ``nn.RNN`` /
    ``nn.GRU`` / ``nn.LSTM`` as ``.rnn``; ``all`` also uses ``.embedding`` and ``.readout``).
    """
    target = check_target(target)
    rnn = _recurrent_core(model)
    kinds = {"i2h": ("i2h",), "h2h": ("h2h",), "both": RECURRENT_KINDS, "all": RECURRENT_KINDS}
    weights: list[PrunableWeight] = []
    embedding = getattr(model, "embedding", None)
    if target == "all" and isinstance(embedding, nn.Embedding):
        weights.append(PrunableWeight("embedding.weight", embedding, "weight", "embedding", None))
    for layer in range(rnn.num_layers):
        for kind in kinds[target]:
            attr = f"weight_{'ih' if kind == 'i2h' else 'hh'}_l{layer}"
            weights.append(PrunableWeight(f"rnn.{attr}", rnn, attr, kind, layer))
    readout = getattr(model, "readout", None)
    if target == "all" and isinstance(readout, nn.Linear):
        weights.append(PrunableWeight("readout.weight", readout, "weight", "readout", None))
    return weights


def is_pruned(weight: PrunableWeight) -> bool:
    """Whether ``weight`` carries a torch.nn.utils.prune mask."""
    return f"{weight.attr}_orig" in weight.module._parameters


def effective_weight(weight: PrunableWeight) -> torch.Tensor:
    """The weight the network computes with (``orig * mask`` when pruned), detached."""
    module, attr = weight.module, weight.attr
    if is_pruned(weight):
        orig = module._parameters[f"{attr}_orig"]
        return (orig * module._buffers[f"{attr}_mask"]).detach()
    return module._parameters[attr].detach()


def weight_mask(weight: PrunableWeight) -> torch.Tensor:
    """The mask of ``weight`` (all ones when it is not pruned)."""
    if is_pruned(weight):
        return weight.module._buffers[f"{weight.attr}_mask"]
    return torch.ones_like(weight.module._parameters[weight.attr])


# -- the mask function -------------------------------------------------------------------------


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
    magnitudes = torch.cat([t.detach().abs().flatten().cpu() for t in tensors])
    keep = torch.ones(total, dtype=torch.bool)
    keep[torch.argsort(magnitudes, stable=True)[: int(n_prune)]] = False
    masks = []
    for t, part in zip(tensors, keep.split([t.numel() for t in tensors]), strict=True):
        masks.append(part.reshape(t.shape).to(device=t.device, dtype=t.dtype))
    return masks


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


def method_masks(
    tensors: Sequence[torch.Tensor], n_prune: int, method: str, *, seed: int = 0
) -> list[torch.Tensor]:
    """Masks that prune exactly ``n_prune`` entries over ``tensors`` (2-d) by ``method``.

    ``magnitude`` is :func:`global_magnitude_masks` (``seed`` unused). ``random``,
    ``expander`` and ``anti-expander`` keep as many entries in each tensor as it does (the
    global threshold sets each tensor's sparsity) and place them uniformly at random, by
    :func:`expander_mask` or by :func:`anti_expander_mask`, drawing from ``seed``.
    """
    method = check_mask_method(method)
    total = sum(t.numel() for t in tensors)
    _check_count(n_prune, total)
    magnitude = global_magnitude_masks(tensors, n_prune)
    if method == "magnitude":
        return magnitude
    rng = np.random.default_rng(seed)
    keeps = [int(m.sum()) for m in magnitude]
    masks = []
    for tensor, keep in zip(tensors, keeps, strict=True):
        if tensor.dim() != 2:
            raise SparseNASError(f"{method} masks need 2-d weights (got {tuple(tensor.shape)})")
        rows, cols = tensor.shape
        if method == "random":
            mask = np.zeros(rows * cols, dtype=bool)
            mask[rng.choice(rows * cols, size=keep, replace=False)] = True
            mask = mask.reshape(rows, cols)
        elif method == "expander":
            mask = expander_mask(rows, cols, keep, rng)
        else:
            mask = anti_expander_mask(rows, cols, keep, rng)
        masks.append(torch.from_numpy(mask).to(device=tensor.device, dtype=tensor.dtype))
    return masks


# -- applying and removing masks ---------------------------------------------------------------


def prune_magnitude(model: nn.Module, target: str, amount: float) -> int:
    """One-shot global magnitude pruning: zero the fraction ``amount`` of the ``target``
    weights with the smallest magnitudes (``round(amount * n)`` of the ``n`` weights).

    The threshold is global over every matrix of the target (all recurrent layers together).
    Already pruned entries count as magnitude 0 and stay pruned, so the result has at least
    that many zeros. All-or-nothing: arguments are checked first, and if applying a mask
    fails, every weight is restored as it was.

    Returns the number of target weights pruned after the call.

    Raises
    ------
    SparseNASError
        For an unknown target, an amount outside [0, 1] or a model without a torch RNN core.
    """
    return prune_method(model, target, amount, "magnitude")


def prune_method(
    model: nn.Module, target: str, amount: float, method: str = "magnitude", *, seed: int = 0
) -> int:
    """One-shot pruning of the fraction ``amount`` of the ``target`` weights
    (``round(amount * n)`` of the ``n``) by ``method`` (``MASK_METHODS``; see
    :func:`method_masks`), seeded by ``seed``. Returns the number pruned.

    Methods other than ``magnitude`` place their masks from scratch, so they need ``target``
    unpruned. Same rules as :func:`prune_magnitude` otherwise.
    """
    target, amount = check_target(target), check_amount(amount)
    weights = prunable_weights(model, target)
    n = sum(effective_weight(w).numel() for w in weights)
    return _prune_count(weights, int(round(amount * n)), check_mask_method(method), seed)


def prune_to_nonzero(
    model: nn.Module, target: str, nonzero: int, method: str = "magnitude", *, seed: int = 0
) -> int:
    """Pruning that leaves exactly ``nonzero`` of the ``target`` weights (used to match a
    Sparse-RNN's count of nonzero recurrent weights). Returns the number pruned. Same rules
    as :func:`prune_method`."""
    target, method = check_target(target), check_mask_method(method)
    weights = prunable_weights(model, target)
    n = sum(effective_weight(w).numel() for w in weights)
    if (
        isinstance(nonzero, bool)
        or not isinstance(nonzero, numbers.Integral)
        or not (0 <= nonzero <= n)
    ):
        raise SparseNASError(
            f"nonzero weights must be an integer in [0, {n}] for target {target!r} "
            f"(got nonzero={nonzero!r})"
        )
    return _prune_count(weights, n - int(nonzero), method, seed)


def _prune_count(
    weights: list[PrunableWeight], n_prune: int, method: str = "magnitude", seed: int = 0
) -> int:
    if method != "magnitude" and any(is_pruned(w) for w in weights):
        raise SparseNASError(
            f"{method} masks are placed from scratch: prune an unpruned model "
            "(only magnitude pruning can prune further)"
        )
    masks = method_masks([effective_weight(w) for w in weights], n_prune, method, seed=seed)
    undo: list[tuple[PrunableWeight, bool, torch.Tensor]] = []
    try:
        for weight, mask in zip(weights, masks, strict=True):
            if is_pruned(weight):
                buffer = weight.module._buffers[f"{weight.attr}_mask"]
                undo.append((weight, True, buffer.detach().clone()))
                buffer.mul_(mask)
            else:
                original = weight.module._parameters[weight.attr].detach().clone()
                undo.append((weight, False, original))
                prune.custom_from_mask(weight.module, weight.attr, mask)
            _refresh(weight)
    except BaseException:
        for weight, was_pruned, saved in reversed(undo):
            _restore(weight, was_pruned, saved)
        raise
    return sum(int((weight_mask(w) == 0).sum()) for w in weights)


def _refresh(weight: PrunableWeight) -> None:
    """Recompute ``module.<attr> = orig * mask`` now, as the forward pre-hook would (for
    ``nn.RNN`` modules, setattr also updates their flat weight list)."""
    module, attr = weight.module, weight.attr
    setattr(module, attr, module._parameters[f"{attr}_orig"] * module._buffers[f"{attr}_mask"])


def _restore(weight: PrunableWeight, was_pruned: bool, saved: torch.Tensor) -> None:
    module, attr = weight.module, weight.attr
    if was_pruned:
        module._buffers[f"{attr}_mask"].copy_(saved)
        _refresh(weight)
    elif is_pruned(weight):
        prune.remove(module, attr)  # keeps the Parameter object, bakes the mask in
        with torch.no_grad():
            module._parameters[attr].copy_(saved)


def remove_pruning(model: nn.Module, target: str = "all") -> int:
    """Make the pruning of ``target`` permanent (``torch.nn.utils.prune.remove``): the masked
    entries become plain zeros of the parameter, which gets its name back and may then move
    again in training. Returns the number of weights un-hooked."""
    removed = 0
    for weight in prunable_weights(model, target):
        if is_pruned(weight):
            prune.remove(weight.module, weight.attr)
            removed += 1
    return removed


# -- counting ----------------------------------------------------------------------------------


def pruning_summary(model: nn.Module, target: str = "all") -> list[dict[str, object]]:
    """One row per weight matrix of ``target``: ``name, kind, layer, rows, cols, total,
    pruned`` (entries masked to zero), ``zeros`` (entries of the effective weight that are
    exactly zero, pruned or not) and ``sparsity`` (pruned / total)."""
    rows = []
    for weight in prunable_weights(model, target):
        effective = effective_weight(weight)
        total = effective.numel()
        pruned = int((weight_mask(weight) == 0).sum())
        rows.append(
            {
                "name": weight.name,
                "kind": weight.kind,
                "layer": weight.layer,
                "rows": int(effective.shape[0]),
                "cols": int(effective.shape[1]),
                "total": total,
                "pruned": pruned,
                "zeros": int((effective == 0).sum()),
                "sparsity": pruned / total,
            }
        )
    return rows


def count_pruned(model: nn.Module, target: str = "both") -> tuple[int, int]:
    """``(pruned, total)`` over the weight matrices of ``target``."""
    rows = pruning_summary(model, target)
    return sum(int(r["pruned"]) for r in rows), sum(int(r["total"]) for r in rows)


def recurrent_nonzero(model: nn.Module) -> int:
    """Nonzero recurrent weights (i2h and h2h matrices, unmasked entries; no biases)."""
    pruned, total = count_pruned(model, "both")
    return total - pruned


def pruned_parameter_counts(model: nn.Module) -> dict[str, int]:
    """``models.networks.parameter_counts`` that also subtracts torch.nn.utils.prune masks
    (``<name>_orig`` parameters with a ``<name>_mask`` buffer)."""
    counts = parameter_counts(model)
    masked = 0
    for module in model.modules():
        for name, param in module._parameters.items():
            if param is None or not param.requires_grad or not name.endswith("_orig"):
                continue
            mask = module._buffers.get(f"{name[: -len('_orig')]}_mask")
            if mask is not None:
                masked += int((mask == 0).sum())
    counts["params_nonzero"] -= masked
    return counts


# -- state dict --------------------------------------------------------------------------------


def load_pruned_state_dict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load a (possibly) pruned model's ``state_dict`` into a fresh model of the same shape.

    Every ``<name>_mask`` entry is first installed as a prune mask on ``model`` (so the keys
    ``<name>_orig`` / ``<name>_mask`` exist), then the state is loaded strictly. On failure
    ``model`` is left as it was.

    Raises
    ------
    SparseNASError
        If the state's keys or shapes do not fit ``model``.
    """
    installed: list[tuple[PrunableWeight, torch.Tensor]] = []
    try:
        for key, mask in state_dict.items():
            if not key.endswith("_mask"):
                continue
            owner_path, _, attr = key[: -len("_mask")].rpartition(".")
            try:
                module = model.get_submodule(owner_path)
            except AttributeError:
                raise SparseNASError(
                    f"state dict does not fit the model: no module {owner_path!r} for {key!r}"
                ) from None
            weight = PrunableWeight(key[: -len("_mask")], module, attr, "", None)
            if is_pruned(weight):
                continue
            param = module._parameters.get(attr)
            if param is None or param.shape != mask.shape:
                raise SparseNASError(
                    f"state dict does not fit the model: {key!r} has shape "
                    f"{tuple(mask.shape)}, the model has no such weight of that shape"
                )
            installed.append((weight, param.detach().clone()))
            prune.custom_from_mask(module, attr, mask.to(param.device, param.dtype))
        expected, given = set(model.state_dict()), set(state_dict)
        if expected != given:
            missing = ", ".join(sorted(expected - given)[:5]) or "none"
            unexpected = ", ".join(sorted(given - expected)[:5]) or "none"
            raise SparseNASError(
                f"state dict does not fit the model (missing keys: {missing}; "
                f"unexpected keys: {unexpected})"
            )
        try:
            model.load_state_dict(state_dict)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[-1].strip()
            raise SparseNASError(f"state dict does not fit the model: {first}") from None
    except BaseException:
        for weight, saved in reversed(installed):
            _restore(weight, False, saved)
        raise
    for module in model.modules():
        for name in list(module._parameters):
            if name.endswith("_orig") and f"{name[:-5]}_mask" in module._buffers:
                _refresh(PrunableWeight(name[:-5], module, name[:-5], "", None))


# -- gradual pruning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CubicSchedule:
    """Zhu & Gupta's gradual pruning schedule.

    ``s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3`` for the pruning steps
    ``t = t0, t0 + dt, ..., t0 + n dt``; between pruning steps the sparsity of the last one
    holds, after ``t0 + n dt`` it stays ``s_f``, and before ``t0`` the network is dense (0).

    Parameters
    ----------
    final : s_f, the final sparsity (fraction in [0, 1]).
    steps : n, the number of pruning intervals (>= 1).
    initial : s_i, the sparsity of the first pruning step (<= final).
    begin : t0, the training step of the first pruning step (>= 0).
    interval : dt, training steps between pruning steps (>= 1).
    """

    final: float
    steps: int
    initial: float = 0.0
    begin: int = 0
    interval: int = 1

    def __post_init__(self) -> None:
        check_amount(self.final)
        check_amount(self.initial)
        if self.initial > self.final:
            raise SparseNASError(
                f"initial sparsity must not exceed the final one (got initial={self.initial}, "
                f"final={self.final})"
            )
        check_int(self.steps, "steps", low=1)
        check_int(self.interval, "interval", low=1)
        check_int(self.begin, "begin", low=0)

    @property
    def end(self) -> int:
        """The step of the last pruning step, t0 + n dt."""
        return self.begin + self.steps * self.interval

    def is_pruning_step(self, t: int) -> bool:
        return self.begin <= t <= self.end and (t - self.begin) % self.interval == 0

    def sparsity(self, t: int) -> float:
        """The target sparsity in force at training step ``t``."""
        if t < self.begin:
            return 0.0
        done = min((t - self.begin) // self.interval, self.steps)
        progress = done / self.steps
        return self.final + (self.initial - self.final) * (1.0 - progress) ** 3


class GradualPruner:
    """Prune ``target`` of ``model`` along ``schedule`` while it trains.

    Call :meth:`step` once per training step, or :meth:`attach` it so every forward in
    training mode (one per mini-batch in ``models.training.train_model``) counts as a step;
    evaluation forwards (``model.eval()``) do not count. ``history`` lists the ``(step,
    sparsity)`` of every pruning step taken.
    """

    def __init__(self, model: nn.Module, target: str, schedule: CubicSchedule) -> None:
        self.model = model
        self.target = check_target(target)
        self.schedule = schedule
        prunable_weights(model, self.target)  # fail early on a model we cannot prune
        self.t = 0
        self.history: list[tuple[int, float]] = []

    def step(self) -> float | None:
        """Take training step ``t``: prune first when it is a pruning step. Returns the
        sparsity pruned to, or None."""
        t, self.t = self.t, self.t + 1
        if not self.schedule.is_pruning_step(t):
            return None
        sparsity = self.schedule.sparsity(t)
        prune_magnitude(self.model, self.target, sparsity)
        self.history.append((t, sparsity))
        return sparsity

    def attach(self) -> RemovableHandle:
        """Install masks (all ones) now, so the optimizer sees the final parameter objects,
        and count training-mode forwards as steps. Remove the returned handle to stop."""
        prune_magnitude(self.model, self.target, 0.0)

        def hook(module: nn.Module, _inputs: object) -> None:
            if module.training:
                self.step()

        return self.model.register_forward_pre_hook(hook)
