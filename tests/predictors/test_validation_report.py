"""Validation (predictors/validation/report.py): the whole protocol on a table, with the
size-only baseline.

The tables are synthetic: real graphs of the thesis preset with a known accuracy function.
"""

import warnings

from predictor_fixtures import THESIS_TABLE, our_table

from predictors.table import load_table
from predictors.validation import (
    METRICS,
    evaluate_table,
    planned_folds,
)


def test_cv_recovers_a_known_function_and_beats_the_size_baseline(synthetic):
    report = evaluate_table(
        synthetic, ["bayesridge", "extratrees"], cv=5, repeats=2, seed=0, n_estimators=30
    )
    ridge = report.models["bayesridge"].summary()
    # The target is nearly linear in three features, noise sd 0.004 against signal ~0.04.
    assert ridge["r2_mean"] > 0.85 and ridge["kendall_tau_mean"] > 0.7
    assert report.models["extratrees"].summary()["r2_mean"] > 0.5
    baseline = report.baseline.summary()
    assert baseline["r2_mean"] < ridge["r2_mean"] - 0.3
    assert report.noise_ceiling is None  # one evaluation per graph
    assert report.best == "bayesridge"
    assert report.importance_model == "bayesridge"
    top = set(report.importance["feature"].head(4))
    assert {"average_clustering", "degree_assortativity"} <= top
    assert report.models["bayesridge"].fold_scores["r2"].shape == (10,)
    assert report.models["bayesridge"].oof.shape == (2, 60)
    record = report.to_dict()
    assert set(record["models"]["bayesridge"]) == {
        f"{m}_{s}" for m in METRICS for s in ("mean", "std")
    }


def test_grouped_cv_on_repeats_runs():
    table = load_table(our_table(15, repeats=2, seed=3), features="thesis")
    report = evaluate_table(
        table, ["bayesridge"], cv=3, repeats=1, n_estimators=5, importance=False
    )
    assert report.noise_ceiling is not None and report.importance is None


def test_thesis_table_is_evaluated_with_the_protocol():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = load_table(THESIS_TABLE, features="all")
    calls = []
    report = evaluate_table(
        table, ["rf", "bayesridge"], cv=5, repeats=2, n_estimators=20, on_fold=calls.append
    )
    assert len(calls) == planned_folds(table, 2, 5, 2, importance=True) == 35
    assert report.rows == 30 and report.cell == "gru" and report.noise_ceiling is None
    # The synthetic accuracy grows with the edge count: the size baseline does well here.
    assert report.baseline.summary()["kendall_tau_mean"] > 0.4
    assert report.models["rf"].summary()["kendall_tau_mean"] > 0.4
