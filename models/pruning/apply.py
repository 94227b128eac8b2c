"""Applying and removing masks on a model's weights, and loading a pruned model's state.

Masks are ``torch.nn.utils.prune`` masks (``custom_from_mask``): the parameter moves to
``<name>_orig``, the mask is the buffer ``<name>_mask`` (so ``state_dict`` carries it), a
forward pre-hook rebuilds ``<name> = <name>_orig * <name>_mask`` before every forward, masked
entries get zero gradient and the parameter object is kept, so an optimizer built before
pruning keeps working. Pruning an already pruned weight updates its mask buffer in place and
never revives a pruned entry, so sparsity only grows. Where the kept weights sit is the
method's choice (``models.pruning.methods``).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn.utils import prune

from core.errors import SparseNASError
from models.pruning.methods import check_mask_method, mask_method, method_masks
from models.pruning.targets import check_amount, check_target
from models.pruning.weights import (
    PrunableWeight,
    effective_weight,
    is_pruned,
    prunable_weights,
    weight_mask,
)


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
    ``models.pruning.methods``), seeded by ``seed``. Returns the number pruned.

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
    if not mask_method(method).continues and any(is_pruned(w) for w in weights):
        raise SparseNASError(
            f"{method} masks are placed from scratch: prune an unpruned model "
            "(only magnitude and ramanujan pruning can prune further)"
        )
    masks = method_masks([effective_weight(w) for w in weights], n_prune, method, seed=seed)
    return install_masks(weights, masks)


def install_masks(weights: list[PrunableWeight], masks: list[torch.Tensor]) -> int:
    """Install ``masks`` (one per weight, 1 keep / 0 prune) on ``weights``: a pruned weight's
    mask buffer is multiplied by its new mask (a pruned entry is never revived), an unpruned
    weight gets a ``torch.nn.utils.prune`` mask. All-or-nothing. Returns the number of
    entries pruned over ``weights`` after the call."""
    undo: list[tuple[PrunableWeight, bool, torch.Tensor]] = []
    try:
        for weight, mask in zip(weights, masks, strict=True):
            if is_pruned(weight):
                buffer = weight.module._buffers[f"{weight.attr}_mask"]
                undo.append((weight, True, buffer.detach().clone()))
                buffer.mul_(mask.to(buffer.device, buffer.dtype))
            else:
                original = weight.module._parameters[weight.attr].detach().clone()
                undo.append((weight, False, original))
                param = weight.module._parameters[weight.attr]
                prune.custom_from_mask(
                    weight.module, weight.attr, mask.to(param.device, param.dtype)
                )
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
