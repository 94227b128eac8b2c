"""Gradual pruning while training: Zhu & Gupta's cubic schedule and the pruner that follows it.

Each pruning step is one-shot global magnitude pruning (``models.pruning.apply``) to the
schedule's sparsity; masks only grow, so a pruned weight stays pruned.

References
----------
.. [1] M. Zhu, S. Gupta, To prune, or not to prune: exploring the efficacy of pruning for
   model compression, ICLR workshop 2018 (arXiv 1710.01878).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.utils.hooks import RemovableHandle

from core.checks import check_int
from core.errors import SparseNASError
from models.pruning.apply import prune_magnitude
from models.pruning.targets import check_amount, check_target
from models.pruning.weights import prunable_weights


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
