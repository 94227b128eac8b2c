"""Predictor learning curves: how well each predictor ranks unseen graphs as a function of how
many networks it was trained on (the form of NASLib's study, White et al. 2021, "How
powerful are performance predictors in NAS?").

For a table (``benchmarks/data/evaluations_<cell>.csv``, or a pool), one row per graph: a
table with several training seeds per graph is scored against each graph's mean over its
seeds (``predictors.validation.average_over_seeds``, as ``nas predictor eval
--mean-over-seeds`` does). Each of ``--splits`` seeded splits shuffles the graphs, holds out a
fixed test set (``--test-share`` of them, at least ``MIN_TEST``) and trains every model on the
first n of the rest, for each training-set size n the rest holds; so within a split the sizes
share their test graphs and each larger training set contains the smaller ones. The
held-out graphs are scored by ``predictors.validation.metrics.regression_metrics``: Spearman
rho, Kendall tau and precision@top-10 % (and R²). Zero-cost proxy columns, when the table has
them, are scored as stand-alone rankers on the same test sets (no training: one line per
proxy). Writes ``learning_curves_<table>.json`` (median, quartiles, min and max over splits,
and every split's score) and ``.png`` (median and quartile band per model) beside the table
or under ``--out``.

    nice -n 19 python benchmarks/learning_curves.py --table benchmarks/data/evaluations_gru.csv
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np

from predictors.features import PROXY_FEATURES
from predictors.names import DEFAULT_MODELS, GRAPH_KINDS
from predictors.regressors import GraphRegressor, clone_without_bootstrap
from predictors.table import EvaluationTable, load_table
from predictors.validation import average_over_seeds
from predictors.validation.metrics import regression_metrics
from predictors.validation.report import graph_column

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SIZES = (20, 50, 100, 200, 500)
MIN_TEST = 50
"""Held-out graphs of a split at least: precision@top-10 % then counts 5 graphs."""
SHOWN = ("spearman", "kendall_tau", "top10_precision")
LABELS = {"spearman": "Spearman rho", "kendall_tau": "Kendall tau",
          "top10_precision": "precision@top-10 %"}  # fmt: skip


def split_indices(n_rows: int, splits: int, test_share: float, seed: int) -> list[tuple]:
    """Per split, (test indices, the rest in a seeded random order): train on a prefix."""
    n_test = max(MIN_TEST, int(round(test_share * n_rows)))
    if n_test >= n_rows:
        raise SystemExit(f"{n_rows} graphs leave none to train on after {n_test} held out")
    out = []
    for split in range(splits):
        order = np.random.default_rng([seed, split]).permutation(n_rows)
        out.append((order[:n_test], order[n_test:]))
    return out


def estimator(kind: str, seed: int, n_estimators: int) -> Any:
    """The unfitted model of ``kind`` (boosted kinds without their bootstrap refits, which
    only serve the spread)."""
    if kind in GRAPH_KINDS:
        from predictors.gnn import GNNRegressor  # PyTorch: only for this kind

        return GNNRegressor(random_state=seed)
    model = GraphRegressor(kind=kind, n_estimators=n_estimators, random_state=seed)
    return clone_without_bootstrap(model)


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, quartiles, min and max over splits (NaN splits left out) and every value."""
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    if not finite.size:
        return {"median": None, "per_split": [None] * len(array)}
    q1, median, q3 = np.quantile(finite, [0.25, 0.5, 0.75])
    return {
        "median": float(median), "q1": float(q1), "q3": float(q3), "min": float(finite.min()),
        "max": float(finite.max()), "per_split": [None if np.isnan(v) else float(v) for v in array],
    }  # fmt: skip


