"""How a search chooses its next candidates: Optuna samplers, or the predictor's rounds.

``random`` and ``tpe`` are Optuna's RandomSampler and TPESampler over the generator
parameters (``nas.search.space``). ``predictor`` starts like ``random`` (the warm-up), then
``PredictorStrategy.propose`` picks each round:

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
4. **Acquisition.** Upper confidence bound ``mean + kappa * std`` (for the pareto objective:
   per slot of the round a weighted sum of the standardised UCB and the standardised
   log-size, weights spread evenly over [0, 1], as in ParEGO). A round is chosen greedily
   with local penalisation: after each pick, every candidate's (shifted) score is multiplied
   by ``1 - exp(-d^2 / 2h^2)``, d its distance to the pick in standardised features, so a
   round does not spend its slots on near-copies. The first ``local_fraction`` of the slots
   go to local moves, the rest to the pool.

Everything is seeded by ``(seed, round)``, so a round's choice is a function of the study's
finished trials: seeded sequential runs repeat, and a resumed run picks up where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from core.errors import SparseNASError
from core.seeds import derive_seed
from graphs.io import edges_from_string, edges_to_string
from nas.search.moves import mutate
from nas.search.results import attr, pareto_front, ranked_trials, selection_acc, trial_status
from nas.search.space import SearchSpace, build_graph
from nas.search.spec import STRATEGIES  # noqa: F401 (its home is the light spec module)
from predictors import GraphRegressor
from predictors.features import PARAMS_FEATURE, feature_row

INCUMBENTS = 3
"""Best trials whose neighbourhoods are searched by local moves each round."""
LOCAL_PER_INCUMBENT = 64
POOL_ROUNDS = 8
"""Rounds a pool draw stays in the pool: each round draws ``pool_size / POOL_ROUNDS`` graphs."""
MIN_TRAINING_ROWS = 3
"""Rows the regressor needs before it guides a round (before that: random candidates)."""
BANDWIDTH_SHARE = 0.02
"""Local penalisation's h^2, as a share of the median squared distance between candidates."""

# Streams of numpy SeedSequence([seed, STREAM, round, ...]).
_POOL, _LOCAL, _MODEL, _SAMPLER = 1, 2, 3, 4


def make_sampler(
    strategy: str, seed: int, round_index: int, startup_trials: int
) -> optuna.samplers.BaseSampler:
    """The sampler for one round: RandomSampler (random, and the predictor's warm-up) or
    TPESampler (tpe; random for its first ``startup_trials``). Seeded by (seed, round), so a
    resumed study does not draw its first rounds again."""
    sampler_seed = derive_seed(seed, _SAMPLER, round_index)
    if strategy == "tpe":
        return optuna.samplers.TPESampler(
            seed=sampler_seed, n_startup_trials=max(1, startup_trials), constant_liar=True
        )
    return optuna.samplers.RandomSampler(seed=sampler_seed)


# -- training data -------------------------------------------------------------------------------


