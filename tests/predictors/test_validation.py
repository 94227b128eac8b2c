"""Validation (predictors/validation.py): metrics, repeated CV, baseline, ICC, importances.

The tables are synthetic: real graphs of the thesis preset with a known accuracy function.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from predictor_fixtures import THESIS_TABLE, our_table

from core.errors import SparseNASError
from predictors.regressors import GraphRegressor
from predictors.table import load_table
from predictors.validation import (
    METRICS,
    average_over_seeds,
    cross_validate_predictor,
    evaluate_table,
    feature_correlations,
    intraclass_correlation,
    noise_ceiling,
    permutation_importances,
    planned_folds,
    regression_metrics,
    repeated_splits,
    top_fraction_precision,
)


@pytest.fixture(scope="module")
def synthetic():
    return load_table(our_table(60, seed=0), features="all")


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


def test_icc_by_hand():
    # Groups {1, 3} and {5, 7}: MSB = 16, MSW = 2, k0 = 2 -> (16 - 2) / (16 + 2).
    assert intraclass_correlation([1, 3, 5, 7], ["a", "a", "b", "b"]) == pytest.approx(14 / 18)
    assert intraclass_correlation([1, 2, 3], ["a", "b", "c"]) is None  # no repeats
    assert intraclass_correlation([1, 1, 1, 1], ["a", "a", "b", "b"]) is None  # no variance
    assert intraclass_correlation([1, 2], None) is None


@pytest.mark.parametrize("share", [0.25, 0.5, 0.8])
def test_icc_recovers_a_known_variance_split(share):
    rng = np.random.default_rng(0)
    graphs, repeats = 1500, 3
    between = rng.normal(0, np.sqrt(share), graphs)
    y = np.repeat(between, repeats) + rng.normal(0, np.sqrt(1 - share), graphs * repeats)
    groups = np.repeat(np.arange(graphs), repeats)
    assert intraclass_correlation(y, groups) == pytest.approx(share, abs=0.05)
    # Unbalanced: singletons beside the repeated graphs.
    singles = rng.normal(0, 1, 500)
    y2 = np.concatenate([y, singles])
    groups2 = np.concatenate([groups, np.arange(graphs, graphs + 500)])
    assert intraclass_correlation(y2, groups2) == pytest.approx(share, abs=0.06)


def test_noise_ceiling_of_a_table_with_repeats():
    # Noise sd 0.02 against a graph signal sd of ~0.038: ICC ~ 0.038² / (0.038² + 0.02²).
    table = load_table(our_table(40, repeats=3, noise=0.02, seed=2), features="thesis")
    assert table.has_repeats
    ceiling = noise_ceiling(table)
    signal = pd.Series(table.y).groupby(table.groups).mean().var()
    assert 0.5 < ceiling < 0.95
    assert ceiling == pytest.approx(signal / (signal + 0.02**2), abs=0.15)


def test_the_same_graph_and_training_seed_twice_is_no_repeat():
    frame = our_table(12, repeats=1, seed=4)
    twice = pd.concat([frame, frame.iloc[:3]], ignore_index=True)  # a pool drew 3 graphs again
    table = load_table(twice, features="thesis")
    assert table.has_repeats and noise_ceiling(table) is None
    reseeded = frame.iloc[:3].assign(train_seed=1, test_acc=frame["test_acc"].iloc[:3] - 0.01)
    with_seeds = load_table(pd.concat([twice, reseeded], ignore_index=True), features="thesis")
    ceiling = noise_ceiling(with_seeds)
    rows = load_table(pd.concat([frame, reseeded], ignore_index=True), features="thesis")
    assert ceiling is not None and ceiling == pytest.approx(noise_ceiling(rows))


def test_average_over_seeds_worked_example():
    frame = our_table(4, repeats=1, seed=5)
    second = frame.iloc[:2].assign(train_seed=1, test_acc=[0.5, 0.7])
    duplicate = frame.iloc[:1]  # the same graph and training seed again: one training
    table = load_table(pd.concat([frame, second, duplicate], ignore_index=True), features="thesis")
    means = average_over_seeds(table)
    assert len(means) == 4 and means.frame["n_seeds"].tolist() == [2, 2, 1, 1]
    expected = [(frame["test_acc"][0] + 0.5) / 2, (frame["test_acc"][1] + 0.7) / 2]
    assert means.y[:2] == pytest.approx(expected) and means.y[2:] == pytest.approx(
        frame["test_acc"][2:].to_numpy()
    )
    assert means.features == table.features and not means.has_repeats
    assert means.run_icc == pytest.approx(noise_ceiling(table))


def test_the_ceiling_of_means_follows_spearman_brown():
    table = load_table(our_table(40, repeats=3, noise=0.02, seed=2), features="thesis")
    single = noise_ceiling(table)
    means = average_over_seeds(table)
    assert set(means.frame["n_seeds"]) == {3}
    assert noise_ceiling(means) == pytest.approx(3 * single / (1 + 2 * single))
    assert noise_ceiling(means) > single


def test_average_over_seeds_refuses_a_table_without_graphs_or_target():
    frame = our_table(6, seed=1).drop(columns=["edge_list"])
    with pytest.raises(SparseNASError, match="which rows are one graph"):
        average_over_seeds(load_table(frame, features="thesis"))
    with pytest.raises(SparseNASError, match="target"):
        average_over_seeds(load_table(our_table(6, seed=1), features="thesis", target=None))


def test_grouped_cv_on_repeats_runs():
    table = load_table(our_table(15, repeats=2, seed=3), features="thesis")
    report = evaluate_table(
        table, ["bayesridge"], cv=3, repeats=1, n_estimators=5, importance=False
    )
    assert report.noise_ceiling is not None and report.importance is None


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
