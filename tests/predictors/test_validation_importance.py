"""Validation (predictors/validation/importance.py): feature correlations, permutation
importance.

The tables are synthetic: real graphs of the thesis preset with a known accuracy function.
"""

import numpy as np
import pandas as pd
import pytest

from predictors.regressors import GraphRegressor
from predictors.validation import (
    feature_correlations,
    permutation_importances,
)


def test_feature_correlations():
    X = pd.DataFrame({"up": np.arange(10.0), "down": -(np.arange(10.0) ** 3), "flat": 1.0})
    frame = feature_correlations(X, np.arange(10.0))
    assert list(frame.columns) == ["feature", "pearson", "pearson_p", "spearman", "spearman_p"]
    rows = frame.set_index("feature")
    assert rows.loc["up", "pearson"] == pytest.approx(1.0)
    assert rows.loc["down", "spearman"] == pytest.approx(-1.0)
    assert np.isnan(rows.loc["flat", "spearman"])
    assert frame["feature"].iloc[-1] == "flat"


def test_permutation_importance_finds_the_signal():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["signal", "noise", "weak"])
    y = X["signal"] + 0.2 * X["weak"] + 0.05 * rng.normal(size=80)
    frame = permutation_importances(GraphRegressor(kind="bayesridge"), X, y, cv=3)
    assert list(frame["feature"]) == ["signal", "weak", "noise"]