def curves(
    table: EvaluationTable,
    models: Sequence[str],
    sizes: Sequence[int],
    splits: list[tuple],
    *,
    seed: int,
    n_estimators: int,
) -> dict[str, Any]:
    """Every model's scores per training-set size (and every proxy's), over the splits."""
    X, y = table.X.to_numpy(float), table.y
    graphs = graph_column(table)["edge_list"].to_numpy() if set(models) & set(GRAPH_KINDS) else None
    usable = [n for n in sizes if all(n <= len(rest) for _, rest in splits)]
    scores: dict[str, dict[int, dict[str, list[float]]]] = {}
    seconds: dict[str, float] = {}
    for kind in models:
        started = time.perf_counter()
        scores[kind] = {n: {m: [] for m in SHOWN + ("r2",)} for n in usable}
        for number, (test, rest) in enumerate(splits):
            for n in usable:
                train = rest[:n]
                data = graphs if kind in GRAPH_KINDS else X
                model = estimator(kind, seed + number, n_estimators)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(data[train], y[train])
                    predicted = np.asarray(model.predict(data[test]), dtype=float)
                for metric, value in regression_metrics(y[test], predicted).items():
                    if metric in scores[kind][n]:
                        scores[kind][n][metric].append(value)
        seconds[kind] = time.perf_counter() - started
        print(f"  {kind}: {seconds[kind]:.0f} s", flush=True)
    out: dict[str, Any] = {
        "sizes": usable,
        "skipped_sizes": [n for n in sizes if n not in usable],
        "models": {
            kind: {str(n): {m: spread(v) for m, v in per.items()} for n, per in by_size.items()}
            for kind, by_size in scores.items()
        },
        "seconds": seconds,
    }
    proxies = [p for p in PROXY_FEATURES if p in table.frame.columns]
    out["proxies"] = {
        proxy: {
            metric: spread(
                [
                    regression_metrics(y[test], table.frame[proxy].to_numpy(float)[test])[metric]
                    for test, _ in splits
                ]
            )  # fmt: skip
            for metric in SHOWN
        }
        for proxy in proxies
    }
    return out


def target_label(table: EvaluationTable) -> str:
    """What the target is: one training per graph, or a mean over k training seeds (a pool
    that drew one graph twice holds it once, still one training)."""
    if "n_seeds" not in table.frame.columns or table.frame["n_seeds"].max() < 2:
        return "one training per graph"
    low, high = int(table.frame["n_seeds"].min()), int(table.frame["n_seeds"].max())
    return f"mean over {low if low == high else f'{low}-{high}'} training seeds"


def plot(result: dict[str, Any], path: Path) -> None:
    """One panel per metric: median and quartile band against training-set size."""
    figure, axes = plt.subplots(1, len(SHOWN), figsize=(4.2 * len(SHOWN), 3.8))
    sizes = np.asarray(result["sizes"], dtype=float)
    for axis, metric in zip(axes, SHOWN, strict=True):
        for kind, by_size in result["models"].items():
            cells = [by_size[str(int(n))][metric] for n in sizes]
            median = [c["median"] for c in cells]
            (line,) = axis.plot(sizes, median, marker="o", markersize=3, label=kind)
            axis.fill_between(sizes, [c["q1"] for c in cells], [c["q3"] for c in cells],
                              alpha=0.12, color=line.get_color())  # fmt: skip
        for number, (proxy, by_metric) in enumerate(result["proxies"].items()):
            axis.axhline(by_metric[metric]["median"], linestyle=(0, (1, 1 + number)),
                         color=str(0.2 + 0.15 * number), linewidth=1.2, label=proxy)  # fmt: skip
        axis.set_xscale("log")
        axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axis.set_xticks(sizes, [str(int(n)) for n in sizes], fontsize=8, rotation=45)
        axis.set_xlabel("networks trained (training-set size)")
        axis.set_title(LABELS[metric])
    axes[0].legend(fontsize=7)
    figure.suptitle(
        f"{result['table']}: {result['rows']} graphs ({result['target']}), "
        f"{result['splits']} splits, {result['n_test']} held out"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", type=Path, nargs="+", required=True)
    parser.add_argument("--models", default=",".join((*DEFAULT_MODELS, *GRAPH_KINDS)))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--test-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-estimators", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="folder (default: the table's)")
    args = parser.parse_args()
    models = args.models.split(",")
    if set(models) & set(GRAPH_KINDS):  # one thread: on a shared machine torch's pool thrashes
        import torch

        torch.set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    for path in args.table:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = load_table(path, features="all")
        table = average_over_seeds(table) if table.has_repeats else table
        splits = split_indices(len(table), args.splits, args.test_share, args.seed)
        print(f"{path}: {len(table)} graphs, {len(splits[0][0])} held out per split", flush=True)
        result = {
            "table": path.name, "cell": table.cell, "rows": len(table),
            "target": target_label(table),
            "splits": args.splits, "n_test": len(splits[0][0]), "seed": args.seed,
            "features": "all", "command": "python benchmarks/learning_curves.py "
            + " ".join(sys.argv[1:]),
            "timing": "seconds per model: wall clock on a busy shared 2-core machine, torch on "
            "one thread",
            **curves(table, models, sizes, splits, seed=args.seed, n_estimators=args.n_estimators),
        }  # fmt: skip
        folder = args.out or path.parent
        stem = folder / f"learning_curves_{path.stem}"
        Path(f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        plot(result, Path(f"{stem}.png"))
        print(f"wrote {stem}.json and {stem}.png")


if __name__ == "__main__":
    main()
