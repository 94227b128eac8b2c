"""How much of the accuracy is the graph's and how much the training seed's luck.

``noise_ceiling``: ICC(1), the share of the target's variance due to the graph, from repeated
evaluations of the same graph; the best R² any predictor of single evaluations could reach
on that table. ``average_over_seeds``: one row per graph, its mean over training seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import SparseNASError
from predictors.table import EvaluationTable, graph_groups


def intraclass_correlation(y, groups) -> float | None:
    """ICC(1) of ``y`` grouped by ``groups`` (one-way random effects, unbalanced groups).

    ``(MSB - MSW) / (MSB + (k0 - 1) MSW)`` with ``k0 = (N - sum n_i^2 / N) / (g - 1)``: the
    share of the variance of a single evaluation due to the group (graph). Groups with one
    row enter the between-group mean square only. None when no group has two rows, there are
    fewer than two groups or the target does not vary. May be negative when repeats of one
    graph differ more than graphs do.

    References
    ----------
    .. [1] P. E. Shrout and J. L. Fleiss, Intraclass correlations: uses in assessing rater
       reliability, Psychol. Bull. 86, 420-428, 1979.
    """
    y = np.asarray(y, dtype=float)
    if groups is None or y.size == 0:
        return None
    frame = pd.DataFrame({"y": y, "g": np.asarray(groups)})
    stats = frame.groupby("g", sort=False)["y"].agg(["count", "mean"])
    n_groups, n_rows = len(stats), len(frame)
    if n_groups < 2 or stats["count"].max() < 2:
        return None
    grand = y.mean()
    within = float(((frame["y"] - frame["g"].map(stats["mean"])) ** 2).sum())
    between = float((stats["count"] * (stats["mean"] - grand) ** 2).sum())
    msb = between / (n_groups - 1)
    msw = within / (n_rows - n_groups)
    k0 = (n_rows - float((stats["count"] ** 2).sum()) / n_rows) / (n_groups - 1)
    denominator = msb + (k0 - 1.0) * msw
    if denominator <= 0:
        return None
    return float((msb - msw) / denominator)


def noise_ceiling(table: EvaluationTable) -> float | None:
    """ICC(1) of the table's target over its graphs; None without graphs evaluated with
    more than one training seed. Rows of one graph and one ``train_seed`` repeat the same
    deterministic training (a pool may draw one graph twice), so only the first counts.

    For a table of per-graph means (:func:`average_over_seeds`) it is the
    reliability of a mean of k runs, k * ICC / (1 + (k - 1) * ICC) (Spearman-Brown), with k
    the harmonic mean of the runs per graph: the share of the means' variance due to the
    graph.
    """
    if table.run_icc is not None and "n_seeds" in table.frame.columns:
        k = float(len(table) / (1.0 / table.frame["n_seeds"].astype(float)).sum())
        return float(k * table.run_icc / (1.0 + (k - 1.0) * table.run_icc))
    if not table.has_repeats:
        return None
    keep = _distinct_trainings(table)
    groups = np.asarray(table.groups)[keep]
    if not pd.Series(groups).duplicated().any():
        return None
    return intraclass_correlation(table.y[keep], groups)


def _distinct_trainings(table: EvaluationTable) -> np.ndarray:
    """Row mask keeping the first row of every (graph, ``train_seed``): a repeat of both is
    the same deterministic training, not another run."""
    if "train_seed" not in table.frame.columns:
        return np.ones(len(table), dtype=bool)
    pairs = pd.DataFrame({"graph": table.groups, "seed": table.frame["train_seed"].to_numpy()})
    return ~pairs.duplicated().to_numpy()


def average_over_seeds(table: EvaluationTable) -> EvaluationTable:
    """One row per graph whose target is the mean over its training seeds.

    A single training's accuracy is the graph's merit plus the luck of its seed; the mean of
    k seeds keeps the merit and divides the luck's variance by k, so it is what a predictor
    of topology should be scored against. Rows of one graph and one ``train_seed`` repeat
    one deterministic training and count once. The result's ``n_seeds`` column counts the
    runs behind each mean and ``run_icc`` keeps the single runs' ICC(1), from which
    :func:`noise_ceiling` derives the ceiling of the means.
    """
    if table.target is None:
        raise SparseNASError("averaging over seeds needs a table with a target column")
    if table.groups is None:
        raise SparseNASError(
            f"table {table.source} does not say which rows are one graph (no edge_list, "
            "graph or graph_nr column), so it cannot be averaged over seeds"
        )
    frame = table.frame.assign(_graph=table.groups).loc[_distinct_trainings(table)]
    grouped = frame.groupby("_graph", sort=False)
    means = frame.drop_duplicates("_graph").set_index("_graph")
    means[table.target] = grouped[table.target].mean()
    means["n_seeds"] = grouped[table.target].size()
    means = means.reset_index(drop=True)
    return EvaluationTable(
        frame=means,
        features=table.features,
        target=table.target,
        cell=table.cell,
        groups=graph_groups(means),
        dropped=dict(table.dropped),
        missing=table.missing,
        source=table.source,
        run_icc=noise_ceiling(table),
    )
