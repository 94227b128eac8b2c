"""Repeated K-fold cross-validation of a predictor (default 5 folds x 3 repeats, seeded).

Every fold is scored on its held-out rows by every metric of ``METRICS`` and each metric is
reported as mean and sample sd over all folds. Rows of the same graph (repeated evaluations)
always share a fold (GroupKFold), so no graph is both trained on and tested on."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold

from core.errors import SparseNASError
from core.jsonsafe import json_safe
from core.seeds import child_seeds
from predictors.checks import check_splittable
from predictors.regressors import clone_without_bootstrap
from predictors.validation.metrics import METRICS, regression_metrics

FoldCallback = Callable[[str], None]
Split = tuple[np.ndarray, np.ndarray]


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
            out[f"{metric}_mean"] = json_safe(scores.mean()) if scores.size else None
            out[f"{metric}_std"] = json_safe(scores.std(ddof=1)) if scores.size > 1 else None
        return out


def repeated_splits(
    n_rows: int, cv: int = 5, repeats: int = 3, seed: int = 0, groups=None
) -> list[Split]:
    """The ``cv x repeats`` (train, test) index pairs; rows of one group share a fold.

    Each repeat reshuffles with its own child seed of ``seed`` (``SeedSequence.spawn``).
    """
    grouped = check_splittable(n_rows, cv, repeats, groups)
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


def _rows(X, index: np.ndarray):
    return X.iloc[index] if isinstance(X, pd.DataFrame) else X[index]
