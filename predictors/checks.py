"""The settings of training and validating a predictor, checked before a table is read or a
progress bar drawn (no scikit-learn import), so a bad one is one error line at once.

The library's entry points (``fit_predictor``, ``repeated_splits``, ``evaluate_table``)
call the same checks, so the command line and the library refuse the same settings.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from core.checks import check_int
from core.errors import SparseNASError

PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
"""A table file with one of these suffixes is Parquet; any other is CSV."""
MAX_SEED = 2**32 - 1
"""The largest seed: scikit-learn seeds its models with numpy's ``RandomState``."""

INNER_FOLDS = 3
"""Folds of the inner split with which ``GraphRegressor(kind="auto")`` picks its model."""

MIN_TRAIN_ROWS = 2 * INNER_FOLDS
"""Fewest rows a predictor is trained on: the inner 3-fold split that picks the model scores
each fold by Kendall's tau, which needs at least 2 rows per fold; fewer rows could neither
choose a model nor show how good it is."""


def check_seed(seed: object) -> int:
    """``seed`` if it is an integer in ``[0, MAX_SEED]``."""
    return check_int(seed, "seed", low=0, high=MAX_SEED)


def check_n_estimators(n_estimators: object) -> int:
    """``n_estimators`` (trees of the tree ensembles) if it is an integer >= 1."""
    return check_int(n_estimators, "n_estimators", low=1)


def check_folds(cv: object, repeats: object) -> tuple[int, int]:
    """``cv`` (folds, >= 2) and ``repeats`` (>= 1) of a repeated K-fold split."""
    folds, times = check_int(cv, "cv"), check_int(repeats, "repeats")
    if folds < 2:
        raise SparseNASError(f"cv must be at least 2 folds (got cv={folds})")
    if times < 1:
        raise SparseNASError(f"repeats must be at least 1 (got repeats={times})")
    return folds, times


SCORED_ROWS_PER_FOLD = 2
"""Rows (graphs) each test fold of ``evaluate_table`` needs: R² and Kendall's tau of a
single row are undefined, so smaller folds would score nothing."""


def check_fold_rows(cv: int, units: int, grouped: bool, *, per_fold: int = 1) -> None:
    """A ``cv``-fold split needs ``per_fold`` rows (graphs, when rows are ``grouped``) per
    fold."""
    needed = cv * per_fold
    if units < needed:
        what = "distinct graphs" if grouped else "rows"
        why = f", {per_fold} per test fold to score R² and Kendall's tau" if per_fold > 1 else ""
        raise SparseNASError(
            f"{cv}-fold cross-validation needs at least {needed} {what} (got {units}{why})"
        )


def check_splittable(n_rows: int, cv: int, repeats: int, groups=None, *, per_fold: int = 1) -> bool:
    """Raise unless ``n_rows`` (in ``groups``) make ``cv`` folds of ``per_fold`` rows or more,
    ``repeats`` times; returns whether rows are grouped (some graph has several rows)."""
    check_folds(cv, repeats)
    labels = [] if groups is None else list(groups)
    units = len(set(labels))
    grouped = units < len(labels)
    check_fold_rows(cv, units if grouped else n_rows, grouped, per_fold=per_fold)
    return grouped


def check_train_rows(rows: int, source: str) -> None:
    """Refuse to train on fewer than ``MIN_TRAIN_ROWS`` rows, saying why."""
    if rows < MIN_TRAIN_ROWS:
        raise SparseNASError(
            f"table {source} has {rows} usable row(s); training a predictor needs at least "
            f"{MIN_TRAIN_ROWS} (its inner {INNER_FOLDS}-fold validation needs 2 rows per fold)"
        )


def check_needed_features(name: str, missing: Sequence[str]) -> None:
    """Refuse a table to predict on that lacks features the predictor needs (``missing``:
    not among its columns, and no ``edge_list`` to compute them from)."""
    if missing:
        raise SparseNASError(
            f"table {name} lacks {len(missing)} feature(s) the predictor needs and has no "
            f"edge_list to compute them from: {', '.join(missing)}"
        )


def check_csv_header(path: Path, features: Sequence[str]) -> None:
    """``check_needed_features`` on a CSV table's header row alone (the csv module, before
    pandas loads); a file it cannot read this way is left to ``predictors.table``."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            header = next((row for row in csv.reader(stream) if row), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return
    columns = {str(column).strip() for column in header or ()}
    if header is None or "edge_list" in columns:
        return
    check_needed_features(f"'{path}'", [f for f in features if f not in columns])
