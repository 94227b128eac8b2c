"""The settings and table sizes the predictor library refuses (predictors/checks.py), the
same ones `nas predictor` refuses before it reads a table (issue 32, items 9d, 9e, 18)."""

import numpy as np
import pytest
from predictor_fixtures import our_table

from core.errors import SparseNASError
from predictors.checks import MAX_SEED, MIN_TRAIN_ROWS, check_folds, check_seed
from predictors.persistence import fit_predictor
from predictors.table import MAX_NAN_SHARE, load_table
from predictors.validation import evaluate_table, planned_folds, repeated_splits


@pytest.fixture(scope="module")
def table():
    return load_table(our_table(12, seed=2), features="thesis")


SETTINGS = [
    (lambda: check_seed(-1), "seed must be an integer in [0, 4294967295] (got seed=-1)"),
    (lambda: check_seed(MAX_SEED + 1), "seed must be an integer in [0, 4294967295]"),
    (lambda: check_seed(1.5), "seed must be an integer (got seed=1.5)"),
    (lambda: check_folds(1, 1), "cv must be at least 2 folds (got cv=1)"),
    (lambda: check_folds(5, 0), "repeats must be at least 1 (got repeats=0)"),
    (lambda: check_folds(True, 1), "cv must be an integer (got cv=True)"),
    (lambda: repeated_splits(12, 5, 0), "repeats must be at least 1"),
    (lambda: repeated_splits(3, 5, 1), "5-fold cross-validation needs at least 5 rows (got 3)"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), SETTINGS)
def test_bad_settings_are_one_line_errors(call, message):
    with pytest.raises(SparseNASError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_check_seed_passes_the_whole_range():
    assert check_seed(0) == 0 and check_seed(MAX_SEED) == MAX_SEED
    assert check_seed(np.int64(7)) == 7


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"seed": -1}, "seed must be an integer in [0, "),
        ({"n_estimators": 0}, "n_estimators must be an integer >= 1"),
    ],
)
def test_fit_and_evaluate_refuse_bad_settings(table, options, message):
    with pytest.raises(SparseNASError, match=message.replace("[", r"\[")):
        fit_predictor(table, "bayesridge", **options)
    with pytest.raises(SparseNASError, match=message.replace("[", r"\[")):
        evaluate_table(table, ["bayesridge"], cv=3, repeats=1, importance=False, **options)


def test_training_needs_min_train_rows_and_says_why(table):
    small = load_table(our_table(MIN_TRAIN_ROWS - 1, seed=2), features="thesis")
    with pytest.raises(SparseNASError, match=r"has 5 usable row\(s\); training a predictor "):
        fit_predictor(small, "bayesridge")
    just = load_table(our_table(MIN_TRAIN_ROWS, seed=2), features="thesis")
    assert fit_predictor(just, "bayesridge", n_estimators=5).rows == MIN_TRAIN_ROWS


def test_evaluation_needs_two_rows_per_test_fold(table):
    message = r"needs at least 14 rows \(got 12, 2 per test fold"
    with pytest.raises(SparseNASError, match=message):
        planned_folds(table, 1, 7, 1, importance=False)
    with pytest.raises(SparseNASError, match=message):
        evaluate_table(table, ["bayesridge"], cv=7, repeats=1, importance=False)
    assert planned_folds(table, 1, 6, 1, importance=False) == 12  # model and baseline


def test_nan_rows_are_dropped_up_to_a_share_then_refused():
    frame = our_table(10, seed=2).drop(columns=["edge_list"])
    frame.loc[:4, "density"] = np.nan  # 5 of 10: exactly the default share
    with pytest.warns(UserWarning, match=r"5 of 10, 50%; NaN or inf in density\)"):
        assert len(load_table(frame, features="thesis")) == 5
    frame.loc[5, "diameter"] = np.inf  # 6 of 10
    assert MAX_NAN_SHARE == 0.5
    with pytest.raises(SparseNASError, match=r"6 of 10 rows \(60%\) of table <frame> have a NaN"):
        load_table(frame, features="thesis")
    with pytest.warns(UserWarning, match=r"NaN or inf in diameter, density"):
        assert len(load_table(frame, features="thesis", max_nan_share=1.0)) == 4
    with pytest.raises(SparseNASError, match="max_nan_share must be in"):
        load_table(frame, features="thesis", max_nan_share=1.5)
