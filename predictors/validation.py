"""Honest validation of accuracy predictors: repeated K-fold, a baseline and a noise ceiling.

- ``cross_validate_predictor``: repeated K-fold (default 5 folds x 3 repeats, seeded); every
  fold is scored on its held-out rows and each metric reported as mean and sample sd over all
  folds. Rows of the same graph (repeated evaluations) always share a fold (GroupKFold), so
  no graph is both trained on and tested on. All models see the same splits.
- Metrics (``METRICS``): R², Kendall tau-b, Spearman rho, mean absolute error and
  ``top10_precision``: the fraction of the fold's true top 10% (by measured accuracy, at least
  one row) that is also in its predicted top 10%: how well the predictor shortlists.
- ``noise_ceiling``: ICC(1), the share of the target's variance due to the graph, from
  repeated evaluations of the same graph; the best R² any predictor of single evaluations
  could reach on that table.
- A size-only baseline (``nodes``, ``edges``; a random forest), permutation feature
  importance on held-out folds and the Pearson / Spearman correlation of every feature with
  the target.

``evaluate_table`` runs all of it on an ``EvaluationTable``: the one call behind
``nas predictor eval``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import ConstantInputWarning, pearsonr, spearmanr
from sklearn.inspection import permutation_importance
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import GroupKFold, KFold

from core.errors import SparseNASError
from core.seeds import child_seeds
from predictors.features import SIZE_ONLY
from predictors.regressors import GraphRegressor, check_kind, clone_without_bootstrap, kendall_tau
from predictors.table import EvaluationTable, graph_groups

METRICS: tuple[str, ...] = ("r2", "kendall_tau", "spearman", "mae", "top10_precision")
"""Scores of every fold, in report order (MAE: lower is better; the rest: higher)."""

DEFAULT_MODELS: tuple[str, ...] = ("auto", "bayesridge", "rf", "adaboost", "xgboost", "extratrees")
BASELINE = "size-only"
BASELINE_KIND = "rf"

FoldCallback = Callable[[str], None]
Split = tuple[np.ndarray, np.ndarray]


def top_fraction_precision(y_true, y_pred, fraction: float = 0.1) -> float:
    """Fraction of the true top ``fraction`` of rows found in the predicted top ``fraction``.

    ``k = max(1, round(fraction * n))`` rows on each side; ties are broken by row order.
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.size == 0:
        return float("nan")
    k = max(1, int(round(fraction * y_true.size)))
    true_top = set(np.argsort(-y_true, kind="stable")[:k].tolist())
    pred_top = set(np.argsort(-y_pred, kind="stable")[:k].tolist())
    return len(true_top & pred_top) / k


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """Every metric of ``METRICS`` for one set of predictions (NaN where undefined)."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        constant = y_true.size < 2 or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0
        spearman = float("nan") if constant else float(spearmanr(y_true, y_pred).statistic)
        r2 = float(r2_score(y_true, y_pred)) if y_true.size >= 2 else float("nan")
    return {
        "r2": r2,
        "kendall_tau": kendall_tau(y_true, y_pred),
        "spearman": spearman,
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "top10_precision": top_fraction_precision(y_true, y_pred, 0.1),
    }


@dataclass
class CVResult:
    """Scores of one model under repeated K-fold.

    Attributes
    ----------
    name : the model's label (its kind, or ``BASELINE``).
    features : the feature columns it used.
    fold_scores : per metric, one score per fold (``cv x repeats``; NaN for a failed fold).
    oof : out-of-fold predictions, one row per repeat (``repeats x n_rows``).
    failed_folds : folds whose fit or prediction failed.
    """

    name: str
    features: tuple[str, ...]
    fold_scores: dict[str, np.ndarray]
    oof: np.ndarray
    failed_folds: int = 0

    @property
    def prediction(self) -> np.ndarray:
        """Out-of-fold prediction of each row, averaged over the repeats."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.oof, axis=0)

    def summary(self) -> dict[str, float | None]:
        """``<metric>_mean`` and ``<metric>_std`` (sample sd over folds) of every metric."""
        out: dict[str, float | None] = {}
        for metric in METRICS:
            scores = self.fold_scores[metric]
            scores = scores[np.isfinite(scores)]
            out[f"{metric}_mean"] = _json_float(scores.mean()) if scores.size else None
            out[f"{metric}_std"] = _json_float(scores.std(ddof=1)) if scores.size > 1 else None
        return out


