"""Replay searches against a tabular benchmark: how fast does each strategy find good graphs?

A pool (``benchmarks/make_table.py --space search``) holds topologies drawn uniformly from the
search space, each already trained; replaying a search looks results up instead of training,
so every strategy can be run over many seeds at the full budget in minutes. Each replay is a
real Optuna study (in memory) driven by the search's own strategy objects
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

Two kinds of pool. A multi-seed pool (``benchmarks/data/pools/``: each graph trained with
several training seeds, validation and test accuracy) is read as NAS-Bench-201 is: an
evaluation of a graph draws one of its seeds (``drawn_seed``: by the replay's seed and the
graph, so a replay repeats), the search is told that draw's validation accuracy and selects on
it, and the draw's test accuracy is recorded on the trial. The figures are then the field's:
the regret of the graph selected by validation, measured on test (the pool's best mean test
accuracy over seeds minus the selected graph's), against networks trained, and the networks
trained until the selected graph is in the pool's top 1 % by mean test accuracy. An older
pool (``benchmarks/data/pool_rnn_tanh.csv``: one training per graph, test accuracy only) is
selected on and measured by its test accuracy.

No multi-fidelity: every evaluation is a full training (the pool has no pruned runs).
Prints, per strategy, the regret after n evaluations (median and quartiles over seeds), the
evaluations to the pool's top 1 % and to random search's median at the budget, Wilcoxon
tests between strategies on both, and with ``--objective pareto`` the hypervolume of (mean
test accuracy, nonzero parameters); writes a PNG of the curves and a JSON of every number.

    python benchmarks/replay.py --pool benchmarks/data/pool_rnn_tanh.csv --seeds 10
    python benchmarks/replay.py --pool benchmarks/data/pools/rnn_tanh.csv --seeds 25 --jobs 2 \
        --out benchmarks/data/replay_pools_rnn_tanh

A strategy may carry settings of its ``SearchSpec``, joined by ``+``: ``--strategies
predictor,predictor+acquisition=thompson`` replays the predictor with each acquisition
(labelled as written).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import optuna
import pandas as pd

from core.seeds import derive_seed
from core.status import TrialStatus
from graphs.families import FAMILIES
from graphs.io import edges_from_string
from nas.search import SearchSpec
from nas.search.results import hypervolume
from nas.search.space import FAMILY_PARAMS, SearchSpace, er_p_range
from nas.search.strategies import STRATEGIES, strategy_class
from nas.search.strategies.base import Warm
from predictors import ALL
from predictors.features import PARAMS_FEATURE, feature_row

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CHECKPOINTS = (10, 25, 50, 100, 150, 200)
DRAW_STREAM = 98
"""The stream of ``derive_seed(replay seed, DRAW_STREAM, member)``: which training seed an
evaluation looks up (the seeded random order of uniform draws is ``[seed, 99]``)."""


@dataclass
class Pool:
    """The evaluated topologies, one member per graph: parameters, graphs, sizes, and per
    training seed (columns) the validation and test accuracy (NaN: failed).

    A multi-seed pool (``benchmarks/data/pools/``: ``valid_acc`` and one row per graph and
    training seed) keeps the graphs trained with every seed it holds. An older pool (one
    training per graph, test accuracy only) has one seed whose validation accuracy is its test
    accuracy: its replays select on test, as they always did.
    """

    params: list[dict[str, Any]]
    graphs: list[Any]
    edges: list[str]
    valid: np.ndarray  # (members, seeds)
    test: np.ndarray  # (members, seeds)
    size: np.ndarray
    scaled: np.ndarray  # nodes and family parameters in [0, 1], for TPE's snapping
    family: np.ndarray
    has_valid: bool  # False: an older, test-only pool

    @property
    def acc(self) -> np.ndarray:
        """A member's mean test accuracy over the seeds that trained (NaN: none did): what
        regret and the pool's top 1 % are measured on."""
        ok = ~np.isnan(self.test)
        total = np.where(ok, self.test, 0.0).sum(axis=1)
        count = ok.sum(axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    @property
    def seeds(self) -> int:
        return self.test.shape[1]

    def looked_up(self, order: list[int], draws: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """A replay's evaluations as ``selected_curve`` reads them: the accuracy the search
        saw (the drawn seed's validation accuracy) and the member's mean test accuracy."""
        return self.valid[order, draws], self.acc[order]

    @classmethod
    def load(cls, path: Path, space: SearchSpace) -> Pool:
        table = pd.read_csv(path)
        ok = table["status"].eq(TrialStatus.OK) & table["test_acc"].notna()
        if "valid_acc" not in table.columns:  # one training per graph, test only
            test = np.where(ok, table["test_acc"], np.nan)[:, None]
            return cls(**_members(table, space), valid=test, test=test, has_valid=False)
        ok &= table["valid_acc"].notna()
        seeds = sorted(table["train_seed"].unique())
        counts = table.groupby("graph_id")["train_seed"].nunique()
        complete = table["graph_id"].map(counts).eq(len(seeds))
        first = table[complete].drop_duplicates("graph_id")
        graph_ids = first["graph_id"].to_numpy()
        frame = table[complete].assign(
            valid=np.where(ok, table["valid_acc"], np.nan)[complete.to_numpy()],
            test=np.where(ok, table["test_acc"], np.nan)[complete.to_numpy()],
        )
        valid, test = (
            frame.pivot(index="graph_id", columns="train_seed", values=column)
            .loc[graph_ids, seeds]
            .to_numpy(float)
            for column in ("valid", "test")
        )
        return cls(**_members(first, space), valid=valid, test=test, has_valid=True)


def _members(table: pd.DataFrame, space: SearchSpace) -> dict[str, Any]:
    """The per-graph fields of a pool, one member per row of ``table``."""
    params, scaled = [], []
    for row in table.itertuples():
        values = {"family": row.family, "nodes": int(row.nodes), "graph_seed": row.graph_seed}
        for name in FAMILY_PARAMS[row.family]:
            value = getattr(row, name)
            values[name] = int(value) if name in ("ws_k", "ba_m") else float(value)
        params.append(values)
        scaled.append(_scaled(values, space))
    return {
        "params": params,
        "graphs": [edges_from_string(e) for e in table["edge_list"]],
        "edges": list(table["edge_list"]),
        "size": table["params_nonzero"].to_numpy(float),
        "scaled": np.vstack(scaled),
        "family": table["family"].to_numpy(),
    }


def drawn_seed(replay_seed: int, member: int, seeds: int) -> int:
    """The training seed (column) an evaluation of ``member`` looks up, NAS-Bench-201's way:
    one of the member's seeds, drawn by (replay seed, member), so a replay repeats."""
    if seeds == 1:
        return 0
    return int(np.random.default_rng(derive_seed(replay_seed, DRAW_STREAM, member)).integers(seeds))


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
    """One search (strategy, seed) against the pool; ``run`` returns the evaluation order, and
    ``draws`` holds the training seed (column) each evaluation looked up."""

    def __init__(self, pool: Pool, spec: SearchSpec, described: dict | None = None) -> None:
        self.pool = pool
        self.described = described
        self.spec = spec
        self.space = SearchSpace(spec.families, spec.nodes)
        self.study = optuna.create_study(directions=spec.directions)
        self.order: list[int] = []
        self.draws: list[int] = []
        self.index = {edges: i for i, edges in enumerate(pool.edges)}

    def tell(self, trial: optuna.Trial, member: int) -> None:
        """Tell the trial one seed's training of ``member``: the search is told (and selects
        on) its validation accuracy; its test accuracy is recorded beside it."""
        pool = self.pool
        draw = drawn_seed(self.spec.seed, member, pool.seeds)
        seen, test, size = pool.valid[member, draw], pool.test[member, draw], pool.size[member]
        trial.set_user_attr("edge_list", pool.edges[member])
        trial.set_user_attr("params_nonzero", float(size))
        self.order.append(member)
        self.draws.append(draw)
        if math.isnan(seen) or math.isnan(test):
            trial.set_user_attr("status", TrialStatus.DIVERGED)
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        trial.set_user_attr("status", TrialStatus.OK)
        if pool.has_valid:
            trial.set_user_attr("valid_acc", float(seen))
        trial.set_user_attr("test_acc", float(test))
        values = [float(seen), float(size)] if self.spec.objective == "pareto" else float(seen)
        self.study.tell(trial, values)

    def enqueue(self, member: int, attrs: dict[str, Any] | None = None) -> None:
        """Ask the pool member ``member`` (with a proposal's attributes: the strategies that
        walk the pool read their walk from them) and tell its result."""
        self.study.enqueue_trial(self.pool.params[member], user_attrs=attrs)
        trial = self.study.ask()
        self.space.suggest(trial)
        self.tell(trial, member)

    def run(self) -> list[int]:
        """Round after round as the search asks them: the warm-up the strategy still needs,
        else its proposals, then its sampler for the slots left."""
        spec = self.spec
        members = list(zip(self.pool.params, self.pool.graphs, strict=True))
        strategy = strategy_class(spec.strategy).from_spec(
            spec, self.space, Warm(ALL, candidates=members, described=self.described)
        )
        permutation = np.random.default_rng([spec.seed, 99]).permutation(len(self.pool.acc))
        random_order = (int(m) for m in permutation if int(m) not in self.order)
        round_index = 0
        while len(self.order) < spec.budget:
            left = spec.budget - len(self.order)
            warming = strategy.warmup_left(len(self.order))
            if warming > 0:  # the warm-up is no round of its own
                for _ in range(min(warming, left)):
                    self.enqueue(next(random_order))
                continue
            count = min(spec.round_size, left)
            trials = self.study.get_trials(deepcopy=False)
            for proposal in strategy.propose(trials, count, round_index):
                attrs = {**proposal.attrs, "round": round_index}
                self.enqueue(self.index[proposal.attrs["edge_list"]], attrs)
                count -= 1
            sampler = strategy.sampler(round_index)
            if isinstance(sampler, optuna.samplers.RandomSampler):
                for _ in range(count):
                    self.enqueue(next(random_order))
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


def variant(entry: str) -> dict[str, Any]:
    """The spec settings of a ``--strategies`` entry: ``name`` or ``name+key=value+...``
    (each value typed like the spec's default), e.g. ``predictor+acquisition=thompson``."""
    name, *settings = entry.split("+")
    types = {f.name: type(f.default) for f in fields(SearchSpec)}
    out: dict[str, Any] = {"strategy": name}
    for setting in settings:
        key, _, value = setting.partition("=")
        if key not in types or not value:
            raise SystemExit(f"bad strategy setting {setting!r} in {entry!r}: want key=value")
        out[key] = types[key](value) if types[key] in (int, float) else value
    return out


def selected_curve(seen: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """After 1, 2, ... evaluations, the ``truth`` of the one the search selects: the best
    ``seen`` accuracy so far, the earliest on ties (failed evaluations are never selected;
    -inf before any trained). A multi-seed pool sees the drawn seed's validation accuracy and
    measures the member's mean test accuracy; an older pool sees and measures test accuracy,
    so its curve is the best test accuracy so far."""
    curve = np.full(len(seen), -np.inf)
    best, current = -np.inf, -np.inf
    for i, (value, measured) in enumerate(zip(seen, truth, strict=True)):
        if value > best:  # NaN (failed) compares False
            best, current = value, measured
        curve[i] = current
    return curve


def evals_to(runs: np.ndarray, target: float, budget: int) -> list[int]:
    """Per run (a ``selected_curve``), the evaluations until the selected graph first reaches
    ``target`` (``budget + 1``: never within the budget)."""
    return [int(np.argmax(r >= target)) + 1 if (r >= target).any() else budget + 1 for r in runs]


def quartiles(values: Any) -> dict[str, float]:
    q1, median, q3 = np.quantile(np.asarray(values, float), [0.25, 0.5, 0.75])
    return {"q1": float(q1), "median": float(median), "q3": float(q3)}


def paired_tests(per_seed: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Wilcoxon signed-rank tests (two-sided, scipy) between every pair of strategies on
    per-seed values of the same seeds; ``p`` is None where every pair of values ties."""
    from scipy.stats import wilcoxon

    tests = []
    names = list(per_seed)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            x, y = np.asarray(per_seed[a], float), np.asarray(per_seed[b], float)
            diff = x - y
            p = None if not diff.any() else float(wilcoxon(x, y).pvalue)
            tests.append({
                "a": a, "b": b, "median_difference": float(np.median(diff)),
                "a_lower": int((diff < 0).sum()), "b_lower": int((diff > 0).sum()), "p": p,
            })  # fmt: skip
    return tests


def _measure(pool: Pool) -> str:
    """What a replay of ``pool`` selects on and what it reports, in words."""
    if not pool.has_valid:
        return "test accuracy (the pool has no validation split): selected and reported"
    return (
        f"each evaluation draws one of a graph's {pool.seeds} training seeds (seeded by replay "
        "seed and graph); the search is told and selects on that draw's validation accuracy; "
        "regret, best and top 1 % are the mean test accuracy over seeds of the graph selected "
        "by validation, against the pool's best mean test accuracy"
    )


def _evals(value: float, budget: int) -> str:
    return f">{budget}" if value > budget else f"{value:.0f}"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def summarise(
    curves: dict[str, np.ndarray], volumes: dict[str, list[float]], pool: Pool, args: Any
) -> dict[str, Any]:
    """Every figure of the replay (see the module docstring), as JSON values."""
    finite = pool.acc[~np.isnan(pool.acc)]
    best = float(finite.max())
    top = float(np.quantile(finite, 0.99))
    target = float(np.median(curves["random"][:, -1])) if "random" in curves else None
    summary: dict[str, Any] = {
        "pool": str(args.pool), "cell": args.cell, "budget": args.budget, "seeds": args.seeds,
        "first_seed": args.first_seed,
        "round_size": args.round_size, "objective": args.objective, "pool_best": best,
        "pool_top_1_percent": top, "random_median_best": target,
        "accuracy": _measure(pool), "seeds_per_graph": pool.seeds, "jobs": args.jobs,
        "command": args.command, "strategies": {},
    }  # fmt: skip
    reach_top: dict[str, list[float]] = {}
    regret_end: dict[str, list[float]] = {}
    for strategy, runs in curves.items():
        entry: dict[str, Any] = {}
        for c in (c for c in CHECKPOINTS if c <= args.budget):
            entry[f"best_at_{c}"] = quartiles(runs[:, c - 1])
            entry[f"regret_at_{c}"] = quartiles(best - runs[:, c - 1])
        hits = evals_to(runs, top, args.budget)
        reach_top[strategy] = hits
        regret_end[strategy] = (best - runs[:, -1]).tolist()
        entry["evals_to_top_1_percent"] = {
            **quartiles(hits), "per_seed": hits, "reached": sum(h <= args.budget for h in hits),
            "not_reached_means": args.budget + 1,
        }  # fmt: skip
        if target is not None:
            hits = evals_to(runs, target, args.budget)
            entry["evals_to_random_best"] = {
                **quartiles(hits), "per_seed": hits, "not_reached_means": args.budget + 1,
            }  # fmt: skip
        band = np.quantile(best - runs, [0.25, 0.5, 0.75], axis=0)
        entry["regret_curve"] = dict(zip(("q1", "median", "q3"), band.tolist(), strict=True))
        entry["hypervolume"] = quartiles(volumes[strategy])
        summary["strategies"][strategy] = entry
    summary["paired_evals_to_top_1_percent"] = paired_tests(reach_top)
    summary["paired_regret_at_budget"] = paired_tests(regret_end)
    return json.loads(json.dumps(summary, default=float))


def report(summary: dict[str, Any]) -> None:
    """The summary's figures, as tables on stdout."""
    budget = summary["budget"]
    checkpoints = [c for c in CHECKPOINTS if c <= budget]
    print(
        f"pool best {summary['pool_best']:.4f}, top 1 % from {summary['pool_top_1_percent']:.4f}"
        f"; {summary['seeds']} seeds; medians [quartiles]"
    )
    print("strategy   " + "".join(f"{'regret@' + str(c):>22}" for c in checkpoints)
          + "   evals to top 1 % (q1 median q3, reached)   evals to random's best")  # fmt: skip
    for strategy, entry in summary["strategies"].items():
        cells = []
        for c in checkpoints:
            q = entry[f"regret_at_{c}"]
            cells.append(f"{q['median']:.4f} [{q['q1']:.4f},{q['q3']:.4f}]")
        top = entry["evals_to_top_1_percent"]
        reach = " ".join(_evals(top[k], budget) for k in ("q1", "median", "q3"))
        random = entry.get("evals_to_random_best")
        rand = (
            "-"
            if random is None
            else " ".join(_evals(random[k], budget) for k in ("q1", "median", "q3"))
        )
        print(f"{strategy:<11}" + "".join(f"{c:>22}" for c in cells)
              + f"   {reach:>20} ({top['reached']}/{summary['seeds']})   {rand:>22}")  # fmt: skip
    for key, label in (("paired_evals_to_top_1_percent", "evaluations to top 1 %"),
                       ("paired_regret_at_budget", f"regret at {budget}")):  # fmt: skip
        print(f"Wilcoxon signed-rank over seeds, {label}:")
        print("  a vs b, median(a - b), seeds where a is lower / b is lower, p")
        for t in summary[key]:
            print(f"  {t['a']:>10} vs {t['b']:<10} {t['median_difference']:>9.4g}  "
                  f"{t['a_lower']:>3} / {t['b_lower']:<3} p={_p(t['p'])}")  # fmt: skip


def plot(summary: dict[str, Any], curves: dict[str, np.ndarray], stem: Path, pool: Pool) -> None:
    """Regret against evaluations (left) and the selected graph's accuracy (right): medians,
    quartile bands over seeds."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    steps = np.arange(1, summary["budget"] + 1)
    for strategy, runs in curves.items():
        band = summary["strategies"][strategy]["regret_curve"]
        (line,) = left.plot(steps, band["median"], label=strategy)
        left.fill_between(steps, band["q1"], band["q3"], alpha=0.15, color=line.get_color())
        q1, median, q3 = np.quantile(runs, [0.25, 0.5, 0.75], axis=0)
        right.plot(steps, median, label=strategy, color=line.get_color())
        right.fill_between(steps, q1, q3, alpha=0.15, color=line.get_color())
    right.axhline(
        summary["pool_top_1_percent"], color="grey", linestyle=":", label="pool's top 1 %"
    )
    left.set_yscale("symlog", linthresh=0.01)
    left.set_xlabel("networks trained")
    if pool.has_valid:
        left.set_ylabel("regret: pool's best - selected (mean test)")
        right.set_ylabel("mean test accuracy of the graph\nselected by validation")
    else:
        left.set_ylabel("regret: pool best - best found (test accuracy)")
        right.set_ylabel("best test accuracy so far")
    right.set_xlabel("networks trained")
    seeds = f" x {pool.seeds} training seeds" if pool.seeds > 1 else ""
    left.set_title(
        f"{summary['cell']}: {len(pool.acc)} topologies{seeds}, {summary['seeds']} replay seeds"
    )
    right.set_title("median and quartiles over seeds")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(f"{stem}.png", dpi=120)


Run = tuple[list[int], list[int]]
"""One replay: the members evaluated in order, and the training seed (column) each looked up."""


def replay_one(pool: Pool, spec: SearchSpec, described: dict | None) -> Run:
    replay = Replay(pool, spec, described)
    return replay.run(), replay.draws


def replays(
    pool: Pool, base: SearchSpec, entries: list[str], seeds: range, described: dict, jobs: int
) -> Iterator[tuple[str, list[Run], float]]:
    """Per ``--strategies`` entry: its runs for each replay seed and their seconds summed.

    One process yields each entry as it finishes; ``jobs`` processes (forked, so the pool and
    its feature rows are not copied per task) take (entry, seed) tasks seed by seed, so the
    slow strategies spread over the processes, and yield every entry at the end."""
    tasks = [(entry, seed) for seed in seeds for entry in entries]
    specs = {
        task: SearchSpec(**{**vars(base), **variant(task[0]), "seed": task[1]}) for task in tasks
    }
    if jobs <= 1:
        for entry in entries:
            started = time.perf_counter()
            runs = [replay_one(pool, specs[entry, seed], described) for seed in seeds]
            yield entry, runs, time.perf_counter() - started
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_share, initargs=(pool, described)) as workers:
        done = dict(zip(tasks, workers.imap(_replay_task, [specs[t] for t in tasks]), strict=True))
    for entry in entries:
        runs = [done[entry, seed][0] for seed in seeds]
        yield entry, runs, sum(done[entry, seed][1] for seed in seeds)


_SHARED: dict[str, Any] = {}
"""A worker process's pool and feature rows (set once by ``_share`` when it starts)."""


def _share(pool: Pool, described: dict) -> None:
    _SHARED.update(pool=pool, described=described)


def _replay_task(spec: SearchSpec) -> tuple[Run, float]:
    started = time.perf_counter()
    run = replay_one(_SHARED["pool"], spec, _SHARED["described"])
    return run, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--first-seed", type=int, default=0,
        help="replay seeds FIRST .. FIRST + SEEDS - 1: confirm a choice on fresh seeds",
    )  # fmt: skip
    parser.add_argument(
        "--round-size", type=int, default=SearchSpec.round_size, help="networks per round"
    )
    parser.add_argument("--objective", choices=("accuracy", "pareto"), default="accuracy")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--out", type=Path, default=None, help="PNG/JSON stem (default: pool's)")
    parser.add_argument("--jobs", type=int, default=1, help="processes replaying seeds at once")
    args = parser.parse_args()
    args.command = "python benchmarks/replay.py " + " ".join(sys.argv[1:])
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    table = pd.read_csv(args.pool, usecols=["cell", "family", "nodes"])
    args.cell = str(table["cell"].iloc[0])
    base = SearchSpec(
        cell=args.cell,
        budget=args.budget,
        objective=args.objective,
        families=tuple(sorted(set(table["family"]), key=list(FAMILIES).index)),
        nodes=(int(table["nodes"].min()), int(table["nodes"].max())),
        round_size=args.round_size,
    )
    pool = Pool.load(args.pool, SearchSpace(base.families, base.nodes))
    finite = pool.acc[~np.isnan(pool.acc)]
    print(
        f"pool {args.pool}: {len(pool.acc)} topologies of {args.cell}, accuracy median "
        f"{np.median(finite):.4f}, 99th percentile {np.quantile(finite, 0.99):.4f}, "
        f"max {finite.max():.4f}, failed {int(np.isnan(pool.acc).sum())}"
    )
    reference = (float(finite.min()), float(pool.size.max()))
    hv_all = hypervolume(zip(pool.acc, pool.size, strict=True), reference)
    described = {}  # every strategy object of every seed reads these rows
    for edges, graph in zip(pool.edges, pool.graphs, strict=True):
        row = feature_row(graph, args.cell)
        described[edges] = (np.array([row[f] for f in ALL]), float(row[PARAMS_FEATURE]))
    curves: dict[str, np.ndarray] = {}
    volumes: dict[str, list[float]] = {}
    stem = args.out or args.pool.with_name(f"replay_{args.pool.stem}_{args.objective}")
    entries = args.strategies.split(",")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for strategy, runs, seconds in replays(pool, base, entries, seeds, described, args.jobs):
        curves[strategy] = np.vstack([selected_curve(*pool.looked_up(*run)) for run in runs])
        volumes[strategy] = []
        for order, _ in runs:
            points = zip(pool.acc[order], pool.size[order], strict=True)
            volumes[strategy].append(hypervolume(points, reference) / hv_all)
        print(f"{strategy}: {args.seeds} replays, {seconds:.0f} s summed over seeds")
        summary = summarise(curves, volumes, pool, args)  # after each: a long run keeps them
        Path(f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
        plot(summary, curves, stem, pool)
    report(summary)
    print(f"wrote {stem}.json and {stem}.png")


if __name__ == "__main__":
    main()
