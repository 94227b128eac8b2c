"""The strategy seam: the registry, the base's hooks, seeded samplers, and a new strategy
that runs in a real search with no edit outside its class and its registry line."""

import optuna
import pytest

from core.errors import SparseNASError
from nas.search import SearchSpec, run_search
from nas.search.space import SearchSpace
from nas.search.strategies import REGISTRY, STRATEGIES, StrategyEntry, strategy_class
from nas.search.strategies.base import Proposal, SearchStrategy, Warm, random_sampler
from predictors import ALL

SPACE = SearchSpace(("ws", "ba", "er"), (10, 14))


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_registered_strategy_builds_from_a_spec(name):
    spec = SearchSpec(strategy=name, nodes=(10, 14), budget=20)
    strategy = strategy_class(name).from_spec(spec, SPACE, Warm(ALL))
    assert isinstance(strategy, SearchStrategy)
    assert isinstance(strategy.sampler(0), optuna.samplers.BaseSampler)
    assert strategy.warmup_left(spec.budget) == 0  # no warm-up once the budget is started


def test_an_unknown_strategy_is_one_error_naming_the_choices():
    with pytest.raises(SparseNASError, match="predictor, tpe, random"):
        strategy_class("grid")
    with pytest.raises(SparseNASError, match="strategy"):
        SearchSpec(strategy="grid")


@pytest.mark.parametrize("name", STRATEGIES)
def test_a_round_sampler_repeats_for_its_seed_and_round_and_differs_otherwise(name):
    def draws(seed: int, round_index: int) -> list[dict]:
        spec = SearchSpec(strategy=name, nodes=(10, 14), seed=seed)
        sampler = strategy_class(name).from_spec(spec, SPACE, Warm(ALL)).sampler(round_index)
        study = optuna.create_study(sampler=sampler)
        return [SPACE.suggest(study.ask()) for _ in range(3)]

    assert draws(1, 2) == draws(1, 2)
    assert draws(1, 2) != draws(2, 2) and draws(1, 2) != draws(1, 3)


def test_the_predictor_warms_up_for_its_share_of_the_budget():
    spec = SearchSpec(strategy="predictor", budget=100, round_size=4)
    strategy = strategy_class("predictor").from_spec(spec, SPACE, Warm(ALL))
    assert strategy.warmup_left(0) == spec.warmup_trials == 8  # 8 % of 100
    assert strategy.warmup_left(5) == 3 and strategy.warmup_left(9) == 0
    assert SearchSpec(budget=200).warmup_trials == 16  # 8 % of 200: one full stack of 16


def test_random_sampler_is_seeded_by_seed_and_round():
    a, b = random_sampler(0, 1), random_sampler(0, 1)
    study_a, study_b = optuna.create_study(sampler=a), optuna.create_study(sampler=b)
    assert SPACE.suggest(study_a.ask()) == SPACE.suggest(study_b.ask())


class SmallestWS(SearchStrategy):
    """A toy strategy: every round proposes the smallest WS ring of the space."""

    origin = "toy"

    def __init__(self, seed: int, nodes: int) -> None:
        self.seed = seed
        self.nodes = nodes

    @classmethod
    def from_spec(cls, spec, space, warm):
        return cls(spec.seed, space.nodes[0])

    def sampler(self, round_index):
        return random_sampler(self.seed, round_index)

    def propose(self, trials, count, round_index):
        params = {"family": "ws", "nodes": self.nodes, "ws_k": 2, "ws_p": 0.0}
        return [
            Proposal({**params, "graph_seed": round_index * 100 + i}, {"origin": "smallest"})
            for i in range(count)
        ]


@pytest.mark.slow
def test_a_new_strategy_is_a_class_and_a_registry_line(tmp_path, monkeypatch):
    entry = StrategyEntry("smallest", f"{__name__}:SmallestWS", "the smallest WS ring")
    monkeypatch.setitem(REGISTRY, "smallest", entry)
    spec = SearchSpec(
        cell="gru", budget=4, epochs=1, nodes=(10, 12), n_strings=200, round_size=2,
        strategy="smallest", out=str(tmp_path / "run"), pruner="none",
    )  # fmt: skip
    study = run_search(spec)
    trials = study.get_trials()
    assert len(trials) == 4 and all(t.state.is_finished() for t in trials)
    assert {t.user_attrs["origin"] for t in trials} == {"smallest"}
    assert {(t.params["family"], t.params["nodes"], t.params["ws_k"]) for t in trials} == {
        ("ws", 10, 2)
    }
