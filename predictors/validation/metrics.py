"""The scores of one fold's predictions (``METRICS``): R², Kendall tau-b, Spearman rho, mean
absolute error and ``top10_precision``, the fraction of the fold's true top 10% (by measured
accuracy, at least one row) that is also in its predicted top 10%: how well the predictor
shortlists."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import ConstantInputWarning, spearmanr
from sklearn.metrics import mean_absolute_error, r2_score

from predictors.names import METRICS  # noqa: F401 (re-exported)
from predictors.regressors import kendall_tau


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
