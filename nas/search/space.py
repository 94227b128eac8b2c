"""The search space: a graph generator's parameters as Optuna parameters.

Every trial of a search draws ``family`` (categorical), ``nodes`` (integer), the family's own
parameters and ``graph_seed``; together they rebuild the graph exactly (``build_graph``). The
families, their parameters and their ranges as functions of ``nodes`` come from the registry
``graphs.families.FAMILIES`` (the built-ins' table is in ``graphs.generators``). A parameter is
named ``<family>_<name>`` in the study (``search_name``: ``ws_k``, ``ws_p``, ``ba_m``, ``er_p``),
so that TPE never mixes a Watts-Strogatz rewiring probability with an Erdos-Renyi edge
probability. Ranges that depend on ``nodes`` are Optuna's dynamic ranges (same distribution
class, other bounds), which its samplers support.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from core.checks import check_choices
from core.errors import SparseNASError
from graphs.families import FAMILIES, Parameter, search_name
from graphs.generators import MAX_NODES, GraphSpec
from graphs.generators import ba_m_high as ba_m_high  # re-exported: benchmarks read them here
from graphs.generators import er_p_range as er_p_range
from graphs.generators import ws_k_high as ws_k_high

SEED_HIGH = 2**31 - 1
"""Largest ``graph_seed``."""

FAMILY_PARAMS: dict[str, tuple[str, ...]] = {
    family: tuple(search_name(family, name) for name in FAMILIES.get(family).names)
    for family in FAMILIES
}
"""The search parameters of each family registered when this module was imported."""

PARAM_NAMES: tuple[str, ...] = (
    "family", "nodes", *(name for names in FAMILY_PARAMS.values() for name in names), "graph_seed",
)  # fmt: skip
"""Every search parameter, as ``FAMILY_PARAMS`` (the tables of ``benchmarks/make_table.py``)."""

#: Draws from one Generator before a parameter set is declared to have no connected graph.
BUILD_TRIES = 10


@dataclass(frozen=True)
class SearchSpace:
    """Families and an inclusive node range; see the module docstring for the parameters."""

    families: tuple[str, ...]
    nodes: tuple[int, int]

    def __post_init__(self) -> None:
        check_choices(self.families, "graph family", FAMILIES)
        low, high = self.nodes
        if low < 3 or low > high or high > MAX_NODES:
            raise SparseNASError(
                f"the node range must satisfy 3 <= low <= high <= {MAX_NODES} (got {low}:{high})"
            )

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Suggest every parameter on an Optuna trial (fixed values of an enqueued trial are
        returned as they are); returns the trial's parameters."""
        family = trial.suggest_categorical("family", list(self.families))
        nodes = trial.suggest_int("nodes", *self.nodes)
        params: dict[str, Any] = {"family": family, "nodes": nodes}
        for parameter in FAMILIES.get(family).parameters:
            name = search_name(family, parameter.name)
            params[name] = _suggest(trial, name, parameter, nodes)
        params["graph_seed"] = trial.suggest_int("graph_seed", 0, SEED_HIGH)
        return params

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Parameters drawn uniformly from the same ranges (the predictor's candidate pool)."""
        family = str(self.families[int(rng.integers(len(self.families)))])
        nodes = int(rng.integers(self.nodes[0], self.nodes[1] + 1))
        params: dict[str, Any] = {"family": family, "nodes": nodes}
        for parameter in FAMILIES.get(family).parameters:
            params[search_name(family, parameter.name)] = _sample(rng, parameter, nodes)
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


def _suggest(trial: Any, name: str, parameter: Parameter, nodes: int) -> int | float:
    """One family parameter suggested on an Optuna trial, in its range for ``nodes``."""
    low, high = parameter.search(nodes)
    if parameter.kind is float:
        return trial.suggest_float(name, low, high)
    if parameter.step is None:
        return trial.suggest_int(name, low, high)
    return trial.suggest_int(name, low, high, step=parameter.step)


def _sample(rng: np.random.Generator, parameter: Parameter, nodes: int) -> int | float:
    """One family parameter drawn uniformly from its range (its grid, for a step)."""
    low, high = parameter.search(nodes)
    if parameter.kind is float:
        return float(rng.uniform(low, high))
    step = parameter.step or 1
    return step * int(rng.integers(int(low) // step, int(high) // step + 1))


def graph_spec(params: dict[str, Any]) -> GraphSpec:
    """The ``GraphSpec`` of a trial's parameters."""
    family = FAMILIES.get(params["family"])
    values = {p.name: p.kind(params[search_name(family.name, p.name)]) for p in family.parameters}
    return GraphSpec(family.name, int(params["nodes"]), **values)


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
    """A trial's parameters in the evaluations table's names: family, then every family
    parameter by its own name (k, p, m: WS's and ER's p share a column), then graph_seed."""
    family = params.get("family")
    columns = {"family": family}
    for name in FAMILIES.parameter_names():
        columns[name] = params.get(search_name(str(family), name))
    return {**columns, "graph_seed": params.get("graph_seed")}
