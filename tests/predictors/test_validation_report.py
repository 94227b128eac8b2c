"""Validation (predictors/validation/report.py): the whole protocol on a table, with the
size-only baseline.

The tables are synthetic: real graphs of the thesis preset with a known accuracy function.
"""

import warnings

import numpy as np
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


def test_wiring_feature_set_reads_the_wiring_and_is_deterministic():
    """A worked example of ``--features all+wiring``: an accuracy made of two wiring features
    (absent from ``all``) is learnt from the edge lists; a seed fixes every fold's score."""
    frame = our_table(40, seed=2).drop(columns=["test_acc"])
    wiring = load_table(frame.assign(test_acc=0.0), features="all+wiring").X
    frame["test_acc"] = 0.7 + 0.02 * wiring["io_edge_cut"] + 0.1 * wiring["readout_reach_share"]
    table = load_table(frame, features="all+wiring")
    runs = [
        evaluate_table(table, ["bayesridge", "extratrees"], cv=4, repeats=1, seed=5,
                       n_estimators=30, importance=False)
        for _ in range(2)
    ]  # fmt: skip
    ridge = runs[0].models["bayesridge"].summary()
    assert ridge["r2_mean"] > 0.95
    for kind in ("bayesridge", "extratrees"):
        for metric in METRICS:
            np.testing.assert_array_equal(
                runs[0].models[kind].fold_scores[metric], runs[1].models[kind].fold_scores[metric]
            )
