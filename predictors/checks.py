"""The settings of training and validating a predictor, checked before a table is read or a
progress bar drawn (no scikit-learn import), so a bad one is one error line at once.

The library's entry points (``fit_predictor``, ``repeated_splits``, ``evaluate_table``)
call the same checks, so the command line and the library refuse the same settings.
"""

from __future__ import annotations

from core.checks import check_int
from core.errors import SparseNASError

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


def check_train_rows(rows: int, source: str) -> None:
    """Refuse to train on fewer than ``MIN_TRAIN_ROWS`` rows, saying why."""
    if rows < MIN_TRAIN_ROWS:
        raise SparseNASError(
            f"table {source} has {rows} usable row(s); training a predictor needs at least "
            f"{MIN_TRAIN_ROWS} (its inner {INNER_FOLDS}-fold validation needs 2 rows per fold)"
        )
