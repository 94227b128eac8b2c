"""The predictor strategy: a random warm-up, then rounds a regressor chooses.

The warm-up draws with Optuna's RandomSampler over the generator parameters
(``nas.search.space``); then ``PredictorStrategy.propose`` picks each round:

1. **Training data.** Every finished trial with a graph: completed ones with their measured
   accuracy; stopped ones with their last accuracy plus the median gain that completed trials
   made from that epoch to the last (``training_targets``); diverged ones with the lowest
   accuracy seen. Rows of a ``--warm-start`` table are added.
2. **Regressor.** A ``predictors.GraphRegressor`` (extra trees by default: a mean and the
   spread over its trees) is fitted on the features of ``predictors.features.feature_row``.
3. **Candidates.** A pool of ``pool_size`` graphs drawn uniformly from the search space,
   plus ``LOCAL_PER_INCUMBENT`` local moves (``nas.search.moves``) around each of the
   ``INCUMBENTS`` best trials; graphs already evaluated are left out. Building and describing
   a graph is what a round pays for, so the pool **rolls**: each round draws
   ``pool_size / POOL_ROUNDS`` fresh graphs, and the pool is the draws of the last
   ``POOL_ROUNDS`` rounds, each built and described once per process (draw j is seeded by
   ``(seed, j)``, so the pool of round r does not depend on when the process started). The
   first predictor rounds hold fewer draws: as many as the study has predictor rounds (its
   trials' ``round`` and ``origin``), this one included. Given a fixed
   ``candidates`` set instead (a tabular benchmark's pool, ``benchmarks/replay.py``), the
   round chooses among its members not yet evaluated, and makes no local moves (their graphs
   would lie outside the set).
4. **Acquisition.** ``ucb``: upper confidence bound ``mean + kappa * std``; ``thompson``:
   independent Thompson sampling, each slot of the round scoring every candidate by its own
   draw from ``normal(mean, std)`` (BANANAS' ITS). For the pareto objective: per slot of the
   round a weighted sum of the standardised score and the standardised log-size, weights
   spread evenly over [0, 1], as in ParEGO. A round is chosen greedily
   with local penalisation: after each pick, every candidate's (shifted) score is multiplied
   by ``1 - exp(-d^2 / 2h^2)``, d its distance to the pick in standardised features, so a
   round does not spend its slots on near-copies. The first ``local_fraction`` of the slots
   go to local moves, the rest to the pool (``nas.search.strategies.acquisition``).

Everything is seeded by ``(seed, round)``, so a round's choice is a function of the study's
finished trials: seeded sequential runs repeat, and a resumed run picks up where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import optuna
from optuna.trial import FrozenTrial

from core.errors import SparseNASError
from core.seeds import derive_seed
from graphs.io import edges_from_string, edges_to_string
from nas.search.moves import mutate
from nas.search.records import pareto_front, ranked_trials
from nas.search.space import SearchSpace, build_graph
from nas.search.spec import SearchSpec
from nas.search.strategies.acquisition import acquisition_scores, select_round
from nas.search.strategies.base import (
    LOCAL_STREAM,
    MODEL_STREAM,
    POOL_STREAM,
    Proposal,
    SearchStrategy,
    Warm,
    random_sampler,
)
from nas.search.strategies.targets import training_targets
from predictors import GraphRegressor
from predictors.features import PARAMS_FEATURE, feature_row
from predictors.names import GRAPH_KINDS

INCUMBENTS = 3
"""Best trials whose neighbourhoods are searched by local moves each round."""
LOCAL_PER_INCUMBENT = 64
POOL_ROUNDS = 8
"""Rounds a pool draw stays in the pool: each round draws ``pool_size / POOL_ROUNDS`` graphs."""
MIN_TRAINING_ROWS = 3
"""Rows the regressor needs before it guides a round (before that: random candidates)."""


@dataclass
class _Candidates:
    params: list[dict[str, Any]] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)
    rows: list[np.ndarray] = field(default_factory=list)
    sizes: list[float] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    parent: list[int | None] = field(default_factory=list)
    move: list[str | None] = field(default_factory=list)

    def add(self, params, edges, described, origin, parent=None, move=None) -> None:
        row, size = described
        self.params.append(params)
        self.edges.append(edges)
        self.rows.append(row)
        self.sizes.append(size)
        self.origin.append(origin)
        self.parent.append(parent)
        self.move.append(move)

    def __len__(self) -> int:
        return len(self.edges)

    def proposal(self, i: int, mean: float, std: float) -> Proposal:
        """Candidate ``i`` as chosen, with its predicted accuracy and spread."""
        attrs: dict[str, Any] = {
            "origin": self.origin[i],
            "predicted_acc": mean,
            "predicted_std": std,
            "edge_list": self.edges[i],
        }
        if self.parent[i] is not None:
            attrs["parent"] = self.parent[i]
            attrs["move"] = self.move[i]
        return Proposal(params=dict(self.params[i]), attrs=attrs)


class PredictorStrategy(SearchStrategy):
    """Predictor-guided rounds; see the module docstring.

    Parameters
    ----------
    space : the search space the pool is drawn from.
    cell : the recurrent cell (the parameter count feature depends on it).
    objective : ``accuracy`` or ``pareto``.
    features : the feature names the regressor uses (``predictors.ALL``, or those a
        warm-start table has).
    seed : the search's seed; every round derives its own streams from it.
    pool_size, kappa, local_fraction, kind, acquisition : see ``nas.search.SearchSpec``.
    pool_rounds : rounds a pool draw stays in the pool (1: a fresh pool every round).
    warm_X, warm_y : extra training rows (a warm-start table), or None.
    candidates : a fixed set of ``(parameters, graph)`` to choose from instead of fresh
        draws (see the module docstring), or None.
    warmup_trials : networks drawn at random before the first round is proposed.
    """

    origin = "random"  # a round the predictor cannot fill is drawn at random

    def __init__(
        self,
        space: SearchSpace,
        cell: str,
        objective: str,
        features: Sequence[str],
        seed: int,
        *,
        pool_size: int = 2000,
        kappa: float = 1.0,
        local_fraction: float = 0.25,
        kind: str = "extratrees",
        acquisition: str = "ucb",
        pool_rounds: int = POOL_ROUNDS,
        warm_X: np.ndarray | None = None,
        warm_y: np.ndarray | None = None,
        candidates: Sequence[tuple[dict[str, Any], nx.Graph]] | None = None,
        warmup_trials: int = 0,
    ) -> None:
        self.space = space
        self.cell = cell
        self.objective = objective
        self.features = tuple(features)
        self.seed = seed
        self.pool_size = pool_size
        self.kappa = kappa
        self.local_fraction = local_fraction
        self.kind = kind
        self.acquisition = acquisition
        self.pool_rounds = pool_rounds
        self.warm_X = warm_X
        self.warm_y = warm_y
        self.candidates = candidates
        self.warmup_trials = warmup_trials
        self._rows: dict[str, tuple[np.ndarray, float]] = {}
        self._fixed: list[tuple[dict[str, Any], nx.Graph, str]] | None = None
        self._draws: dict[int, list[tuple[dict[str, Any], str, tuple[np.ndarray, float]]]] = {}

    @classmethod
    def from_spec(
        cls, spec: SearchSpec, space: SearchSpace, warm: Warm, **extra: Any
    ) -> PredictorStrategy:
        """The strategy of ``spec``'s settings (``extra``: e.g. ``pool_rounds``)."""
        strategy = cls(
            space, spec.cell, spec.objective, warm.features, spec.seed,
            pool_size=spec.pool_size, kappa=spec.kappa, local_fraction=spec.local_fraction,
            kind=spec.predictor, acquisition=spec.acquisition, warm_X=warm.X, warm_y=warm.y,
            candidates=warm.candidates, warmup_trials=spec.warmup_trials, **extra,
        )  # fmt: skip
        strategy._rows.update(warm.described or {})
        return strategy

    def sampler(self, round_index: int) -> optuna.samplers.BaseSampler:
        """Random draws: the warm-up, and the slots a round could not fill."""
        return random_sampler(self.seed, round_index)

    def warmup_left(self, started: int) -> int:
        return max(0, self.warmup_trials - started)

    def describe(
        self, graph: nx.Graph, edges: str | None = None, *, cache: bool = False
    ) -> tuple[np.ndarray, float]:
        """The feature vector of ``graph`` and its Sparse-RNN's nonzero parameter count
        (``cache``: kept by edge list, for the graphs trained, which every round refits on)."""
        key = edges if edges is not None else edges_to_string(graph)
        hit = self._rows.get(key)
        if hit is not None:
            return hit
        values = feature_row(graph, self.cell)
        row = np.array([values[name] for name in self.features], dtype=float)
        result = (row, float(values[PARAMS_FEATURE]))
        if cache:
            self._rows[key] = result
        return result

    def fit(self, trials: Sequence[FrozenTrial], round_index: int) -> Any:
        """The regressor fitted on the finished trials (and warm-start rows); None while there
        are fewer than ``MIN_TRAINING_ROWS``. The ``gnn`` kind learns from the trials' graphs
        themselves (a warm-start table's rows, feature rows without graphs, are not used)."""
        edges, y = training_targets(trials)
        seed = derive_seed(self.seed, MODEL_STREAM, round_index)
        if self.kind in GRAPH_KINDS:
            if len(edges) < MIN_TRAINING_ROWS:
                return None
            from predictors.gnn import GNNRegressor  # PyTorch: only for this kind

            return GNNRegressor(random_state=seed).fit(edges, y)
        X = [self.describe(edges_from_string(e), e, cache=True)[0] for e in edges]
        if self.warm_X is not None and self.warm_y is not None:
            X += list(self.warm_X)
            y = np.concatenate([y, self.warm_y])
        if len(X) < MIN_TRAINING_ROWS:
            return None
        return GraphRegressor(kind=self.kind, random_state=seed).fit(np.vstack(X), y)

    def propose(
        self, trials: Sequence[FrozenTrial], count: int, round_index: int
    ) -> list[Proposal]:
        """Choose ``count`` candidates for this round; [] when the regressor lacks data."""
        model = self.fit(trials, round_index)
        if model is None or count < 1:
            return []
        seen = {t.user_attrs["edge_list"] for t in trials if t.user_attrs.get("edge_list")}
        local = _Candidates()
        if self.candidates is None:  # a fixed set's members only: moves would leave it
            parents = incumbents(trials, self.objective)
            local_moves(
                local, parents, seen, self.space.nodes, self.describe, self.seed, round_index
            )
        earlier = {
            t.user_attrs.get("round") for t in trials
            if t.user_attrs.get("origin") in ("pool", "local")
            and int(t.user_attrs.get("round", round_index)) < round_index
        }  # fmt: skip
        pool = self._pool(seen | set(local.edges), round_index, len(earlier))
        if len(local) + len(pool) == 0:
            return []
        rows = np.vstack(local.rows + pool.rows)
        graph_kind = self.kind in GRAPH_KINDS
        mean, std = model.predict(local.edges + pool.edges if graph_kind else rows, return_std=True)
        is_local = np.arange(len(rows)) < len(local)
        n_local = min(len(local), round(count * self.local_fraction)) if len(local) else 0
        draws = {"acquisition": self.acquisition, "kappa": self.kappa, "seed": self.seed}
        scores = acquisition_scores(mean, std, count, round_index=round_index, **draws)
        chosen = select_round(
            rows, np.asarray(local.sizes + pool.sizes), scores, is_local, count, n_local,
            pareto=self.objective == "pareto", seed=self.seed,
        )  # fmt: skip
        proposals = []
        for index in chosen:
            group, i = (local, index) if is_local[index] else (pool, index - len(local))
            proposals.append(group.proposal(i, float(mean[index]), float(std[index])))
        return proposals

    def _pool(self, seen: set[str], round_index: int, earlier: int) -> _Candidates:
        """The draws of this round and of the ``earlier`` predictor rounds the study records,
        at most ``pool_rounds`` in all: the pool grows to its full size over the first rounds
        instead of being described whole at the first (a fixed cost that dominated short
        searches)."""
        if self.candidates is not None:
            return self._fixed_pool(seen)
        size = min(self.pool_rounds, earlier + 1)
        window = range(round_index - size + 1, round_index + 1)
        self._draws = {j: d for j, d in self._draws.items() if j in window}
        pool = _Candidates()
        for j in window:
            for params, edges, described in self.draw(j):
                if edges not in seen:
                    seen.add(edges)
                    pool.add(params, edges, described, "pool")
        return pool

    def draw(self, index: int) -> list[tuple[dict[str, Any], str, tuple[np.ndarray, float]]]:
        """Pool draw ``index`` (the pool of round r holds draws r - pool_rounds + 1 .. r,
        negative ones included): parameters, edge list and description of each connected
        graph drawn, built once per process and kept while in the window."""
        if index not in self._draws:
            rng = np.random.default_rng([self.seed, POOL_STREAM, index + self.pool_rounds])
            draw = []
            for _ in range(math.ceil(self.pool_size / self.pool_rounds)):
                params = self.space.sample(rng)
                try:
                    graph = build_graph(params)
                except SparseNASError:
                    continue
                edges = edges_to_string(graph)
                draw.append((params, edges, self.describe(graph, edges)))
            self._draws[index] = draw
        return self._draws[index]

    def _fixed_pool(self, seen: set[str]) -> _Candidates:
        if self._fixed is None:  # edge lists and features once: every round scores the set
            self._fixed = [(dict(p), g, edges_to_string(g)) for p, g in self.candidates or ()]
        pool = _Candidates()
        for params, graph, edges in self._fixed:
            if edges not in seen:
                seen.add(edges)
                pool.add(params, edges, self.describe(graph, edges, cache=True), "pool")
        return pool


