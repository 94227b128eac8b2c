"""Validation (predictors/validation/cv.py): repeated K-fold, seeded, graphs kept within a fold.

The tables are synthetic: real graphs of the thesis preset with a known accuracy function.
"""

import numpy as np
import pytest

from core.errors import SparseNASError
from predictors.regressors import GraphRegressor
from predictors.validation import (
    cross_validate_predictor,
    repeated_splits,
)


def test_splits_are_seeded_and_keep_groups_together():
    groups = np.repeat(np.arange(10), 3)
    splits = repeated_splits(30, 5, 2, seed=1, groups=groups)
    assert len(splits) == 10
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    for repeat in range(2):
        tested = np.concatenate([test for _, test in splits[repeat * 5 : repeat * 5 + 5]])
        assert sorted(tested) == list(range(30))
    again = repeated_splits(30, 5, 2, seed=1, groups=groups)
    other = repeated_splits(30, 5, 2, seed=2, groups=groups)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(splits, other, strict=True))
    with pytest.raises(SparseNASError, match="needs at least 5 distinct graphs"):
        repeated_splits(12, 5, 1, groups=np.repeat(np.arange(4), 3))
    with pytest.raises(SparseNASError, match="cv must be at least 2"):
        repeated_splits(12, 1, 1)


def test_same_seed_same_scores(synthetic):
    X, y = synthetic.X[["nodes", "edges", "density"]], synthetic.y
    model = GraphRegressor(kind="rf", n_estimators=10, random_state=0)
    a = cross_validate_predictor(model, X, y, cv=3, repeats=1, seed=4).summary()
    b = cross_validate_predictor(model, X, y, cv=3, repeats=1, seed=4).summary()
    c = cross_validate_predictor(model, X, y, cv=3, repeats=1, seed=5).summary()
    assert a == b and a != c


def test_a_failing_fold_scores_nan_and_warns():
    class FailsOnSmallTargets(GraphRegressor):
        def fit(self, X, y):
            if np.min(y) < 0.05:
                raise ValueError("boom")
            return super().fit(X, y)

    X = np.arange(40.0).reshape(20, 2)
    y = np.linspace(0.1, 1.0, 20)
    y[0] = 0.0
    model = FailsOnSmallTargets(kind="bayesridge")
    with pytest.warns(UserWarning, match="failed and scores NaN"):
        result = cross_validate_predictor(model, X, y, cv=4, repeats=1, seed=0)
    assert result.failed_folds == 3  # every fold but the one holding row 0 out
    assert np.isnan(result.fold_scores["r2"]).sum() == 3
    assert result.summary()["r2_mean"] is not None
