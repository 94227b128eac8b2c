"""``evaluate_table``: the whole validation of ``nas predictor eval`` on an ``EvaluationTable``.

Every model kind and a size-only baseline (``nodes``, ``edges``; a random forest) are
cross-validated on the same splits, beside the noise ceiling, the feature correlations and
the permutation importances of the best fixed kind."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import SparseNASError
from core.jsonsafe import json_safe
from predictors.checks import SCORED_ROWS_PER_FOLD, check_n_estimators, check_seed
from predictors.features import SIZE_ONLY
from predictors.names import DEFAULT_MODELS, GRAPH_KINDS, TUNABLE, check_kinds
from predictors.regressors import GraphRegressor
from predictors.table import EvaluationTable
from predictors.validation.cv import (
    CVResult,
    FoldCallback,
    check_splittable,
    cross_validate_predictor,
    repeated_splits,
)
from predictors.validation.importance import feature_correlations, permutation_importances
from predictors.validation.noise import noise_ceiling

BASELINE = "size-only"
BASELINE_KIND = "rf"


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
    tune: bool = False,
    on_fold: FoldCallback | None = None,
) -> EvaluationReport:
    """Cross-validate every model kind, the size-only baseline and compute the ceiling.

    ``tune``: the kinds of ``TUNABLE`` search their grid in each training fold (nested).

    All models and the baseline share the same splits. Permutation importance is computed
    for the best fixed kind among those evaluated (by mean Kendall tau; ``auto`` is left out,
    since importance needs one fixed model; extratrees when only ``auto`` was evaluated).
    """
    check_seed(seed)
    check_n_estimators(n_estimators)
    if table.target is None:
        raise SparseNASError("evaluation needs a table with a target column")
    kinds = check_kinds(models)
    X, y = table.X, table.y
    check_splittable(len(y), cv, repeats, table.groups, per_fold=SCORED_ROWS_PER_FOLD)
    splits = repeated_splits(len(y), cv, repeats, seed, table.groups)
    results = {}
    graphs = graph_column(table) if set(kinds) & set(GRAPH_KINDS) else None
    for kind in kinds:
        estimator = _estimator(kind, n_estimators, seed, tune and kind in TUNABLE)
        data = graphs if kind in GRAPH_KINDS else X
        results[kind] = cross_validate_predictor(
            estimator, data, y, splits=splits, repeats=repeats, name=kind, on_fold=on_fold
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
        fixed = [n for n in results if n != "auto" and n not in GRAPH_KINDS] or ["extratrees"]
        chosen = max(fixed, key=lambda n: _score(results.get(n)))
        estimator = GraphRegressor(kind=chosen, n_estimators=n_estimators, random_state=seed)
        report.importance = permutation_importances(
            estimator, X, y, cv=cv, seed=seed, groups=table.groups, on_fold=on_fold
        )
        report.importance_model = chosen
    return report


def _estimator(kind: str, n_estimators: int, seed: int, tune: bool = False):
    """The unfitted regressor of ``kind``: a ``GraphRegressor``, or for ``gnn`` a
    ``GNNRegressor`` (PyTorch, imported only then)."""
    if kind in GRAPH_KINDS:
        from predictors.gnn import GNNRegressor

        return GNNRegressor(random_state=seed)
    return GraphRegressor(kind=kind, n_estimators=n_estimators, tune=tune, random_state=seed)


def graph_column(table: EvaluationTable) -> pd.DataFrame:
    """The table's ``edge_list`` column, what the graph-reading kinds (``gnn``) take as X."""
    if "edge_list" not in table.frame.columns:
        raise SparseNASError(
            f"the gnn predictor reads graphs, and table {table.source} has no edge_list column"
        )
    return table.frame[["edge_list"]]


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
    """Number of ``on_fold`` calls ``evaluate_table`` makes (a progress bar's total).

    Raises the SparseNASError ``evaluate_table`` would for these folds and rows (at least
    ``SCORED_ROWS_PER_FOLD`` per test fold), so a bar is drawn only for an evaluation that
    starts."""
    check_splittable(len(table), cv, repeats, table.groups, per_fold=SCORED_ROWS_PER_FOLD)
    baseline = size_features(table) is not None
    return (n_models + int(baseline)) * cv * repeats + (cv if importance else 0)


def _score(result: CVResult | None) -> float:
    if result is None:
        return -math.inf
    value = result.summary()["kendall_tau_mean"]
    return -math.inf if value is None else value


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [json_safe(row) for row in frame.to_dict("records")]
