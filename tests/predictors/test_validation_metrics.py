"""Validation (predictors/validation/metrics.py): the scores of one fold.

The tables are synthetic: real graphs of the thesis preset with a known accuracy function.
"""

import numpy as np
import pytest

from predictors.validation import (
    METRICS,
    regression_metrics,
    top_fraction_precision,
)


def test_top_fraction_precision():
    y = np.arange(20.0)
    assert top_fraction_precision(y, y) == 1.0
    assert top_fraction_precision(y, -y) == 0.0
    # Top 10% of 20 rows = 2 rows (18, 19); the prediction finds one of them.
    predicted = y.copy()
    predicted[18] = -1
    assert top_fraction_precision(y, predicted) == 0.5
    assert top_fraction_precision([0.3, 0.9, 0.1], [0.1, 0.8, 0.2]) == 1.0  # k = 1


def test_regression_metrics_of_a_perfect_and_a_constant_prediction():
    y = np.linspace(0.8, 1.0, 10)
    perfect = regression_metrics(y, y)
    expected = {"r2": 1.0, "kendall_tau": 1.0, "spearman": 1.0, "mae": 0.0, "top10_precision": 1}
    assert perfect == pytest.approx(expected)
    constant = regression_metrics(y, np.full(10, 0.9))
    assert np.isnan(constant["kendall_tau"]) and np.isnan(constant["spearman"])
    assert set(constant) == set(METRICS)
