"""Accuracy predictors: from a graph's features to its Sparse-RNN's test accuracy.

- ``predictors.features``: the feature row of a graph and a cell, and the feature sets.
- ``predictors.table``: load evaluations tables (ours and the thesis' published ones).
- ``predictors.regressors``: ``GraphRegressor``, scikit-learn pipelines with an uncertainty.
- ``predictors.validation``: repeated K-fold, size-only baseline, noise ceiling, importances.
- ``predictors.persistence``: fit, save, load and predict with a ``Predictor``.

Works on plain feature tables; imports graphs/ (to compute features from edge lists) and,
of models/, only the torch-free ``models.cells`` (the ``params_nonzero`` feature).
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562)
    from predictors.features import ALL, FEATURE_SETS, SIZE_ONLY, THESIS, feature_row
    from predictors.persistence import (
        Predictor,
        data_hash,
        fit_predictor,
        library_versions,
        load_predictor,
        save_predictor,
    )
    from predictors.plots import plot_predictions
    from predictors.regressors import CHOICES, KINDS, GraphRegressor, make_pipeline
    from predictors.table import EvaluationTable, load_table, read_table
    from predictors.validation import (
        DEFAULT_MODELS,
        METRICS,
        CVResult,
        EvaluationReport,
        average_over_seeds,
        cross_validate_predictor,
        evaluate_table,
        feature_correlations,
        intraclass_correlation,
        noise_ceiling,
        permutation_importances,
        regression_metrics,
        repeated_splits,
        top_fraction_precision,
    )

_HOMES = {
    "ALL": "predictors.features",
    "FEATURE_SETS": "predictors.features",
    "SIZE_ONLY": "predictors.features",
    "THESIS": "predictors.features",
    "feature_row": "predictors.features",
    "Predictor": "predictors.persistence",
    "data_hash": "predictors.persistence",
    "fit_predictor": "predictors.persistence",
    "library_versions": "predictors.persistence",
    "load_predictor": "predictors.persistence",
    "save_predictor": "predictors.persistence",
    "plot_predictions": "predictors.plots",
    "CHOICES": "predictors.regressors",
    "KINDS": "predictors.regressors",
    "GraphRegressor": "predictors.regressors",
    "make_pipeline": "predictors.regressors",
    "EvaluationTable": "predictors.table",
    "load_table": "predictors.table",
    "read_table": "predictors.table",
    "DEFAULT_MODELS": "predictors.validation",
    "METRICS": "predictors.validation",
    "CVResult": "predictors.validation",
    "EvaluationReport": "predictors.validation",
    "average_over_seeds": "predictors.validation",
    "cross_validate_predictor": "predictors.validation",
    "evaluate_table": "predictors.validation",
    "feature_correlations": "predictors.validation",
    "intraclass_correlation": "predictors.validation",
    "noise_ceiling": "predictors.validation",
    "permutation_importances": "predictors.validation",
    "regression_metrics": "predictors.validation",
    "repeated_splits": "predictors.validation",
    "top_fraction_precision": "predictors.validation",
}

__getattr__ = lazy_exports(__name__, _HOMES)


__all__ = [
    "ALL",
    "CHOICES",
    "DEFAULT_MODELS",
    "FEATURE_SETS",
    "KINDS",
    "METRICS",
    "SIZE_ONLY",
    "THESIS",
    "CVResult",
    "EvaluationReport",
    "EvaluationTable",
    "GraphRegressor",
    "Predictor",
    "cross_validate_predictor",
    "data_hash",
    "evaluate_table",
    "feature_correlations",
    "feature_row",
    "fit_predictor",
    "intraclass_correlation",
    "library_versions",
    "load_predictor",
    "load_table",
    "make_pipeline",
    "noise_ceiling",
    "average_over_seeds",
    "permutation_importances",
    "plot_predictions",
    "read_table",
    "regression_metrics",
    "repeated_splits",
    "save_predictor",
    "top_fraction_precision",
]
