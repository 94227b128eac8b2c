"""How a search chooses its next candidates: one small base class and one registry.

A strategy subclasses ``nas.search.strategies.base.SearchStrategy`` (``propose`` a round, and
the Optuna sampler that draws whatever the round leaves to chance) and is named here, once.
The spec checks ``--strategy`` against this registry, the CLI lists it in its help, the loop
(``nas.search.loop``) and the tabular replay (``benchmarks/replay.py``) build strategies from
it. The registry is light (names, homes, one line each): a strategy's module, with Optuna and
the predictors, is imported only when the strategy is built.

Adding a strategy: write its module with a ``SearchStrategy`` subclass, add one line below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, NamedTuple

from core.errors import SparseNASError

if TYPE_CHECKING:
    from nas.search.strategies.base import SearchStrategy


class StrategyEntry(NamedTuple):
    """A registered strategy: its ``--strategy`` name, ``module:Class`` and one line of help."""

    name: str
    home: str
    summary: str


REGISTRY: dict[str, StrategyEntry] = {
    entry.name: entry
    for entry in (
        StrategyEntry(
            "predictor",
            "nas.search.strategies.predictor:PredictorStrategy",
            "a random warm-up, then rounds chosen by a regressor's upper confidence bound",
        ),
        StrategyEntry("tpe", "nas.search.strategies.sampled:TPEStrategy", "Optuna's TPE sampler"),
        StrategyEntry(
            "random", "nas.search.strategies.sampled:RandomStrategy", "uniform random draws"
        ),
        StrategyEntry(
            "evolution",
            "nas.search.strategies.evolution:EvolutionStrategy",
            "regularized evolution: tournaments in an aging population, children by local moves",
        ),
        StrategyEntry(
            "local",
            "nas.search.strategies.local:LocalSearchStrategy",
            "local search: the best graph's neighbours, a random restart at a local optimum",
        ),
    )
}
"""Every strategy, by name; the first is the default."""

STRATEGIES: tuple[str, ...] = tuple(REGISTRY)

ACQUISITIONS: tuple[str, ...] = ("ucb", "thompson")
"""How the predictor strategy scores its candidates (``nas.search.strategies.acquisition``):
an upper confidence bound, or independent Thompson sampling; the first is the default."""


def strategy_class(name: str) -> type[SearchStrategy]:
    """The class registered as ``name`` (imported now)."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise SparseNASError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    module, _, cls = entry.home.partition(":")
    return getattr(importlib.import_module(module), cls)


def strategies_help() -> str:
    """``name: summary`` of every strategy, for ``--help``."""
    return "; ".join(f"{e.name}: {e.summary}" for e in REGISTRY.values())


__all__ = [
    "ACQUISITIONS",
    "REGISTRY",
    "STRATEGIES",
    "StrategyEntry",
    "strategies_help",
    "strategy_class",
]
