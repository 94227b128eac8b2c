"""Replay searches against a tabular benchmark: how fast does each strategy find good graphs?

A pool (``benchmarks/make_table.py --space search``) holds topologies drawn uniformly from the
search space, each already trained once; replaying a search looks results up instead of
training, so every strategy can be run over many seeds at the full budget in seconds. Each
replay is a real Optuna study (in memory) driven by the search's own strategy objects
(``nas.search.strategies``: the registry, ``from_spec``, ``warmup_left``, ``propose``,
``sampler``), round by round as ``nas search`` drives them, and told what the pool says:

- a proposal names a graph of the pool (the strategy is given the pool as its fixed
  candidate set, so the predictor chooses among the members not yet evaluated and makes no
  local moves: their graphs are not in the pool);
- a trial its sampler draws is mapped to a pool member: a uniform draw (the warm-up, random
  search) takes the next member of the pool in a seeded random order (the pool is itself a
  uniform sample of the space); any other sampler's (TPE's) suggestion is snapped to the
  nearest unevaluated member of its family (nodes and family parameters scaled to [0, 1];
  the graph seed is ignored).

No multi-fidelity: every evaluation is a full training (the pool has no pruned runs).
Prints, per strategy, the best accuracy after n evaluations (median and quartiles over seeds),
the evaluations needed to reach random search's median best-of-budget, and with
``--objective pareto`` the hypervolume of (accuracy, nonzero parameters); writes a PNG of the
curves and a JSON of every number beside the pool.

    python benchmarks/replay.py --pool benchmarks/data/pool_rnn_tanh.csv --seeds 10
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import optuna
import pandas as pd

from core.status import TrialStatus
from graphs.families import FAMILIES
from graphs.io import edges_from_string
from nas.search import SearchSpec
from nas.search.results import hypervolume
from nas.search.space import FAMILY_PARAMS, SearchSpace, er_p_range
from nas.search.strategies import STRATEGIES, strategy_class
from nas.search.strategies.base import Warm
from predictors import ALL

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CHECKPOINTS = (10, 25, 50, 100, 150, 200)


@dataclass
class Pool:
    """The evaluated topologies: parameters, graphs, accuracy (NaN: failed) and sizes."""

    params: list[dict[str, Any]]
    graphs: list[Any]
    edges: list[str]
    acc: np.ndarray
    size: np.ndarray
    scaled: np.ndarray  # nodes and family parameters in [0, 1], for TPE's snapping
    family: np.ndarray

    @classmethod
    def load(cls, path: Path, space: SearchSpace) -> Pool:
        table = pd.read_csv(path)
        params, scaled = [], []
        for row in table.itertuples():
            values = {"family": row.family, "nodes": int(row.nodes), "graph_seed": row.graph_seed}
            for name in FAMILY_PARAMS[row.family]:
                value = getattr(row, name)
                values[name] = int(value) if name in ("ws_k", "ba_m") else float(value)
            params.append(values)
            scaled.append(_scaled(values, space))
        ok = table["status"].eq(TrialStatus.OK) & table["test_acc"].notna()
        return cls(
            params=params,
            graphs=[edges_from_string(e) for e in table["edge_list"]],
            edges=list(table["edge_list"]),
            acc=np.where(ok, table["test_acc"], np.nan),
            size=table["params_nonzero"].to_numpy(float),
            scaled=np.vstack(scaled),
            family=table["family"].to_numpy(),
        )


def _scaled(params: dict[str, Any], space: SearchSpace) -> np.ndarray:
    """Nodes and the family's parameters mapped to [0, 1] (unused slots 0)."""
    low, high = space.nodes
    nodes = params["nodes"]
    vector = np.zeros(4)
    vector[0] = (nodes - low) / max(high - low, 1)
    if params["family"] == "ws":
        vector[1] = params["ws_k"] / max(high // 2, 2)
        vector[2] = params["ws_p"]
    elif params["family"] == "ba":
        vector[1] = params["ba_m"] / max(high // 4, 1)
    else:
        lo, hi = er_p_range(nodes)
        vector[3] = (params["er_p"] - lo) / max(hi - lo, 1e-12)
    return vector


class Replay:
    """One search (strategy, seed) against the pool; ``run`` returns the evaluation order."""

    def __init__(self, pool: Pool, spec: SearchSpec) -> None:
        self.pool = pool
        self.spec = spec
        self.space = SearchSpace(spec.families, spec.nodes)
        self.study = optuna.create_study(directions=spec.directions)
        self.order: list[int] = []
        self.index = {edges: i for i, edges in enumerate(pool.edges)}

    def tell(self, trial: optuna.Trial, member: int) -> None:
        acc, size = self.pool.acc[member], self.pool.size[member]
        trial.set_user_attr("edge_list", self.pool.edges[member])
        trial.set_user_attr("params_nonzero", float(size))
        self.order.append(member)
        if math.isnan(acc):
            trial.set_user_attr("status", TrialStatus.DIVERGED)
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        trial.set_user_attr("status", TrialStatus.OK)
        trial.set_user_attr("test_acc", float(acc))
        values = [float(acc), float(size)] if self.spec.objective == "pareto" else float(acc)
        self.study.tell(trial, values)

    def enqueue(self, member: int) -> None:
        self.study.enqueue_trial(self.pool.params[member])
        trial = self.study.ask()
        self.space.suggest(trial)
        self.tell(trial, member)

    def run(self) -> list[int]:
        """Round after round as the search asks them: the warm-up the strategy still needs,
        else its proposals, then its sampler for the slots left."""
        spec = self.spec
        members = list(zip(self.pool.params, self.pool.graphs, strict=True))
        strategy = strategy_class(spec.strategy).from_spec(
            spec, self.space, Warm(ALL, candidates=members)
        )
        random_order = iter(np.random.default_rng([spec.seed, 99]).permutation(len(self.pool.acc)))
        round_index = 0
        while len(self.order) < spec.budget:
            left = spec.budget - len(self.order)
            warming = strategy.warmup_left(len(self.order))
            if warming > 0:  # the warm-up is no round of its own
                for _ in range(min(warming, left)):
                    self.enqueue(int(next(random_order)))
                continue
            count = min(spec.round_size, left)
            trials = self.study.get_trials(deepcopy=False)
            for proposal in strategy.propose(trials, count, round_index):
                self.enqueue(self.index[proposal.attrs["edge_list"]])
                count -= 1
            sampler = strategy.sampler(round_index)
            if isinstance(sampler, optuna.samplers.RandomSampler):
                for _ in range(count):
                    self.enqueue(int(next(random_order)))
            else:
                self.sampled_round(sampler, count)
            round_index += 1
        return self.order

    def sampled_round(self, sampler: optuna.samplers.BaseSampler, count: int) -> None:
        """Ask ``count`` trials of ``sampler`` first (as the search does), then snap and tell
        them."""
        self.study.sampler = sampler
        asked = [self.study.ask() for _ in range(count)]
        taken = set(self.order)
        for trial in asked:
            params = self.space.suggest(trial)
            member = self.nearest(params, taken)
            taken.add(member)
            self.tell(trial, member)

    def nearest(self, params: dict[str, Any], taken: set[int]) -> int:
        pool = self.pool
        free = np.ones(len(pool.acc), dtype=bool)
        free[list(taken)] = False
        same = free & (pool.family == params["family"])
        allowed = same if same.any() else free
        distance = ((pool.scaled - _scaled(params, self.space)) ** 2).sum(axis=1)
        distance[~allowed] = np.inf
        return int(np.argmin(distance))


def best_curve(acc: np.ndarray) -> np.ndarray:
    """Best accuracy after 1, 2, ... evaluations (failed ones count, add nothing)."""
    return np.fmax.accumulate(np.where(np.isnan(acc), -np.inf, acc))


def _evals(value: float, budget: int) -> str:
    return f">{budget}" if value > budget else f"{value:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--round-size", type=int, default=SearchSpec.round_size, help="networks per round"
    )
    parser.add_argument("--objective", choices=("accuracy", "pareto"), default="accuracy")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--out", type=Path, default=None, help="PNG/JSON stem (default: pool's)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    table = pd.read_csv(args.pool, usecols=["cell", "family", "nodes"])
    cell = str(table["cell"].iloc[0])
    base = SearchSpec(
        cell=cell,
        budget=args.budget,
        objective=args.objective,
        families=tuple(sorted(set(table["family"]), key=list(FAMILIES).index)),
        nodes=(int(table["nodes"].min()), int(table["nodes"].max())),
        round_size=args.round_size,
    )
    pool = Pool.load(args.pool, SearchSpace(base.families, base.nodes))
    finite = pool.acc[~np.isnan(pool.acc)]
    print(
        f"pool {args.pool}: {len(pool.acc)} topologies of {cell}, accuracy median "
        f"{np.median(finite):.4f}, 99th percentile {np.quantile(finite, 0.99):.4f}, "
        f"max {finite.max():.4f}, failed {int(np.isnan(pool.acc).sum())}"
    )
    reference = (float(finite.min()), float(pool.size.max()))
    hv_all = hypervolume(zip(pool.acc, pool.size, strict=True), reference)
    strategies = args.strategies.split(",")
    curves: dict[str, np.ndarray] = {}
    volumes: dict[str, list[float]] = {}
    for strategy in strategies:
        started = time.perf_counter()
        runs, volumes[strategy] = [], []
        for seed in range(args.seeds):
            spec = SearchSpec(**{**vars(base), "strategy": strategy, "seed": seed})
            order = Replay(pool, spec).run()
            runs.append(best_curve(pool.acc[order]))
            points = zip(pool.acc[order], pool.size[order], strict=True)
            volumes[strategy].append(hypervolume(points, reference) / hv_all)
        curves[strategy] = np.vstack(runs)
        print(f"{strategy}: {args.seeds} replays in {time.perf_counter() - started:.0f} s")

    target = float(np.median(curves["random"][:, -1])) if "random" in curves else None
    summary: dict[str, Any] = {
        "pool": str(args.pool),
        "cell": cell,
        "budget": args.budget,
        "seeds": args.seeds,
        "objective": args.objective,
        "pool_best": float(finite.max()),
        "random_median_best": target,
        "strategies": {},
    }
    checkpoints = [c for c in CHECKPOINTS if c <= args.budget]
    header = "strategy   " + "".join(f"{'best@' + str(c):>24}" for c in checkpoints)
    print(header + "   evals to random's best (q1 median q3)   hypervolume (median [q1, q3])")
    for strategy, runs in curves.items():
        entry: dict[str, Any] = {}
        cells = []
        for c in checkpoints:
            q1, median, q3 = np.quantile(runs[:, c - 1], [0.25, 0.5, 0.75])
            entry[f"best_at_{c}"] = {"q1": q1, "median": median, "q3": q3}
            cells.append(f"{median:.4f} [{q1:.4f},{q3:.4f}]")
        reach = None
        if target is not None:
            never = args.budget + 1  # not reached within the budget
            hits = [int(np.argmax(r >= target)) + 1 if (r >= target).any() else never for r in runs]
            reach = np.quantile(hits, [0.25, 0.5, 0.75])
            entry["evals_to_random_best"] = {
                "q1": reach[0],
                "median": reach[1],
                "q3": reach[2],
                "per_seed": hits,
                "not_reached_means": never,
            }
        hv = np.quantile(volumes[strategy], [0.25, 0.5, 0.75])
        entry["hypervolume"] = {"q1": hv[0], "median": hv[1], "q3": hv[2]}
        summary["strategies"][strategy] = entry
        reach_text = "-" if reach is None else " ".join(_evals(x, args.budget) for x in reach)
        print(
            f"{strategy:<11}"
            + "".join(f"{c:>24}" for c in cells)
            + f"   {reach_text:>37}   {hv[1]:.3f} [{hv[0]:.3f}, {hv[2]:.3f}]"
        )
    stem = args.out or args.pool.with_name(f"replay_{args.pool.stem}_{args.objective}")
    summary = json.loads(json.dumps(summary, default=float))
    Path(f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    steps = np.arange(1, args.budget + 1)
    for strategy, runs in curves.items():
        q1, median, q3 = np.quantile(runs, [0.25, 0.5, 0.75], axis=0)
        axis.plot(steps, median, label=strategy)
        axis.fill_between(steps, q1, q3, alpha=0.2)
    if target is not None:
        axis.axhline(target, color="grey", linestyle=":", label="random's median best")
    axis.set_xlabel("evaluations")
    axis.set_ylabel("best test accuracy so far")
    axis.set_title(f"{cell}: replay against {len(pool.acc)} topologies ({args.seeds} seeds)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(f"{stem}.png", dpi=120)
    print(f"wrote {stem}.json and {stem}.png")


if __name__ == "__main__":
    main()
