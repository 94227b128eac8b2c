"""benchmarks/learning_curves.py: its splits and its scores, checked on a tiny table against
scipy computed here a second way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, spearmanr

from predictors.table import load_table


@pytest.fixture(scope="module")
def curves_module(benchmark_script):
    return benchmark_script("learning_curves")


class FirstColumn:
    """A 'model' whose prediction is the first feature: the scores are then known exactly."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float)[:, 0]


def _top_precision(y_true, y_pred, share=0.1):
    k = max(1, int(round(share * len(y_true))))
    return len(set(np.argsort(-y_true)[:k]) & set(np.argsort(-y_pred)[:k])) / k


def test_splits_hold_out_a_fixed_share_and_repeat_for_their_seed(curves_module, monkeypatch):
    monkeypatch.setattr(curves_module, "MIN_TEST", 4)
    splits = curves_module.split_indices(40, 3, 0.25, seed=7)
    assert len(splits) == 3
    for test, rest in splits:
        assert len(test) == 10 and len(rest) == 30
        assert sorted([*test, *rest]) == list(range(40))
    again = curves_module.split_indices(40, 3, 0.25, seed=7)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(splits, again, strict=True))
    assert not np.array_equal(splits[0][0], splits[1][0])
    with pytest.raises(SystemExit):
        curves_module.split_indices(4, 1, 0.25, seed=0)  # nothing left to train on


def test_scores_on_a_tiny_table_match_scipy(curves_module, monkeypatch):
    monkeypatch.setattr(curves_module, "MIN_TEST", 8)
    monkeypatch.setattr(curves_module, "estimator", lambda kind, seed, n: FirstColumn())
    rng = np.random.default_rng(0)
    n = 40
    accuracy = rng.uniform(0.5, 0.9, n)
    frame = pd.DataFrame({
        "cell": "gru", "status": "ok", "test_acc": accuracy,
        "density": accuracy + rng.normal(0, 0.05, n), "degree_mean": rng.uniform(1, 5, n),
        "proxy_synflow": rng.normal(size=n),
    })  # fmt: skip
    table = load_table(frame, features=["density", "degree_mean"])
    splits = curves_module.split_indices(n, 4, 0.3, seed=1)
    result = curves_module.curves(table, ["first"], [5, 20, 100], splits, seed=0, n_estimators=10)
    assert result["sizes"] == [5, 20] and result["skipped_sizes"] == [100]
    predicted, proxy = frame["density"].to_numpy(), frame["proxy_synflow"].to_numpy()
    expected = {
        "spearman": [spearmanr(accuracy[t], predicted[t]).statistic for t, _ in splits],
        "kendall_tau": [kendalltau(accuracy[t], predicted[t]).statistic for t, _ in splits],
        "top10_precision": [_top_precision(accuracy[t], predicted[t]) for t, _ in splits],
    }
    for size in ("5", "20"):
        for metric, values in expected.items():
            cell = result["models"]["first"][size][metric]
            assert cell["per_split"] == pytest.approx(values)
            assert cell["median"] == pytest.approx(np.median(values))
            assert cell["q1"] == pytest.approx(np.quantile(values, 0.25))
    synflow = result["proxies"]["proxy_synflow"]
    rho = [spearmanr(accuracy[t], proxy[t]).statistic for t, _ in splits]
    tau = [kendalltau(accuracy[t], proxy[t]).statistic for t, _ in splits]
    assert synflow["spearman"]["per_split"] == pytest.approx(rho)
    assert synflow["kendall_tau"]["per_split"] == pytest.approx(tau)
