"""Names the command line shows and checks before anything heavy is imported: the
regressor kinds a ``GraphRegressor`` can be (and their check) and the feature sets' names
(no scikit-learn, XGBoost or igraph import)."""

from __future__ import annotations

from core.errors import SparseNASError

KINDS: tuple[str, ...] = ("bayesridge", "rf", "adaboost", "xgboost", "extratrees")
"""The regressors ``GraphRegressor`` wraps (``"auto"`` chooses among them)."""

GRAPH_KINDS: tuple[str, ...] = ("gnn",)
"""Regressors that read the graph itself (its edge list), not a feature row:
``predictors.gnn.GNNRegressor``."""

CHOICES: tuple[str, ...] = ("auto", *KINDS, *GRAPH_KINDS)

FEATURE_SET_NAMES: tuple[str, ...] = ("all", "thesis", "size", "proxies", "all+proxies")
"""The feature sets of ``predictors.features.FEATURE_SETS``, by name."""


def check_kind(kind: object, *, allow_auto: bool = True) -> str:
    """Return ``kind`` if it names a regressor, else raise with the allowed names."""
    allowed = CHOICES if allow_auto else KINDS
    if kind not in allowed:
        raise SparseNASError(f"unknown model kind {kind!r}; choose one of {', '.join(allowed)}")
    return str(kind)
