"""``SearchStrategy``: the one seam between the search loop and how candidates are chosen.

In Optuna's manner the base is small: a round is ``propose``-d (the proposals are enqueued
with their user attributes, so the study records why each was chosen), and whatever the
round leaves to chance is drawn by the strategy's ``sampler`` over the search space's
parameters. Everything is seeded by ``(seed, round)``, so a round's choice is a function of
the study's finished trials: seeded runs repeat and resumed ones pick up where they stopped.
The loop (``nas.search.loop``) and the tabular replay (``benchmarks/replay.py``) drive the same
objects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import optuna

from core.seeds import derive_seed

if TYPE_CHECKING:
    import numpy as np
    from optuna.trial import FrozenTrial

    from nas.search.space import SearchSpace
    from nas.search.spec import SearchSpec

# Streams of numpy SeedSequence([seed, STREAM, round, ...]); one list, so no two collide.
POOL_STREAM, LOCAL_STREAM, MODEL_STREAM, SAMPLER_STREAM = 1, 2, 3, 4
MOVE_STREAM, TOURNAMENT_STREAM, RESTART_STREAM, ACQUISITION_STREAM = 5, 6, 7, 8


def random_sampler(seed: int, round_index: int) -> optuna.samplers.RandomSampler:
    """Uniform draws seeded by (seed, round), so a resumed study does not draw its first
    rounds again."""
    return optuna.samplers.RandomSampler(seed=derive_seed(seed, SAMPLER_STREAM, round_index))


@dataclass
class Proposal:
    """A chosen candidate: the trial parameters and the user attributes to enqueue it with."""

    params: dict[str, Any]
    attrs: dict[str, Any]


@dataclass(frozen=True)
class Warm:
    """What a search starts from besides its own trials: the regressor's feature names and a
    warm-start table's rows (``--warm-start``), and for a tabular replay the fixed candidate
    set ``(parameters, graph)`` the rounds choose from, with, when the caller has them, their
    ``described`` feature rows (in ``features``' order) and sizes by edge list, so that
    strategies built for many seeds do not describe the same graphs again."""

    features: tuple[str, ...]
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    candidates: Sequence[tuple[dict[str, Any], Any]] | None = None
    described: Mapping[str, tuple[np.ndarray, float]] | None = None


class SearchStrategy(ABC):
    """How a search chooses candidates. Subclasses set ``origin`` (the label of trials their
    sampler draws) and implement ``sampler``; ``propose`` and ``warmup_left`` are hooks that
    default to proposing nothing and needing no warm-up."""

    origin: ClassVar[str] = "random"

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: SearchSpec, space: SearchSpace, warm: Warm) -> SearchStrategy:
        """The strategy of a search's settings."""

    @abstractmethod
    def sampler(self, round_index: int) -> optuna.samplers.BaseSampler:
        """The sampler that draws this round's trials that were not proposed."""

    def warmup_left(self, started: int) -> int:
        """How many more networks to draw at random (labelled ``warm-up``) before the first
        round is proposed, ``started`` networks being in the budget already."""
        return 0

    def propose(
        self, trials: Sequence[FrozenTrial], count: int, round_index: int
    ) -> list[Proposal]:
        """Up to ``count`` candidates for round ``round_index``, given the study's trials."""
        return []
