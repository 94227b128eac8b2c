"""Analyse the pruning-methods grid (``benchmarks/prune_methods.py``): does expansion predict
accuracy, and does it beyond sparsity? (docs/expansion.md)

Reads ``<dir>/prune_methods_results.csv`` and writes into ``<dir>``:

- ``prune_methods_table.csv``: per task, cell, method and percent, mean and sd over seeds of
  the accuracy right after pruning and after retraining, and of the expansion measures;
- ``prune_methods_correlation.csv``: Spearman's rho of accuracy after retraining with the
  mean Ramanujan gap of the pruned matrices *at fixed sparsity* (all methods and seeds of one
  task, cell and percent), per percent and averaged over the percents, with a 95 % bootstrap
  interval that resamples seeds (all rows of a drawn seed go in together); over all
  methods, over the weight-agnostic ones and over random vs expander (``SUBSETS``);
- ``prune_methods_beyond_sparsity.csv``: per task and cell and pooled, the partial rank
  correlation of accuracy with the Ramanujan gap given sparsity (ranks centred within each
  percent: sparsity as a categorical covariate) over all methods, over the weight-agnostic
  ones (also given the number of isolated neurons, by OLS residuals) and over random vs
  expander, and the plain correlation that ignores sparsity;
- ``prune_methods_paired.csv``: accuracy minus random's on the same base model;
- ``prune_methods_scatter.png`` (accuracy vs Ramanujan gap), ``prune_methods_accuracy.png``
  (accuracy vs sparsity per method) and ``prune_methods_summary.md`` (the tables in words).

    python benchmarks/prune_methods_analysis.py benchmarks/data/prune_methods
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from models.pruning import MASK_METHODS

RESULTS = "prune_methods_results.csv"
METHODS = MASK_METHODS
SUBSETS: dict[str, tuple[str, ...]] = {
    "all methods": METHODS,
    "weight-agnostic": ("random", "expander", "anti-expander"),
    "random and expander": ("random", "expander"),
}
"""Which networks a correlation pools: magnitude alone keeps the trained weights' information
(its masks follow them), anti-expander alone isolates many neurons; random vs expander is the
contrast of expansion alone."""
GAP = "ramanujan_gap_mean"
CELL_ORDER = ("rnn_tanh", "lstm", "gru")
BOOTSTRAP = 1000
MEASURES = (
    "acc_pruned",
    "acc_retrained",
    "ramanujan_gap_mean",
    "ramanujan_gap_min",
    "spectral_gap_mean",
    "isolated",
)


def load(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(folder / RESULTS)
    neurons = frame["isolated_inputs"] + frame["isolated_outputs"]
    frame["isolated"] = neurons
    return frame


def summary_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and count over seeds per task, cell, method and percent."""
    groups = frame.groupby(["task", "cell", "method", "percent"])
    table = groups[list(MEASURES)].agg(["mean", "std"])
    table.columns = [f"{m}_{s}" for m, s in table.columns]
    table["seeds"] = groups.size()
    return table.reset_index()


def rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho; NaN when either side is constant or has fewer than 3 values."""
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def seed_bootstrap(
    frame: pd.DataFrame, statistic: Callable[[pd.DataFrame], float], seed: int = 0
) -> tuple[float, float, float]:
    """``statistic`` on ``frame`` and its 95 % percentile interval over bootstrap resamples
    of the seeds (with replacement; a drawn seed brings all its rows).

    With few seeds every distinct resample (multiset of seeds) is enumerated with its
    multinomial probability, an exact bootstrap (3 seeds: 10 resamples); otherwise
    ``BOOTSTRAP`` random ones."""
    seeds = np.sort(frame["seed"].unique())
    by_seed = {s: frame[frame["seed"] == s] for s in seeds}
    n = len(seeds)
    draws: list[tuple[tuple[int, ...], float]] = []
    if math.comb(2 * n - 1, n) <= BOOTSTRAP:
        for combo in itertools.combinations_with_replacement(range(n), n):
            counts = np.bincount(combo, minlength=n)
            weight = math.factorial(n) / math.prod(math.factorial(c) for c in counts) / n**n
            draws.append((combo, weight))
    else:
        rng = np.random.default_rng(seed)
        draws = [(tuple(rng.integers(0, n, size=n)), 1.0 / BOOTSTRAP) for _ in range(BOOTSTRAP)]
    values, weights = [], []
    for combo, weight in draws:
        value = statistic(pd.concat([by_seed[seeds[i]] for i in combo], ignore_index=True))
        if np.isfinite(value):
            values.append(value)
            weights.append(weight)
    return (statistic(frame), *_weighted_interval(np.asarray(values), np.asarray(weights)))


def _weighted_interval(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """The 2.5 and 97.5 % points of a discrete distribution (``values`` with ``weights``)."""
    if values.size == 0:
        return float("nan"), float("nan")
    order = np.argsort(values)
    values, cumulative = values[order], np.cumsum(weights[order]) / weights.sum()
    low = values[np.searchsorted(cumulative, 0.025)]
    high = values[min(np.searchsorted(cumulative, 0.975), values.size - 1)]
    return float(low), float(high)


def mean_rho_at_fixed_sparsity(frame: pd.DataFrame) -> float:
    """Spearman's rho of accuracy with the gap within each percent, averaged over percents."""
    values = [
        rho(g["acc_retrained"].to_numpy(), g[GAP].to_numpy()) for _, g in frame.groupby("percent")
    ]
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def correlation_table(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for label, methods in SUBSETS.items():
        data = frame[frame["method"].isin(methods)]
        for (task, cell), group in data.groupby(["task", "cell"]):
            for percent, part in group.groupby("percent"):
                value, low, high = seed_bootstrap(
                    part, lambda f: rho(f["acc_retrained"].to_numpy(), f[GAP].to_numpy())
                )
                rows.append(_corr_row(label, task, cell, str(percent), len(part), value, low, high))
            value, low, high = seed_bootstrap(group, mean_rho_at_fixed_sparsity)
            rows.append(_corr_row(label, task, cell, "mean", len(group), value, low, high))
    return pd.DataFrame(rows)


def _corr_row(methods, task, cell, percent, n, value, low, high) -> dict[str, object]:
    return {
        "methods": methods,
        "task": task,
        "cell": cell,
        "percent": percent,
        "networks": n,
        "spearman_rho": value,
        "ci_low": low,
        "ci_high": high,
    }


def _centred(frame: pd.DataFrame, columns: list[str], by: list[str]) -> pd.DataFrame:
    return frame[columns] - frame.groupby(by)[columns].transform("mean")


def partial_given_sparsity(frame: pd.DataFrame, by: list[str], measure: str = GAP) -> float:
    """Pearson correlation of rank(accuracy) and rank(``measure``), each centred within
    ``by`` (the percent, and the task and cell when pooled): Spearman's partial correlation
    with sparsity as a categorical covariate."""
    ranked = frame.assign(
        acc_rank=frame.groupby(by)["acc_retrained"].rank(),
        gap_rank=frame.groupby(by)[measure].rank(),
    )
    centred = _centred(ranked, ["acc_rank", "gap_rank"], by)
    return _pearson(centred["acc_rank"].to_numpy(), centred["gap_rank"].to_numpy())


def partial_given_sparsity_and_isolation(
    frame: pd.DataFrame, by: list[str], measure: str = GAP
) -> float:
    """As :func:`partial_given_sparsity`, also regressing out the number of isolated
    neurons (centred within ``by``) from both ranks by least squares."""
    ranked = frame.assign(
        acc_rank=frame.groupby(by)["acc_retrained"].rank(),
        gap_rank=frame.groupby(by)[measure].rank(),
    )
    centred = _centred(ranked, ["acc_rank", "gap_rank", "isolated"], by)
    covariate = centred["isolated"].to_numpy(dtype=float)[:, None]
    residuals = []
    for column in ("acc_rank", "gap_rank"):
        target = centred[column].to_numpy()
        if np.ptp(covariate) == 0:
            residuals.append(target)
            continue
        coef, *_ = np.linalg.lstsq(covariate, target, rcond=None)
        residuals.append(target - covariate @ coef)
    return _pearson(*residuals)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


BEYOND: dict[str, tuple[str, tuple[str, ...], bool, str]] = {
    # column: (statistic, methods, given isolated neurons too, expansion measure)
    "ignoring_sparsity": ("plain", METHODS, False, GAP),
    "given_sparsity": ("partial", METHODS, False, GAP),
    "agnostic_given_sparsity": ("partial", SUBSETS["weight-agnostic"], False, GAP),
    "agnostic_given_sparsity_and_isolated": ("partial", SUBSETS["weight-agnostic"], True, GAP),
    "random_expander_given_sparsity": ("partial", SUBSETS["random and expander"], False, GAP),
    "spectral_gap_given_sparsity": ("partial", METHODS, False, "spectral_gap_mean"),
}
"""The last column uses the unnormalised spectral gap instead of the Ramanujan gap."""


def _beyond_statistic(
    kind: str, methods: tuple[str, ...], isolated: bool, measure: str, by: list[str]
):
    def statistic(frame: pd.DataFrame) -> float:
        frame = frame[frame["method"].isin(methods)]
        if len(frame) < 3:
            return float("nan")
        if kind == "plain":
            return rho(frame["acc_retrained"].to_numpy(), frame[measure].to_numpy())
        if isolated:
            return partial_given_sparsity_and_isolation(frame, by, measure)
        return partial_given_sparsity(frame, by, measure)

    return statistic


def beyond_sparsity_table(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    scopes = [((task, cell), group) for (task, cell), group in frame.groupby(["task", "cell"])]
    scopes += [((task, "pooled"), group) for task, group in frame.groupby("task")]
    scopes.append((("both tasks", "pooled"), frame))
    by = ["task", "cell", "percent"]
    for (task, cell), group in scopes:
        row: dict[str, object] = {"task": task, "cell": cell, "networks": len(group)}
        for name, (kind, methods, isolated, measure) in BEYOND.items():
            statistic = _beyond_statistic(kind, methods, isolated, measure, by)
            value, low, high = seed_bootstrap(group, statistic)
            row.update({name: value, f"{name}_low": low, f"{name}_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(frame: pd.DataFrame) -> pd.DataFrame:
    """Per task, cell and percent: accuracy of expander, anti-expander and magnitude minus
    random on the same base model (seed), mean and sd over seeds."""
    wide = frame.pivot_table(
        index=["task", "cell", "percent", "seed"], columns="method", values="acc_retrained"
    )
    rows = []
    for method in ("expander", "anti-expander", "magnitude"):
        if method not in wide or "random" not in wide:
            continue
        diff = (wide[method] - wide["random"]).groupby(level=[0, 1, 2]).agg(["mean", "std"])
        rows.append(diff.rename(columns=lambda c, m=method: f"{m}_minus_random_{c}"))
    return pd.concat(rows, axis=1).reset_index() if rows else pd.DataFrame()


# -- plots -------------------------------------------------------------------------------------


def _panels(frame: pd.DataFrame, path: Path, draw, xlabel: str, ylabel: str, columns: int) -> Path:
    """One panel per (task, cell), each filled by ``draw(ax, rows)``, one shared legend."""
    from matplotlib.figure import Figure

    tasks = sorted(frame["task"].unique())
    cells = sorted(frame["cell"].unique(), key=lambda c: (CELL_ORDER + (c,)).index(c))
    figure = Figure(figsize=(4.2 * len(cells), 3.6 * len(tasks)))
    axes = figure.subplots(len(tasks), len(cells), squeeze=False)
    for i, task in enumerate(tasks):
        for j, cell in enumerate(cells):
            ax = axes[i][j]
            draw(ax, frame[(frame["task"] == task) & (frame["cell"] == cell)])
            ax.set(title=f"{task}, {cell}", xlabel=xlabel, ylabel=ylabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=6, ncol=columns, loc="lower center")
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    figure.savefig(path, dpi=90)
    return path


def _color(method: str) -> str:
    return f"C{METHODS.index(method)}" if method in METHODS else "C7"


def plot_scatter(frame: pd.DataFrame, path: Path) -> Path:
    markers = dict(zip(sorted(frame["percent"].unique()), "os^Dv*", strict=False))

    def draw(ax, part: pd.DataFrame) -> None:
        for (method, percent), group in part.groupby(["method", "percent"]):
            ax.scatter(
                group[GAP], group["acc_retrained"], color=_color(method),
                marker=markers.get(percent, "o"), s=18, alpha=0.75,
                label=f"{method} {percent:g}%",
            )  # fmt: skip

    xlabel = "mean Ramanujan gap of the pruned matrices"
    return _panels(frame, path, draw, xlabel, "test accuracy after retraining", 4)


def plot_accuracy(table: pd.DataFrame, path: Path) -> Path:
    def draw(ax, part: pd.DataFrame) -> None:
        for method, group in part.groupby("method"):
            group = group.sort_values("percent")
            ax.errorbar(
                group["percent"], group["acc_retrained_mean"], yerr=group["acc_retrained_std"],
                color=_color(method), marker="o", capsize=2, label=f"{method}: retrained",
            )  # fmt: skip
            ax.plot(
                group["percent"], group["acc_pruned_mean"], "--", color=_color(method),
                alpha=0.5, label=f"{method}: right after pruning",
            )  # fmt: skip

    ylabel = "test accuracy (mean ± sd over seeds)"
    return _panels(table, path, draw, "weights pruned (%)", ylabel, 4)


# -- summary -----------------------------------------------------------------------------------


def _per_task(frame: pd.DataFrame, column: str) -> str:
    values = frame.groupby("task")[column].first()
    return ", ".join(f"{task} {int(value)}" for task, value in values.items())


def _pm(mean: float, sd: float) -> str:
    return f"{mean:.3f} ± {sd:.3f}" if np.isfinite(sd) else f"{mean:.3f}"


def _ci(value: float, low: float, high: float) -> str:
    return f"{value:+.2f} [{low:+.2f}, {high:+.2f}]"


def summary_markdown(
    frame: pd.DataFrame,
    table: pd.DataFrame,
    corr: pd.DataFrame,
    beyond: pd.DataFrame,
    paired: pd.DataFrame,
) -> str:
    first = frame.iloc[0]
    seeds = sorted(frame["seed"].unique())
    lines = [
        "# Pruning methods grid: summary",
        "",
        "Made by `OMP_NUM_THREADS=1 nice -n 15 python benchmarks/prune_methods.py --out "
        "benchmarks/data/prune_methods` (resumable; run in two parts, seeds 0-2 then 3) and "
        "`python benchmarks/prune_methods_analysis.py benchmarks/data/prune_methods`; "
        "see docs/expansion.md.",
        "",
        f"{len(frame)} pruned networks; seeds {', '.join(str(int(s)) for s in seeds)}; "
        f"percents {', '.join(f'{p:g}' for p in sorted(frame['percent'].unique()))}.",
        f"Retraining epochs per task: {_per_task(frame, 'retrain_epochs')}; base epochs: "
        f"{_per_task(frame, 'base_epochs')}; target {first['target']}.",
        "",
    ]
    for percent in (90.0, 95.0):
        lines += [
            f"## Accuracy after retraining at {percent:g} % (mean ± sd over seeds)",
            "",
            "| task | cell | dense base | " + " | ".join(METHODS) + " |",
            "|---" * (3 + len(METHODS)) + "|",
        ]
        part = table[table["percent"] == percent]
        for (task, cell), group in part.groupby(["task", "cell"]):
            base = frame[(frame["task"] == task) & (frame["cell"] == cell)]
            base = base.groupby("seed")["base_acc"].first()
            cells = []
            for method in METHODS:
                row = group[group["method"] == method]
                cells.append(
                    _pm(row["acc_retrained_mean"].iloc[0], row["acc_retrained_std"].iloc[0])
                    if len(row)
                    else "–"
                )
            lines.append(
                f"| {task} | {cell} | {_pm(base.mean(), base.std())} | " + " | ".join(cells) + " |"
            )
        lines.append("")
    lines += [
        "## Spearman rho of accuracy with the mean Ramanujan gap at fixed sparsity",
        "",
        "Within each percent, averaged over the percents; 95 % bootstrap interval over seeds.",
        "",
        "| task | cell | " + " | ".join(SUBSETS) + " |",
        "|---|---|" + "---|" * len(SUBSETS),
    ]
    means = corr[corr["percent"] == "mean"]
    for (task, cell), group in means.groupby(["task", "cell"]):
        values = []
        for label in SUBSETS:
            row = group[group["methods"] == label].iloc[0]
            values.append(_ci(row["spearman_rho"], row["ci_low"], row["ci_high"]))
        lines.append(f"| {task} | {cell} | " + " | ".join(values) + " |")
    lines += [
        "",
        "## Does expansion predict accuracy beyond sparsity?",
        "",
        "Rank correlation of accuracy with the mean Ramanujan gap: plain, and partial given "
        "sparsity (centred within each task, cell and percent), over all methods, the "
        "weight-agnostic ones (also given isolated neurons), and random vs expander only; "
        "the last column: with the unnormalised spectral gap instead, over all methods "
        "(95 % bootstrap interval over seeds).",
        "",
        "| task | cell | " + " | ".join(BEYOND) + " |",
        "|---|---|" + "---|" * len(BEYOND),
    ]
    for row in beyond.to_dict("records"):
        values = [_ci(row[n], row[f"{n}_low"], row[f"{n}_high"]) for n in BEYOND]
        lines.append(f"| {row['task']} | {row['cell']} | " + " | ".join(values) + " |")
    lines += [
        "",
        "## Accuracy minus random's on the same base (mean ± sd over seeds)",
        "",
        "| task | cell | % | expander | anti-expander | magnitude |",
        "|---|---|---|---|---|---|",
    ]
    for row in paired.to_dict("records"):
        values = [
            _pm(row[f"{m}_minus_random_mean"], row[f"{m}_minus_random_std"])
            for m in ("expander", "anti-expander", "magnitude")
        ]
        lines.append(
            f"| {row['task']} | {row['cell']} | {row['percent']:g} | " + " | ".join(values) + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seeds", help="only these seeds (a comma list); default: all")
    args = parser.parse_args(argv)
    frame = load(args.folder)
    if args.seeds:
        frame = frame[frame["seed"].isin([int(s) for s in args.seeds.split(",")])]
    table = summary_table(frame)
    corr = correlation_table(frame)
    beyond = beyond_sparsity_table(frame)
    paired = paired_differences(frame)
    paired.to_csv(args.folder / "prune_methods_paired.csv", index=False, float_format="%.4g")
    table.to_csv(args.folder / "prune_methods_table.csv", index=False, float_format="%.5g")
    corr.to_csv(args.folder / "prune_methods_correlation.csv", index=False, float_format="%.4g")
    beyond.to_csv(
        args.folder / "prune_methods_beyond_sparsity.csv", index=False, float_format="%.4g"
    )
    plot_scatter(frame, args.folder / "prune_methods_scatter.png")
    plot_accuracy(table, args.folder / "prune_methods_accuracy.png")
    text = summary_markdown(frame, table, corr, beyond, paired)
    (args.folder / "prune_methods_summary.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
