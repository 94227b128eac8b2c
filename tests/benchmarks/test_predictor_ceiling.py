"""benchmarks/predictor_ceiling.py: its blends, rankers and transforms checked against a
second computation, and its committed results against the protocol of ``nas predictor eval``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, spearmanr

from predictors.validation import CVResult, repeated_splits
from predictors.validation.metrics import regression_metrics

DATA = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


@pytest.fixture(scope="module")
def ceiling(benchmark_script):
    return benchmark_script("predictor_ceiling")


def _member(name: str, oof: np.ndarray) -> CVResult:
    return CVResult(name, (), {}, oof)


def test_blend_scores_the_members_mean_on_each_test_fold(ceiling):
    rng = np.random.default_rng(3)
    y = rng.normal(size=30)
    splits = repeated_splits(30, cv=3, repeats=2, seed=1)
    a, b = rng.normal(size=(2, 30)), rng.normal(size=(2, 30))
    folds = ceiling._blend([_member("a", a), _member("b", b)], y, splits, repeats=2)
    for number, (_, test) in enumerate(splits):
        expected = regression_metrics(y[test], (a[number // 3, test] + b[number // 3, test]) / 2)
        assert folds["r2"][number] == pytest.approx(expected["r2"])
        assert folds["kendall_tau"][number] == pytest.approx(expected["kendall_tau"])


def test_ranker_uses_the_finite_rows_of_each_fold(ceiling):
    rng = np.random.default_rng(4)
    y = rng.normal(size=40)
    values = y + rng.normal(size=40)
    values[:3] = np.nan
    splits = repeated_splits(40, cv=2, repeats=1, seed=0)
    folds = ceiling._ranker(values, y, splits)
    for number, (_, test) in enumerate(splits):
        test = test[np.isfinite(values[test])]
        assert folds["kendall_tau"][number] == pytest.approx(kendalltau(values[test], y[test])[0])
        assert folds["spearman"][number] == pytest.approx(spearmanr(values[test], y[test])[0])
    assert np.isnan(folds["r2"]).all()  # a ranker is not a regressor: no R²


def test_signed_log_keeps_the_order_and_the_sign(ceiling):
    frame = pd.DataFrame({"p": [-1e6, -2.0, 0.0, 3.0, 1e9]})
    out = ceiling.signed_log(frame)["p"].to_numpy()
    assert np.all(np.diff(out) > 0) and out[2] == 0 and np.sign(out[0]) == -1
    assert out[-1] == pytest.approx(np.log1p(1e9))


def test_logit_target_round_trips(ceiling):
    from sklearn.dummy import DummyRegressor

    model = ceiling.logit_target(DummyRegressor()).fit(np.zeros((4, 1)), [0.6, 0.7, 0.8, 0.9])
    fitted_logit = np.mean(np.log(np.array([0.6, 0.7, 0.8, 0.9]) / [0.4, 0.3, 0.2, 0.1]))
    assert model.predict(np.zeros((1, 1)))[0] == pytest.approx(1 / (1 + np.exp(-fitted_logit)))


@pytest.mark.parametrize("cell", ["gru", "rnn_tanh", "rnn_relu", "lstm"])
def test_committed_results_rerun_todays_best_on_the_same_folds(cell):
    report = json.loads((DATA / f"predictor_ceiling_{cell}.json").read_text())
    committed = json.loads((DATA / f"predictor_{cell}_all_mean.json").read_text())
    assert (report["cv"], report["repeats"], report["seed"]) == (5, 3, 0)
    assert report["noise_ceiling"] == pytest.approx(committed["noise_ceiling"])
    # today's model rerun on the splits every candidate shares gives the committed figures
    today = report["candidates"]["today"]
    assert today["r2_mean"] == pytest.approx(committed["models"][committed["best"]]["r2_mean"])
    best = report["candidates"][report["best"]]
    assert report["best_gap"] == pytest.approx(report["noise_ceiling"] - best["r2_mean"])
    for entry in report["candidates"].values():
        assert len(entry["folds"]["kendall_tau"]) == 15
