"""What the predictor learns from: one accuracy target per finished trial with a graph."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from core.status import TrialStatus
from nas.search.records import attr, selection_acc, trial_status


def training_targets(trials: Sequence[FrozenTrial]) -> tuple[list[str], np.ndarray]:
    """Edge lists and accuracy targets the predictor learns from.

    Completed trials give their measured accuracy. A trial stopped early after epoch e with
    accuracy a_e gives ``min(1, a_e + g_e)``, g_e the median of ``final - acc[e]`` over
    completed trials (0 while fewer than three completed trials exist): the pruner stopped it
    because it was behind at epoch e, and this keeps it behind. A diverged trial gives the
    lowest target of the others.
    """
    complete, stopped, diverged = [], [], []
    for trial in trials:
        edges = trial.user_attrs.get("edge_list")
        status = trial_status(trial)
        if not edges or not trial.state.is_finished():
            continue
        if trial.state == TrialState.COMPLETE and selection_acc(trial) is not None:
            complete.append(trial)
        elif status == TrialStatus.STOPPED and selection_acc(trial) is not None:
            stopped.append(trial)
        elif status == TrialStatus.DIVERGED:
            diverged.append(trial)
    edges, targets = [], []
    for trial in complete:
        edges.append(trial.user_attrs["edge_list"])
        targets.append(selection_acc(trial))
    histories = [_accs(t) for t in complete]
    for trial in stopped:
        accs = _accs(trial)
        epoch = len(accs)
        last = selection_acc(trial)
        gains = [h[-1] - h[epoch - 1] for h in histories if len(h) > epoch]
        gain = float(np.median(gains)) if len(gains) >= 3 else 0.0
        edges.append(trial.user_attrs["edge_list"])
        targets.append(min(1.0, last + max(gain, 0.0)))
    floor = min(targets) if targets else 0.0
    for trial in diverged:
        edges.append(trial.user_attrs["edge_list"])
        targets.append(floor)
    return edges, np.asarray(targets, dtype=float)


def _accs(trial: FrozenTrial) -> list[float]:
    return [float("nan") if a is None else float(a) for a in attr(trial, "acc_by_epoch", [])]
