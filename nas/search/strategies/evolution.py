"""Regularized (aging) evolution (Real et al. 2019, "Regularized evolution for image
classifier architecture search"), the baseline of NAS-Bench-101 and -201.

The population is the ``population`` networks finished last (completion order, then trial
number): each new one pushes the oldest out, however good it was. The warm-up fills it with
random draws. Each child of a round comes from a tournament: ``tournament`` members drawn
without replacement, the best by accuracy (``training_targets``: stopped networks with their
extrapolated accuracy, diverged ones at the floor) is the parent, and the child is a random
neighbour of it (``nas.search.strategies.neighbours``: one local move, or in a fixed
candidate set the nearest members) not yet asked. Everything is read from the study's
trials, seeded by (seed, round): a resumed search and a second worker rebuild the population
from the study. The pareto objective is searched for accuracy alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from nas.search.records import NOT_TRAINED, trial_status
from nas.search.space import SearchSpace
from nas.search.spec import SearchSpec
from nas.search.strategies.base import (
    MOVE_STREAM,
    TOURNAMENT_STREAM,
    Proposal,
    SearchStrategy,
    Warm,
    random_sampler,
)
from nas.search.strategies.neighbours import Neighbourhoods, known_targets, seen_edges

TOURNAMENT_SHARE = 1 / 3
"""Tournament size as a share of the population (NASLib's 10 of 30 on NAS-Bench-201)."""
_TRIES = 8
"""Tournaments per child before a slot is left to the sampler (every neighbour asked)."""


class EvolutionStrategy(SearchStrategy):
    """Regularized evolution; see the module docstring.

    Parameters
    ----------
    neighbourhoods : where a parent's children come from.
    seed : the search's seed.
    population : networks in the population (and drawn at random first).
    tournament : members drawn per tournament.
    """

    origin = "random"  # slots no child could fill

    def __init__(
        self, neighbourhoods: Neighbourhoods, seed: int, population: int, tournament: int
    ) -> None:
        self.neighbourhoods = neighbourhoods
        self.seed = seed
        self.population = population
        self.tournament = tournament

    @classmethod
    def from_spec(cls, spec: SearchSpec, space: SearchSpace, warm: Warm) -> EvolutionStrategy:
        """Population: the warm-up's size (``SearchSpec.warmup_trials``); tournament: a third
        of it, at least 2."""
        size = max(2, spec.warmup_trials)
        hoods = Neighbourhoods.for_search(spec, space, warm, MOVE_STREAM)
        return cls(hoods, spec.seed, size, max(2, math.ceil(size * TOURNAMENT_SHARE)))

    def sampler(self, round_index: int) -> optuna.samplers.BaseSampler:
        return random_sampler(self.seed, round_index)

    def warmup_left(self, started: int) -> int:
        return max(0, self.population - started)

    def members(self, trials: Sequence[FrozenTrial]) -> list[tuple[FrozenTrial, float]]:
        """The population: the last ``population`` finished trials with a target, oldest
        first, each with its target."""
        known = known_targets(trials)
        finished = [
            t for t in trials
            if trial_status(t) not in NOT_TRAINED and t.user_attrs.get("edge_list") in known
        ]  # fmt: skip
        finished.sort(key=lambda t: (t.datetime_complete or datetime.min, t.number))
        return [(t, known[t.user_attrs["edge_list"]]) for t in finished[-self.population :]]

    def propose(
        self, trials: Sequence[FrozenTrial], count: int, round_index: int
    ) -> list[Proposal]:
        """Up to ``count`` children, each of one tournament's winner."""
        members = self.members(trials)
        if not members:
            return []
        seen = seen_edges(trials)
        rng = np.random.default_rng([self.seed, TOURNAMENT_STREAM, round_index])
        size = min(self.tournament, len(members))
        proposals = []
        for _ in range(count * _TRIES):
            if len(proposals) == count:
                break
            drawn = rng.choice(len(members), size=size, replace=False)
            parent, _ = max((members[int(i)] for i in drawn), key=lambda m: (m[1], -m[0].number))
            fresh = [
                n for n in self.neighbourhoods.of(parent.params, parent.user_attrs["edge_list"])
                if n.edges not in seen
            ]  # fmt: skip
            if not fresh:
                continue
            child = fresh[int(rng.integers(len(fresh)))]
            seen.add(child.edges)
            attrs: dict[str, Any] = {
                "origin": "evolution", "edge_list": child.edges, "parent": parent.number,
                "move": child.move,
            }  # fmt: skip
            proposals.append(Proposal(params=child.params, attrs=attrs))
        return proposals
