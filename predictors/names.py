"""Names the command line shows and checks before anything heavy is imported: the
regressor kinds a ``GraphRegressor`` can be (and their check) and the feature sets' names
(no scikit-learn, XGBoost or igraph import)."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import SparseNASError

KINDS: tuple[str, ...] = ("bayesridge", "rf", "adaboost", "xgboost", "extratrees")
"""The regressors ``GraphRegressor`` wraps (``"auto"`` chooses among them)."""

GRAPH_KINDS: tuple[str, ...] = ("gnn",)
"""Regressors that read the graph itself (its edge list), not a feature row:
``predictors.gnn.GNNRegressor``."""

CHOICES: tuple[str, ...] = ("auto", *KINDS, *GRAPH_KINDS)

TUNABLE: tuple[str, ...] = ("auto", "rf", "extratrees")
"""Kinds whose hyper-parameters ``GraphRegressor(tune=True)`` searches (the forests; ``auto``
when it picks one)."""

FEATURE_SET_NAMES: tuple[str, ...] = (
    "all",
    "thesis",
    "size",
    "proxies",
    "all+proxies",
    "all+wiring",
    "all+wiring+proxies",
)
"""The feature sets of ``predictors.features.FEATURE_SETS``, by name."""


def check_feature_set(name: str) -> str:
    """``name`` if it names a feature set (``predictors.table.resolve_features`` reads it)."""
    if name not in FEATURE_SET_NAMES:
        raise SparseNASError(
            f"unknown feature set {name!r}; choose one of {', '.join(FEATURE_SET_NAMES)}"
        )
    return name


def check_kind(kind: object, *, allow_auto: bool = True) -> str:
    """Return ``kind`` if it names a regressor, else raise with the allowed names."""
    allowed = CHOICES if allow_auto else KINDS
    if kind not in allowed:
        raise SparseNASError(f"unknown model kind {kind!r}; choose one of {', '.join(allowed)}")
    return str(kind)


def check_tune(kind: str, tune: bool) -> None:
    """Refuse ``tune`` for a kind without a grid to search (before any table is read)."""
    if tune and kind not in TUNABLE:
        raise SparseNASError(
            f"tune searches the forests' grid; it applies to {', '.join(TUNABLE)} "
            f"(got kind {kind!r})"
        )


def check_kinds(kinds: Sequence[object]) -> list[str]:
    """The regressors ``kinds`` names, each checked, once each, in order; at least one."""
    checked = [check_kind(kind) for kind in kinds]
    if not checked:
        raise SparseNASError("no model to evaluate; name at least one")
    return list(dict.fromkeys(checked))


MAX_NAN_SHARE = 0.5
"""The default largest share of rows ``load_table`` drops for a NaN or infinite feature: a
few such rows are gaps, a majority means a broken table (a misread file, a failed join),
which is refused rather than shrunk to a remnant."""

DEFAULT_MODELS: tuple[str, ...] = ("auto", "bayesridge", "rf", "adaboost", "xgboost", "extratrees")
"""The regressors ``nas predictor eval`` compares by default."""

METRICS: tuple[str, ...] = ("r2", "kendall_tau", "spearman", "mae", "top10_precision")
"""Scores of every fold, in report order (MAE: lower is better; the rest: higher)."""
