"""Strategies that leave every choice to an Optuna sampler over the generator parameters."""

from __future__ import annotations

import optuna

from core.seeds import derive_seed
from nas.search.space import SearchSpace
from nas.search.spec import SearchSpec
from nas.search.strategies.base import SAMPLER_STREAM, SearchStrategy, Warm, random_sampler


class RandomStrategy(SearchStrategy):
    """Uniform draws (Optuna's RandomSampler), seeded by (seed, round) so a resumed study does
    not draw its first rounds again."""

    origin = "random"

    def __init__(self, seed: int) -> None:
        self.seed = seed

    @classmethod
    def from_spec(cls, spec: SearchSpec, space: SearchSpace, warm: Warm) -> RandomStrategy:
        return cls(spec.seed)

    def sampler(self, round_index: int) -> optuna.samplers.BaseSampler:
        return random_sampler(self.seed, round_index)


class TPEStrategy(SearchStrategy):
    """Optuna's TPE (random for its first ``startup_trials``; constant liar, so the trials a
    round asks before any is told spread out), seeded by (seed, round)."""

    origin = "tpe"

    def __init__(self, seed: int, startup_trials: int) -> None:
        self.seed = seed
        self.startup_trials = startup_trials

    @classmethod
    def from_spec(cls, spec: SearchSpec, space: SearchSpace, warm: Warm) -> TPEStrategy:
        return cls(spec.seed, spec.warmup_trials)

    def sampler(self, round_index: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(
            seed=derive_seed(self.seed, SAMPLER_STREAM, round_index),
            n_startup_trials=max(1, self.startup_trials),
            constant_liar=True,
        )
