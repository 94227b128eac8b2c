"""Which features matter: the Pearson / Spearman correlation of every feature with the
target, and permutation importance on held-out folds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from sklearn.inspection import permutation_importance

from predictors.regressors import clone_without_bootstrap
from predictors.validation.cv import FoldCallback, repeated_splits


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