def incumbents(trials: Sequence[FrozenTrial], objective: str) -> list[FrozenTrial]:
    """The ``INCUMBENTS`` best trials with a graph (accuracy), or as many trials spread evenly
    along the Pareto front (pareto): the parents of a round's local moves."""
    with_graph = [t for t in trials if t.user_attrs.get("edge_list")]
    if objective == "pareto":
        front = pareto_front(with_graph)
        if len(front) <= INCUMBENTS:
            return front
        picks = np.linspace(0, len(front) - 1, INCUMBENTS).round().astype(int)
        return [front[i] for i in sorted(set(picks.tolist()))]
    return ranked_trials(with_graph, INCUMBENTS)


def local_moves(
    local: _Candidates,
    parents: Sequence[FrozenTrial],
    seen: set[str],
    nodes: tuple[int, int],
    describe: Callable[[nx.Graph, str], tuple[np.ndarray, float]],
    seed: int,
    round_index: int,
) -> None:
    """Add to ``local`` up to ``LOCAL_PER_INCUMBENT`` unseen graphs one move
    (``nas.search.moves``) away from each parent, within the node range."""
    low, high = nodes
    for rank, parent in enumerate(parents):
        rng = np.random.default_rng([seed, LOCAL_STREAM, round_index, rank])
        graph = edges_from_string(parent.user_attrs["edge_list"])
        for _ in range(LOCAL_PER_INCUMBENT):
            moved = mutate(graph, rng, min_nodes=low, max_nodes=high)
            if moved is None:
                break
            child, move = moved
            edges = edges_to_string(child)
            if edges in seen:
                continue
            seen.add(edges)
            local.add(
                dict(parent.params), edges, describe(child, edges), "local", parent.number, move
            )