def training_targets(trials: Sequence[FrozenTrial]) -> tuple[list[str], np.ndarray]:
    """Edge lists and accuracy targets the predictor learns from (see the module docstring).

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
        elif status == "stopped" and selection_acc(trial) is not None:
            stopped.append(trial)
        elif status == "diverged":
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


# -- the predictor strategy ----------------------------------------------------------------------


@dataclass
class Proposal:
    """A chosen candidate: the trial parameters and the user attributes to enqueue it with."""

    params: dict[str, Any]
    attrs: dict[str, Any]


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


class PredictorStrategy:
    """Predictor-guided rounds; see the module docstring.

    Parameters
    ----------
    space : the search space the pool is drawn from.
    cell : the recurrent cell (the parameter count feature depends on it).
    objective : ``accuracy`` or ``pareto``.
    features : the feature names the regressor uses (``predictors.ALL``, or those a
        warm-start table has).
    seed : the search's seed; every round derives its own streams from it.
    pool_size, kappa, local_fraction, kind : see ``nas.search.SearchSpec``.
    pool_rounds : rounds a pool draw stays in the pool (1: a fresh pool every round).
    warm_X, warm_y : extra training rows (a warm-start table), or None.
    candidates : a fixed set of ``(parameters, graph)`` to choose from instead of fresh
        draws (see the module docstring), or None.
    """

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
        pool_rounds: int = POOL_ROUNDS,
        warm_X: np.ndarray | None = None,
        warm_y: np.ndarray | None = None,
        candidates: Sequence[tuple[dict[str, Any], nx.Graph]] | None = None,
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
        self.pool_rounds = pool_rounds
        self.warm_X = warm_X
        self.warm_y = warm_y
        self.candidates = candidates
        self._rows: dict[str, tuple[np.ndarray, float]] = {}
        self._fixed: list[tuple[dict[str, Any], nx.Graph, str]] | None = None
        self._draws: dict[int, list[tuple[dict[str, Any], str, tuple[np.ndarray, float]]]] = {}

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

    def fit(self, trials: Sequence[FrozenTrial], round_index: int) -> GraphRegressor | None:
        """The regressor fitted on the finished trials (and warm-start rows); None while there
        are fewer than ``MIN_TRAINING_ROWS``."""
        edges, y = training_targets(trials)
        X = [self.describe(edges_from_string(e), e, cache=True)[0] for e in edges]
        if self.warm_X is not None and self.warm_y is not None:
            X += list(self.warm_X)
            y = np.concatenate([y, self.warm_y])
        if len(X) < MIN_TRAINING_ROWS:
            return None
        model = GraphRegressor(
            kind=self.kind, random_state=derive_seed(self.seed, _MODEL, round_index)
        )
        return model.fit(np.vstack(X), y)

    def propose(
        self, trials: Sequence[FrozenTrial], count: int, round_index: int
    ) -> list[Proposal]:
        """Choose ``count`` candidates for this round; [] when the regressor lacks data."""
        model = self.fit(trials, round_index)
        if model is None or count < 1:
            return []
        seen = {t.user_attrs["edge_list"] for t in trials if t.user_attrs.get("edge_list")}
        local = self._local_moves(trials, seen, round_index)
        earlier = {
            t.user_attrs.get("round") for t in trials
            if t.user_attrs.get("origin") in ("pool", "local")
            and int(t.user_attrs.get("round", round_index)) < round_index
        }  # fmt: skip
        pool = self._pool(seen | set(local.edges), round_index, len(earlier))
        if len(local) + len(pool) == 0:
            return []
        rows = np.vstack(local.rows + pool.rows)
        mean, std = model.predict(rows, return_std=True)
        is_local = np.arange(len(rows)) < len(local)
        n_local = min(len(local), round(count * self.local_fraction)) if len(local) else 0
        sizes = np.asarray(local.sizes + pool.sizes)
        chosen = self._select(rows, sizes, mean, std, is_local, count, n_local)
        proposals = []
        for index in chosen:
            group, i = (local, index) if is_local[index] else (pool, index - len(local))
            attrs: dict[str, Any] = {
                "origin": group.origin[i],
                "predicted_acc": float(mean[index]),
                "predicted_std": float(std[index]),
                "edge_list": group.edges[i],
            }
            if group.parent[i] is not None:
                attrs["parent"] = group.parent[i]
                attrs["move"] = group.move[i]
            proposals.append(Proposal(params=dict(group.params[i]), attrs=attrs))
        return proposals

    # -- candidates ------------------------------------------------------------------------------

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
            rng = np.random.default_rng([self.seed, _POOL, index + self.pool_rounds])
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

    def _incumbents(self, trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
        with_graph = [t for t in trials if t.user_attrs.get("edge_list")]
        if self.objective == "pareto":
            front = pareto_front(with_graph)
            if len(front) <= INCUMBENTS:
                return front
            picks = np.linspace(0, len(front) - 1, INCUMBENTS).round().astype(int)
            return [front[i] for i in sorted(set(picks.tolist()))]
        return ranked_trials(with_graph, INCUMBENTS)

    def _local_moves(
        self, trials: Sequence[FrozenTrial], seen: set[str], round_index: int
    ) -> _Candidates:
        local = _Candidates()
        if self.candidates is not None:
            return local
        low, high = self.space.nodes
        for rank, parent in enumerate(self._incumbents(trials)):
            rng = np.random.default_rng([self.seed, _LOCAL, round_index, rank])
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
                described = self.describe(child, edges)
                local.add(dict(parent.params), edges, described, "local", parent.number, move)
        return local

    # -- acquisition -----------------------------------------------------------------------------

    def _select(
        self,
        rows: np.ndarray,
        sizes: np.ndarray,
        mean: np.ndarray,
        std: np.ndarray,
        is_local: np.ndarray,
        count: int,
        n_local: int,
    ) -> list[int]:
        ucb = mean + self.kappa * std
        scale = rows.std(axis=0)
        z = (rows - rows.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        rng = np.random.default_rng([self.seed, _MODEL, len(rows)])
        sample = z[rng.choice(len(z), size=min(len(z), 256), replace=False)]
        pair_d2 = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(-1)
        median = (
            float(np.median(pair_d2[np.triu_indices(len(sample), 1)])) if len(sample) > 1 else 1.0
        )
        h2 = max(BANDWIDTH_SHARE * median, 1e-9)
        if self.objective == "pareto":
            acc_z, size_z = _standard(ucb), _standard(np.log(np.maximum(sizes, 1.0)))
        penalty = np.ones(len(rows))
        chosen: list[int] = []
        for slot in range(min(count, len(rows))):
            if self.objective == "pareto":
                weight = (slot + 0.5) / count
                score = weight * acc_z - (1.0 - weight) * size_z
            else:
                score = ucb
            allowed = is_local if slot < n_local else ~is_local
            if not allowed.any() or all(i in chosen for i in np.flatnonzero(allowed)):
                allowed = np.ones(len(rows), dtype=bool)
            shifted = (score - score.min() + 1e-9) * penalty
            shifted[~allowed] = -math.inf
            shifted[chosen] = -math.inf
            if not np.isfinite(shifted).any():
                break
            pick = int(np.argmax(shifted))
            chosen.append(pick)
            d2 = ((z - z[pick]) ** 2).sum(axis=1)
            penalty *= 1.0 - np.exp(-d2 / (2.0 * h2))
        return chosen


def _standard(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 0 else 1.0)
