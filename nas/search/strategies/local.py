"""Local search (White et al. 2020, "Local search is state of the art for neural
architecture search benchmarks"): hill climbing over the neighbourhoods of
``nas.search.strategies.neighbours``, with a random restart at each local optimum.

The walk is read from the study's trials at every round, nothing is kept between rounds:

1. The walk started at the last trial labelled ``restart`` (the first walk, at the start:
   the warm-up's random draws are its seeds). Its incumbent is its best finished network
   (accuracy, ``training_targets``); the incumbent then climbs: while some finished
   neighbour of it is better, the best such neighbour becomes the incumbent.
2. The round proposes the incumbent's neighbours not yet asked (``origin`` ``local``, the
   incumbent as ``parent``).
3. Every neighbour asked and finished, none better: a local optimum. The round proposes a
   restart: one random graph (``origin`` ``restart``), which starts the next walk; the
   round's other slots are drawn at random, as are slots whose neighbours are all asked
   but still training.

A walk before any network of it finished climbs from its restart graph. Seeded by (seed,
round): a resumed search and a second worker rebuild the walk from the study. The pareto
objective is searched for accuracy alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from core.errors import SparseNASError
from graphs.io import edges_to_string
from nas.search.space import SearchSpace, build_graph
from nas.search.spec import SearchSpec
from nas.search.strategies.base import (
    LOCAL_STREAM,
    RESTART_STREAM,
    Proposal,
    SearchStrategy,
    Warm,
    random_sampler,
)
from nas.search.strategies.neighbours import Neighbourhoods, known_targets, seen_edges

_RESTART_TRIES = 50
"""Random draws before a restart gives up (every draw already asked, or unconnected)."""


class LocalSearchStrategy(SearchStrategy):
    """Local search with random restarts; see the module docstring.

    Parameters
    ----------
    space : draws the restarts (open space).
    neighbourhoods : the neighbours of a graph.
    seed : the search's seed.
    warmup_trials : random draws before the first round.
    """

    origin = "random"

    def __init__(
        self, space: SearchSpace, neighbourhoods: Neighbourhoods, seed: int, warmup_trials: int
    ) -> None:
        self.space = space
        self.neighbourhoods = neighbourhoods
        self.seed = seed
        self.warmup_trials = warmup_trials

    @classmethod
    def from_spec(cls, spec: SearchSpec, space: SearchSpace, warm: Warm) -> LocalSearchStrategy:
        hoods = Neighbourhoods.for_search(spec, space, warm, LOCAL_STREAM)
        return cls(space, hoods, spec.seed, spec.warmup_trials)

    def sampler(self, round_index: int) -> optuna.samplers.BaseSampler:
        return random_sampler(self.seed, round_index)

    def warmup_left(self, started: int) -> int:
        return max(0, self.warmup_trials - started)

    def incumbent(self, trials: Sequence[FrozenTrial]) -> FrozenTrial | None:
        """The walk's incumbent (step 1 of the module docstring), or None before any."""
        known = known_targets(trials)
        restarts = [t.number for t in trials if t.user_attrs.get("origin") == "restart"]
        start = max(restarts, default=0)
        walk = [t for t in trials if t.number >= start and t.user_attrs.get("edge_list")]
        scored = [t for t in walk if t.state.is_finished() and t.user_attrs["edge_list"] in known]
        if not scored:
            return next((t for t in walk if t.number == start), None) if restarts else None
        by_edges = {t.user_attrs["edge_list"]: t for t in trials if t.user_attrs.get("edge_list")}
        best = max(scored, key=lambda t: (known[t.user_attrs["edge_list"]], -t.number))
        while True:
            value = known.get(best.user_attrs["edge_list"], -np.inf)
            better = [
                n.edges for n in self.neighbourhoods.of(best.params, best.user_attrs["edge_list"])
                if known.get(n.edges, -np.inf) > value
            ]  # fmt: skip
            if not better:
                return best
            best = by_edges[max(better, key=lambda e: known[e])]

    def propose(
        self, trials: Sequence[FrozenTrial], count: int, round_index: int
    ) -> list[Proposal]:
        """The incumbent's neighbours not yet asked, or a restart at a local optimum."""
        best = self.incumbent(trials)
        if best is None:
            return []
        seen = seen_edges(trials)
        known = known_targets(trials)
        neighbours = self.neighbourhoods.of(best.params, best.user_attrs["edge_list"])
        fresh = [n for n in neighbours if n.edges not in seen][:count]
        if fresh:
            return [
                Proposal(n.params, {"origin": "local", "edge_list": n.edges,
                                    "parent": best.number, "move": n.move})
                for n in fresh
            ]  # fmt: skip
        if any(n.edges not in known for n in neighbours):
            return []  # neighbours still training: whether this is an optimum is not known
        restart = self.restart(seen, round_index)
        return [] if restart is None else [restart]

    def restart(self, seen: set[str], round_index: int) -> Proposal | None:
        """A random graph not yet asked (a fixed set: a random member)."""
        rng = np.random.default_rng([self.seed, RESTART_STREAM, round_index])
        members = None if self.neighbourhoods.candidates is None else self.neighbourhoods.members()
        for _ in range(_RESTART_TRIES):
            if members is not None:
                i = int(rng.integers(len(members[1])))
                params, edges = members[0][i], members[1][i]
            else:
                params = self.space.sample(rng)
                try:
                    edges = edges_to_string(build_graph(params))
                except SparseNASError:
                    continue
            if edges not in seen:
                attrs: dict[str, Any] = {"origin": "restart", "edge_list": edges}
                return Proposal(dict(params), attrs)
        return None
