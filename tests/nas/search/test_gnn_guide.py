"""The predictor strategy guided by the graph neural network (``predictor="gnn"``)."""

import math

import pytest
from optuna.trial import TrialState

from nas.search import SearchSpec, run_search
from nas.search.space import SearchSpace
from nas.search.strategies.base import Warm
from nas.search.strategies.predictor import PredictorStrategy
from predictors import ALL
from predictors.gnn import GNNRegressor


class FastGNN(GNNRegressor):
    """The gnn kind at test size (the strategy builds it with its defaults)."""

    def __init__(self, hidden=8, epochs=30, lr=0.01, weight_decay=1e-4, n_members=3,
                 random_state=None):  # fmt: skip
        super().__init__(hidden, epochs, lr, weight_decay, n_members, random_state)


def test_a_seeded_search_guided_by_the_gnn_runs_its_rounds(tmp_path, monkeypatch):
    monkeypatch.setattr("predictors.gnn.GNNRegressor", FastGNN)
    spec = SearchSpec(
        cell="gru", budget=6, epochs=1, nodes=(10, 12), n_strings=200, round_size=3,
        pool_size=30, out=str(tmp_path / "run"), pruner="none", predictor="gnn",
    )  # fmt: skip
    study = run_search(spec)
    trials = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
    assert len(trials) == 6
    guided = [t for t in trials if t.user_attrs["origin"] in ("pool", "local")]
    assert len(guided) == 3
    assert all(math.isfinite(t.user_attrs["predicted_acc"]) for t in guided)
    assert all(t.user_attrs["predicted_std"] > 0 for t in guided)  # the members' spread
    strategy = PredictorStrategy.from_spec(spec, SearchSpace(spec.families, spec.nodes), Warm(ALL))
    warm = [t for t in trials if t.user_attrs["origin"] == "warm-up"]
    model = strategy.fit(warm, round_index=1)
    assert isinstance(model, FastGNN) and len(model.members_) == 3
    first = guided[0].user_attrs  # the round's regressor, refitted, predicts what it recorded
    assert model.predict([first["edge_list"]])[0] == pytest.approx(first["predicted_acc"])
