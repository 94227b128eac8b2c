"""Honest validation of accuracy predictors: repeated K-fold, a baseline and a noise ceiling.

One job per module:

- ``predictors.validation.metrics``: the scores of one fold (``METRICS``);
- ``predictors.validation.cv``: repeated K-fold, graphs kept within one fold;
- ``predictors.validation.noise``: the noise ceiling (ICC(1)) and averaging over seeds;
- ``predictors.validation.importance``: feature correlations and permutation importance;
- ``predictors.validation.report``: ``evaluate_table``, all of it on an ``EvaluationTable``
  with a size-only baseline: the one call behind ``nas predictor eval``.
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): importing one
    # module (noise, to average over seeds) does not import scikit-learn with the others
    from predictors.validation.cv import (
        CVResult,
        FoldCallback,
        Split,
        cross_validate_predictor,
        repeated_splits,
    )
    from predictors.validation.importance import feature_correlations, permutation_importances
    from predictors.validation.metrics import METRICS, regression_metrics, top_fraction_precision
    from predictors.validation.noise import (
        average_over_seeds,
        intraclass_correlation,
        noise_ceiling,
    )
    from predictors.validation.report import (
        BASELINE,
        BASELINE_KIND,
        DEFAULT_MODELS,
        EvaluationReport,
        evaluate_table,
        planned_folds,
        size_features,
    )

_HOMES = {
    "CVResult": "predictors.validation.cv",
    "FoldCallback": "predictors.validation.cv",
    "Split": "predictors.validation.cv",
    "cross_validate_predictor": "predictors.validation.cv",
    "repeated_splits": "predictors.validation.cv",
    "feature_correlations": "predictors.validation.importance",
    "permutation_importances": "predictors.validation.importance",
    "METRICS": "predictors.validation.metrics",
    "regression_metrics": "predictors.validation.metrics",
    "top_fraction_precision": "predictors.validation.metrics",
    "average_over_seeds": "predictors.validation.noise",
    "intraclass_correlation": "predictors.validation.noise",
    "noise_ceiling": "predictors.validation.noise",
    "BASELINE": "predictors.validation.report",
    "BASELINE_KIND": "predictors.validation.report",
    "DEFAULT_MODELS": "predictors.validation.report",
    "EvaluationReport": "predictors.validation.report",
    "evaluate_table": "predictors.validation.report",
    "planned_folds": "predictors.validation.report",
    "size_features": "predictors.validation.report",
}

__getattr__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "BASELINE",
    "BASELINE_KIND",
    "DEFAULT_MODELS",
    "METRICS",
    "CVResult",
    "EvaluationReport",
    "FoldCallback",
    "Split",
    "average_over_seeds",
    "cross_validate_predictor",
    "evaluate_table",
    "feature_correlations",
    "intraclass_correlation",
    "noise_ceiling",
    "permutation_importances",
    "planned_folds",
    "regression_metrics",
    "repeated_splits",
    "size_features",
    "top_fraction_precision",
]
