"""The search space: a graph generator's parameters as Optuna parameters.

Every trial of a search draws ``family`` (categorical), ``nodes`` (integer), the family's own
parameters and ``graph_seed``; together they rebuild the graph exactly (``SearchSpace.build``).
Family parameters carry the family's prefix, so that TPE never mixes a Watts-Strogatz
rewiring probability with an Erdos-Renyi edge probability:

======  ==========================================  ===============================================
family  parameter                                   range (n = nodes)
======  ==========================================  ===============================================
ws      ``ws_k`` ring degree (even)                 2 .. the largest even number <= min(n-1, n/2)
ws      ``ws_p`` rewiring probability               [0, 1]
ba      ``ba_m`` edges per new node                 1 .. max(1, n // 4)
er      ``er_p`` edge probability                   [1.2 ln(n)/n, min(1, 4 ln(n)/n)]
======  ==========================================  ===============================================

The thesis preset (WS k = n // 5, p = 1; BA m = n // 10; ER p = 2 ln(n)/n) lies inside each
range. ER's range starts above the connectivity threshold ln(n)/n, so rejection rarely redraws.
Ranges that depend on ``nodes`` are Optuna's dynamic ranges (same distribution class, other
bounds), which its samplers support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from core.checks import check_choices
from core.errors import SparseNASError
from graphs.generators import FAMILIES, GraphSpec

SEED_HIGH = 2**31 - 1
"""Largest ``graph_seed``."""

FAMILY_PARAMS: dict[str, tuple[str, ...]] = {
    "ws": ("ws_k", "ws_p"),
    "ba": ("ba_m",),
    "er": ("er_p",),
}
"""The search parameters of each family."""

PARAM_NAMES: tuple[str, ...] = ("family", "nodes", "ws_k", "ws_p", "ba_m", "er_p", "graph_seed")

#: Draws from one Generator before a parameter set is declared to have no connected graph.
BUILD_TRIES = 10


def ws_k_high(nodes: int) -> int:
    """Largest ring degree searched for ``nodes`` nodes (even, at least 2)."""
    return 2 * max(1, min(nodes - 1, nodes // 2) // 2)


def ba_m_high(nodes: int) -> int:
    """Largest number of edges per new BA node searched for ``nodes`` nodes."""
    return max(1, nodes // 4)


def er_p_range(nodes: int) -> tuple[float, float]:
    """The ER edge probabilities searched for ``nodes`` nodes."""
    threshold = math.log(nodes) / nodes
    return min(1.0, 1.2 * threshold), min(1.0, 4.0 * threshold)


@dataclass(frozen=True)
class SearchSpace:
    """Families and an inclusive node range; see the module docstring for the parameters."""

    families: tuple[str, ...]
    nodes: tuple[int, int]

    def __post_init__(self) -> None:
        check_choices(self.families, "graph family", FAMILIES)
        low, high = self.nodes
        if low < 3 or low > high:
            raise SparseNASError(f"the node range must satisfy 3 <= low <= high (got {low}:{high})")

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Suggest every parameter on an Optuna trial (fixed values of an enqueued trial are
        returned as they are); returns the trial's parameters."""
        family = trial.suggest_categorical("family", list(self.families))
        nodes = trial.suggest_int("nodes", *self.nodes)
        params: dict[str, Any] = {"family": family, "nodes": nodes}
        if family == "ws":
            params["ws_k"] = trial.suggest_int("ws_k", 2, ws_k_high(nodes), step=2)
            params["ws_p"] = trial.suggest_float("ws_p", 0.0, 1.0)
        elif family == "ba":
            params["ba_m"] = trial.suggest_int("ba_m", 1, ba_m_high(nodes))
        else:
            params["er_p"] = trial.suggest_float("er_p", *er_p_range(nodes))
        params["graph_seed"] = trial.suggest_int("graph_seed", 0, SEED_HIGH)
        return params

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Parameters drawn uniformly from the same ranges (the predictor's candidate pool)."""
        family = str(self.families[int(rng.integers(len(self.families)))])
        nodes = int(rng.integers(self.nodes[0], self.nodes[1] + 1))
        params: dict[str, Any] = {"family": family, "nodes": nodes}
        if family == "ws":
            params["ws_k"] = 2 * int(rng.integers(1, ws_k_high(nodes) // 2 + 1))
            params["ws_p"] = float(rng.uniform(0.0, 1.0))
        elif family == "ba":
            params["ba_m"] = int(rng.integers(1, ba_m_high(nodes) + 1))
        else:
            params["er_p"] = float(rng.uniform(*er_p_range(nodes)))
        params["graph_seed"] = int(rng.integers(0, SEED_HIGH + 1))
        return params

    def connected_samples(
        self, rng: np.random.Generator, count: int
    ) -> list[tuple[dict[str, Any], nx.Graph]]:
        """``count`` draws of ``sample`` with their graphs; parameter sets that give no
        connected graph are drawn again."""
        drawn = []
        while len(drawn) < count:
            params = self.sample(rng)
            try:
                drawn.append((params, build_graph(params)))
            except SparseNASError:
                continue
        return drawn


def graph_spec(params: dict[str, Any]) -> GraphSpec:
    """The ``GraphSpec`` of a trial's parameters."""
    family, nodes = params["family"], int(params["nodes"])
    if family == "ws":
        return GraphSpec("ws", nodes, k=int(params["ws_k"]), p=float(params["ws_p"]))
    if family == "ba":
        return GraphSpec("ba", nodes, m=int(params["ba_m"]))
    return GraphSpec("er", nodes, p=float(params["er_p"]))


def build_graph(params: dict[str, Any]) -> nx.Graph:
    """The graph of a trial's parameters: a deterministic function of them.

    One numpy Generator seeded by ``graph_seed`` draws up to ``BUILD_TRIES`` graphs (each
    family's generator already retries internally) and the first connected one is kept.

    Raises
    ------
    SparseNASError
        If no connected graph turned up (e.g. a WS ring of degree 2 rewired with p near 1).
    """
    spec = graph_spec(params)
    rng = np.random.default_rng(int(params["graph_seed"]))
    for _ in range(BUILD_TRIES):
        try:
            return spec.build(rng)
        except SparseNASError:
            continue
    raise SparseNASError(f"no connected graph for {spec} with graph_seed {params['graph_seed']}")


def family_columns(params: dict[str, Any]) -> dict[str, Any]:
    """A trial's parameters in the evaluations table's names: family, k, p, m, graph_seed."""
    return {
        "family": params.get("family"),
        "k": params.get("ws_k"),
        "p": params.get("ws_p", params.get("er_p")),
        "m": params.get("ba_m"),
        "graph_seed": params.get("graph_seed"),
    }