def repeated_splits(
    n_rows: int, cv: int = 5, repeats: int = 3, seed: int = 0, groups=None
) -> list[Split]:
    """The ``cv x repeats`` (train, test) index pairs; rows of one group share a fold.

    Each repeat reshuffles with its own child seed of ``seed`` (``SeedSequence.spawn``).
    """
    for name, value in (("cv", cv), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise SparseNASError(f"{name} must be an integer (got {name}={value!r})")
    if cv < 2:
        raise SparseNASError(f"cv must be at least 2 folds (got cv={cv})")
    if repeats < 1:
        raise SparseNASError(f"repeats must be at least 1 (got repeats={repeats})")
    grouped = groups is not None and pd.Series(np.asarray(groups)).duplicated().any()
    units = len(set(np.asarray(groups).tolist())) if grouped else n_rows
    if units < cv:
        what = "distinct graphs" if grouped else "rows"
        raise SparseNASError(f"{cv}-fold cross-validation needs at least {cv} {what} (got {units})")
    seeds = child_seeds(seed, repeats)
    rows = np.arange(n_rows)
    splits: list[Split] = []
    for repeat_seed in seeds:
        if grouped:
            splitter = GroupKFold(cv, shuffle=True, random_state=repeat_seed)
            splits += list(splitter.split(rows, groups=np.asarray(groups)))
        else:
            splits += list(KFold(cv, shuffle=True, random_state=repeat_seed).split(rows))
    return splits


def cross_validate_predictor(
    estimator,
    X,
    y,
    *,
    cv: int = 5,
    repeats: int = 3,
    seed: int = 0,
    groups=None,
    splits: Sequence[Split] | None = None,
    name: str | None = None,
    on_fold: FoldCallback | None = None,
) -> CVResult:
    """Repeated K-fold cross-validation of ``estimator`` on ``X``, ``y``.

    The estimator is cloned for every fold (boosted kinds without their bootstrap refits,
    which only serve the uncertainty). A fold whose fit or prediction fails scores NaN and
    warns; the other folds go on.

    Parameters
    ----------
    estimator : any scikit-learn regressor.
    X, y : features (array or DataFrame) and target.
    cv, repeats, seed : folds, repeats and the seed of the shuffles.
    groups : one label per row; rows of one label share a fold.
    splits : precomputed ``repeated_splits``, ``repeats`` blocks of folds (then cv, seed and
        groups are unused).
    name : label of the result (default: the estimator's kind or class name).
    on_fold : called with ``name`` after every fold (progress bars).
    """
    X = X if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if splits is None:
        splits = repeated_splits(len(y), cv, repeats, seed, groups)
    if not splits or len(splits) % repeats:
        raise ValueError(f"{len(splits)} splits do not make {repeats} equal repeats")
    n_repeats = repeats
    label = name or getattr(estimator, "kind", type(estimator).__name__)
    scores = {metric: np.full(len(splits), np.nan) for metric in METRICS}
    oof = np.full((n_repeats, len(y)), np.nan)
    failed = 0
    folds_per_repeat = len(splits) // n_repeats
    for number, (train, test) in enumerate(splits):
        model = clone_without_bootstrap(estimator)
        try:
            model.fit(_rows(X, train), y[train])
            predicted = np.asarray(model.predict(_rows(X, test)), dtype=float)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, SparseNASError) as exc:
            failed += 1
            warnings.warn(
                f"{label}: fold {number + 1} of {len(splits)} failed and scores NaN "
                f"({type(exc).__name__}: {exc})",
                UserWarning,
                stacklevel=2,
            )
        else:
            oof[number // folds_per_repeat, test] = predicted
            for metric, value in regression_metrics(y[test], predicted).items():
                scores[metric][number] = value
        if on_fold is not None:
            on_fold(label)
    features = tuple(X.columns) if isinstance(X, pd.DataFrame) else ()
    return CVResult(label, features, scores, oof, failed)


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
    :func:`predictors.validation.noise_ceiling` derives the ceiling of the means.
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


def feature_correlations(X: pd.DataFrame, y) -> pd.DataFrame:
    """Pearson and Spearman correlation (with p-values) of every column with ``y``.

    Columns: ``feature, pearson, pearson_p, spearman, spearman_p``, sorted by ``|spearman|``
    (largest first); a constant feature gets NaN.
    """
    y = np.asarray(y, dtype=float)
    rows = []
    for column in X.columns:
        x = X[column].to_numpy(dtype=float)
        if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            rows.append({"feature": column} | dict.fromkeys(_CORRELATION_COLUMNS, math.nan))
            continue
        pearson = pearsonr(x, y)
        spearman = spearmanr(x, y)
        rows.append(
            {
                "feature": column,
                "pearson": float(pearson.statistic),
                "pearson_p": float(pearson.pvalue),
                "spearman": float(spearman.statistic),
                "spearman_p": float(spearman.pvalue),
            }
        )
    frame = pd.DataFrame(rows, columns=["feature", *_CORRELATION_COLUMNS])
    order = frame["spearman"].abs().fillna(-1.0).sort_values(ascending=False, kind="stable")
    return frame.loc[order.index].reset_index(drop=True)


_CORRELATION_COLUMNS = ("pearson", "pearson_p", "spearman", "spearman_p")


def permutation_importances(
    estimator,
    X: pd.DataFrame,
    y,
    *,
    cv: int = 5,
    seed: int = 0,
    n_repeats: int = 3,
    groups=None,
    on_fold: FoldCallback | None = None,
) -> pd.DataFrame:
    """Permutation importance (drop in R²) on held-out folds, averaged over ``cv`` folds.

    Each fold fits a clone on its training rows and permutes every feature of its test rows
    ``n_repeats`` times. Columns ``feature, importance_mean, importance_std`` (sd over
    folds), sorted by importance.
    """
    y = np.asarray(y, dtype=float)
    splits = repeated_splits(len(y), cv, 1, seed, groups)
    per_fold = []
    for number, (train, test) in enumerate(splits):
        model = clone_without_bootstrap(estimator).fit(X.iloc[train], y[train])
        result = permutation_importance(
            model,
            X.iloc[test],
            y[test],
            scoring="r2",
            n_repeats=n_repeats,
            random_state=seed + number,
        )
        per_fold.append(result.importances_mean)
        if on_fold is not None:
            on_fold("importance")
    values = np.stack(per_fold)
    frame = pd.DataFrame(
        {
            "feature": list(X.columns),
            "importance_mean": values.mean(axis=0),
            "importance_std": values.std(axis=0, ddof=1) if len(per_fold) > 1 else np.nan,
        }
    )
    return frame.sort_values("importance_mean", ascending=False, kind="stable").reset_index(
        drop=True
    )


@dataclass
class EvaluationReport:
    """Everything ``nas predictor eval`` shows: scores, baseline, ceiling, correlations."""

    cell: str | None
    rows: int
    features: tuple[str, ...]
    cv: int
    repeats: int
    seed: int
    y: np.ndarray
    models: dict[str, CVResult]
    baseline: CVResult | None
    noise_ceiling: float | None
    correlations: pd.DataFrame
    importance: pd.DataFrame | None = None
    importance_model: str | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def best(self) -> str:
        """The model with the highest mean Kendall tau."""

        def score(name: str) -> float:
            value = self.models[name].summary()["kendall_tau_mean"]
            return -math.inf if value is None else value

        return max(self.models, key=score)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON values (NaN becomes None)."""
        out: dict[str, object] = {
            "cell": self.cell,
            "rows": self.rows,
            "features": list(self.features),
            "missing_features": list(self.missing),
            "dropped_rows": dict(self.dropped),
            "cv": self.cv,
            "repeats": self.repeats,
            "seed": self.seed,
            "models": {name: result.summary() for name, result in self.models.items()},
            "best": self.best,
            "baseline": None if self.baseline is None else self.baseline.summary(),
            "noise_ceiling": self.noise_ceiling,
            "correlations": _records(self.correlations),
        }
        if self.importance is not None:
            out["importance_model"] = self.importance_model
            out["importance"] = _records(self.importance)
        return out


def evaluate_table(
    table: EvaluationTable,
    models: Sequence[str] = DEFAULT_MODELS,
    *,
    cv: int = 5,
    repeats: int = 3,
    seed: int = 0,
    n_estimators: int = 200,
    importance: bool = True,
    on_fold: FoldCallback | None = None,
) -> EvaluationReport:
    """Cross-validate every model kind, the size-only baseline and compute the ceiling.

    All models and the baseline share the same splits. Permutation importance is computed
    for the best fixed kind among those evaluated (by mean Kendall tau; ``auto`` is left out,
    since importance needs one fixed model; extratrees when only ``auto`` was evaluated).
    """
    if table.target is None:
        raise SparseNASError("evaluation needs a table with a target column")
    kinds = [check_kind(kind) for kind in models]
    if not kinds:
        raise SparseNASError("no model to evaluate; name at least one")
    kinds = list(dict.fromkeys(kinds))
    X, y = table.X, table.y
    splits = repeated_splits(len(y), cv, repeats, seed, table.groups)
    results = {}
    for kind in kinds:
        estimator = GraphRegressor(kind=kind, n_estimators=n_estimators, random_state=seed)
        results[kind] = cross_validate_predictor(
            estimator, X, y, splits=splits, repeats=repeats, name=kind, on_fold=on_fold
        )
    baseline = None
    size = size_features(table)
    if size is not None:
        estimator = GraphRegressor(kind=BASELINE_KIND, n_estimators=n_estimators, random_state=seed)
        baseline = cross_validate_predictor(
            estimator, size, y, splits=splits, repeats=repeats, name=BASELINE, on_fold=on_fold
        )
    report = EvaluationReport(
        cell=table.cell,
        rows=len(table),
        features=table.features,
        cv=cv,
        repeats=repeats,
        seed=seed,
        y=y,
        models=results,
        baseline=baseline,
        noise_ceiling=noise_ceiling(table),
        correlations=feature_correlations(X, y),
        dropped=dict(table.dropped),
        missing=table.missing,
    )
    if importance:
        fixed = [name for name in results if name != "auto"] or ["extratrees"]
        chosen = max(fixed, key=lambda n: _score(results.get(n)))
        estimator = GraphRegressor(kind=chosen, n_estimators=n_estimators, random_state=seed)
        report.importance = permutation_importances(
            estimator, X, y, cv=cv, seed=seed, groups=table.groups, on_fold=on_fold
        )
        report.importance_model = chosen
    return report


def size_features(table: EvaluationTable) -> pd.DataFrame | None:
    """The size-only baseline's features (``nodes``, ``edges``, those the table has), or None
    when it has neither or one is not finite."""
    columns = [c for c in SIZE_ONLY if c in table.frame.columns]
    if not columns:
        return None
    size = table.frame[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    return size if np.isfinite(size.to_numpy()).all() else None


def planned_folds(
    table: EvaluationTable, n_models: int, cv: int, repeats: int, *, importance: bool
) -> int:
    """Number of ``on_fold`` calls ``evaluate_table`` makes (a progress bar's total)."""
    baseline = size_features(table) is not None
    return (n_models + int(baseline)) * cv * repeats + (cv if importance else 0)


# -- helpers -----------------------------------------------------------------------------------


def _rows(X, index: np.ndarray):
    return X.iloc[index] if isinstance(X, pd.DataFrame) else X[index]


def _score(result: CVResult | None) -> float:
    if result is None:
        return -math.inf
    value = result.summary()["kendall_tau_mean"]
    return -math.inf if value is None else value


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    records = frame.to_dict("records")
    return [
        {k: (_json_float(v) if isinstance(v, float) else v) for k, v in row.items()}
        for row in records
    ]
