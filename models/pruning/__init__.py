"""Pruning of the dense base model, in the manner of ``torch.nn.utils.prune``.

The pruning baseline of the thesis: zero the recurrent weights of smallest magnitude, with one
threshold over all recurrent layers together (a *global* threshold), keep the zeros fixed and
retrain. One job per module:

- ``models.pruning.targets``: what can be pruned (``TARGETS``) and how much (torch-free);
- ``models.pruning.methods``: mask construction, one ``MaskMethod`` object per method
  (magnitude, random, expander, anti-expander, degree-blocks, ramanujan) in one registry,
  ``MASK_METHODS`` (torch-free); its parts: ``bipartite`` (graphs of a given degree
  sequence), ``blocks`` (the degree-matched block control) and ``ramanujan`` (Kalra et al.'s
  Ramanujan-stopped pruning step);
- ``models.pruning.iterative``: that step on a model, retraining between steps;
- ``models.pruning.weights``: the matrices a target covers, their masks and the counts;
- ``models.pruning.apply``: applying and removing masks, loading a pruned model's state;
- ``models.pruning.schedules``: gradual pruning while training (Zhu & Gupta's cubic schedule).

Every name below is importable from ``models.pruning``; each is imported on first use, so the
command line reads ``TARGETS`` and ``MASK_METHODS`` without importing torch.
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562)
    from models.pruning.apply import (
        install_masks,
        load_pruned_state_dict,
        prune_magnitude,
        prune_method,
        prune_to_nonzero,
        remove_pruning,
    )
    from models.pruning.bipartite import near_regular_degrees, ryser_fill
    from models.pruning.blocks import degree_matched_blocks_mask
    from models.pruning.iterative import StepTrainer, prune_ramanujan
    from models.pruning.methods import (
        MASK_METHODS,
        AntiExpanderMask,
        DegreeBlocksMask,
        ExpanderMask,
        MagnitudeMask,
        MaskMethod,
        RamanujanMask,
        RandomMask,
        anti_expander_mask,
        check_mask_method,
        expander_mask,
        global_magnitude_masks,
        mask_method,
        method_masks,
        register,
    )
    from models.pruning.ramanujan import is_ramanujan, ramanujan_masks, ramanujan_step
    from models.pruning.schedules import (
        CubicSchedule,
        GradualPruner,
    )
    from models.pruning.targets import (
        RECURRENT_KINDS,
        TARGETS,
        check_amount,
        check_target,
    )
    from models.pruning.weights import (
        PrunableWeight,
        count_pruned,
        effective_weight,
        is_pruned,
        prunable_weights,
        pruned_parameter_counts,
        pruning_summary,
        recurrent_nonzero,
        weight_mask,
    )

_HOMES = {
    "RECURRENT_KINDS": "models.pruning.targets",
    "TARGETS": "models.pruning.targets",
    "check_amount": "models.pruning.targets",
    "check_target": "models.pruning.targets",
    "MASK_METHODS": "models.pruning.methods",
    "AntiExpanderMask": "models.pruning.methods",
    "DegreeBlocksMask": "models.pruning.methods",
    "RamanujanMask": "models.pruning.methods",
    "degree_matched_blocks_mask": "models.pruning.blocks",
    "ryser_fill": "models.pruning.bipartite",
    "is_ramanujan": "models.pruning.ramanujan",
    "ramanujan_masks": "models.pruning.ramanujan",
    "ramanujan_step": "models.pruning.ramanujan",
    "StepTrainer": "models.pruning.iterative",
    "prune_ramanujan": "models.pruning.iterative",
    "install_masks": "models.pruning.apply",
    "ExpanderMask": "models.pruning.methods",
    "MagnitudeMask": "models.pruning.methods",
    "MaskMethod": "models.pruning.methods",
    "RandomMask": "models.pruning.methods",
    "anti_expander_mask": "models.pruning.methods",
    "check_mask_method": "models.pruning.methods",
    "expander_mask": "models.pruning.methods",
    "global_magnitude_masks": "models.pruning.methods",
    "mask_method": "models.pruning.methods",
    "method_masks": "models.pruning.methods",
    "near_regular_degrees": "models.pruning.bipartite",
    "register": "models.pruning.methods",
    "PrunableWeight": "models.pruning.weights",
    "count_pruned": "models.pruning.weights",
    "effective_weight": "models.pruning.weights",
    "is_pruned": "models.pruning.weights",
    "prunable_weights": "models.pruning.weights",
    "pruned_parameter_counts": "models.pruning.weights",
    "pruning_summary": "models.pruning.weights",
    "recurrent_nonzero": "models.pruning.weights",
    "weight_mask": "models.pruning.weights",
    "load_pruned_state_dict": "models.pruning.apply",
    "prune_magnitude": "models.pruning.apply",
    "prune_method": "models.pruning.apply",
    "prune_to_nonzero": "models.pruning.apply",
    "remove_pruning": "models.pruning.apply",
    "CubicSchedule": "models.pruning.schedules",
    "GradualPruner": "models.pruning.schedules",
}

__getattr__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "AntiExpanderMask",
    "CubicSchedule",
    "DegreeBlocksMask",
    "ExpanderMask",
    "GradualPruner",
    "MASK_METHODS",
    "MagnitudeMask",
    "MaskMethod",
    "PrunableWeight",
    "RECURRENT_KINDS",
    "RamanujanMask",
    "RandomMask",
    "StepTrainer",
    "TARGETS",
    "anti_expander_mask",
    "check_amount",
    "check_mask_method",
    "check_target",
    "count_pruned",
    "degree_matched_blocks_mask",
    "effective_weight",
    "expander_mask",
    "global_magnitude_masks",
    "install_masks",
    "is_pruned",
    "is_ramanujan",
    "load_pruned_state_dict",
    "mask_method",
    "method_masks",
    "near_regular_degrees",
    "prunable_weights",
    "prune_magnitude",
    "prune_method",
    "prune_ramanujan",
    "prune_to_nonzero",
    "pruned_parameter_counts",
    "pruning_summary",
    "ramanujan_masks",
    "ramanujan_step",
    "recurrent_nonzero",
    "register",
    "remove_pruning",
    "ryser_fill",
    "weight_mask",
]
