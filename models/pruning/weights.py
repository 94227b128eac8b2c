"""The weight matrices a pruning target covers, their masks as they are now, and the counts.

Reading only: nothing here installs or changes a mask (``models.pruning.apply`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.errors import SparseNASError
from models.networks import parameter_counts
from models.pruning.targets import RECURRENT_KINDS, check_target


@dataclass(frozen=True)
class PrunableWeight:
    """One weight matrix a target covers: ``module.<attr>`` known as ``name`` in the model."""

    name: str
    module: nn.Module
    attr: str
    kind: str  # "embedding", "i2h", "h2h" or "readout"
    layer: int | None  # recurrent layer index (None for embedding and readout)


def _recurrent_core(model: nn.Module) -> nn.RNNBase:
    rnn = getattr(model, "rnn", None)
    if not isinstance(rnn, nn.RNNBase):
        raise SparseNASError(
            f"magnitude pruning needs a dense model with a torch RNN/GRU/LSTM as `.rnn` "
            f"(got {type(model).__name__})"
        )
    return rnn


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
