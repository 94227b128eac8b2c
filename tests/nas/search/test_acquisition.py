"""Choosing a round from scored candidates (nas.search.strategies.acquisition)."""

import numpy as np
import pytest
from optuna.trial import TrialState, create_trial

from core.errors import SparseNASError
from graphs.io import edges_to_string
from nas.search import SearchSpec
from nas.search.space import SearchSpace
from nas.search.strategies.acquisition import acquisition_scores, select_round
from nas.search.strategies.base import Warm
from nas.search.strategies.predictor import PredictorStrategy
from predictors.features import THESIS


def _pick(rows, ucb, count, *, local=None, n_local=0, sizes=None, pareto=False):
    rows = np.asarray(rows, dtype=float)
    is_local = np.zeros(len(rows), dtype=bool) if local is None else np.asarray(local)
    sizes = np.ones(len(rows)) if sizes is None else np.asarray(sizes, dtype=float)
    return select_round(
        rows, sizes, np.asarray(ucb, float), is_local, count, n_local, pareto=pareto, seed=0
    )


def test_the_best_bound_is_picked_first_and_near_copies_are_penalised():
    # Candidates 0 and 1 are the same point: after 0 is picked, 1's score is multiplied by
    # 1 - exp(0) = 0, so the round takes the far candidate 2 next despite its lower bound.
    rows = [[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, -5.0]]
    assert _pick(rows, [0.9, 0.89, 0.5, 0.1], 2) == [0, 2]


def test_the_first_slots_go_to_local_moves():
    rows = [[0.0], [1.0], [2.0], [3.0]]
    local = [False, False, True, True]
    chosen = _pick(rows, [0.9, 0.8, 0.2, 0.1], 3, local=local, n_local=1)
    assert chosen[0] == 2  # the best local move fills the local slot
    assert set(chosen[1:]) == {0, 1}


def test_a_round_never_exceeds_its_candidates_nor_repeats_one():
    rows = [[0.0], [1.0], [2.0]]
    chosen = _pick(rows, [0.3, 0.2, 0.1], 5)
    assert sorted(chosen) == [0, 1, 2]


def test_pareto_slots_trade_accuracy_for_size():
    # Slot 1 weighs size most (w = 0.25), slot 2 accuracy most (w = 0.75).
    rows = [[0.0], [10.0]]
    chosen = _pick(rows, [0.9, 0.5], 2, sizes=[1000.0, 10.0], pareto=True)
    assert chosen == [1, 0]  # the small network first, then the accurate one


def test_ucb_scores_every_slot_by_the_bound():
    scores = acquisition_scores(
        [0.5, 0.7], [0.1, 0.0], 3, acquisition="ucb", kappa=2.0, seed=0, round_index=0
    )
    assert scores.shape == (3, 2)
    assert np.allclose(scores, [[0.7, 0.7]] * 3)


def test_thompson_draws_per_slot_from_the_normal_of_mean_and_spread():
    mean, std = np.array([0.5, 0.8, 0.6]), np.array([0.1, 0.0, 0.2])

    def draw(count, seed=0, round_index=4):
        return acquisition_scores(
            mean, std, count, acquisition="thompson", kappa=9.0, seed=seed,
            round_index=round_index,
        )  # fmt: skip

    scores = draw(20000)
    assert np.allclose(scores[:, 1], 0.8)  # no spread: the mean itself, kappa unused
    assert np.allclose(scores.mean(axis=0), mean, atol=0.01)
    assert np.allclose(scores.std(axis=0), std, atol=0.01)
    assert np.array_equal(draw(5), draw(5))  # seeded by (seed, round): a resume repeats it
    assert not np.array_equal(draw(5), draw(5, round_index=5))
    assert not np.array_equal(draw(5), draw(5, seed=1))  # workers draw their own samples


def test_an_unknown_acquisition_is_one_error_naming_the_choices():
    with pytest.raises(SparseNASError, match="ucb"):
        acquisition_scores([0.5], [0.1], 1, acquisition="ei", kappa=1.0, seed=0, round_index=0)
    with pytest.raises(SparseNASError, match="thompson"):
        SearchSpec(acquisition="ei")


def test_each_slot_is_chosen_by_its_own_row_of_scores():
    rows = [[0.0], [10.0], [20.0]]
    scores = [[0.9, 0.1, 0.5], [0.9, 0.8, 0.2], [0.0, 0.1, 0.9]]
    assert _pick(rows, scores, 3) == [0, 1, 2]
    assert _pick(rows, scores[0], 3) == [0, 2, 1]  # one row serves every slot


def _members_and_trials():
    space = SearchSpace(("ws", "ba"), (10, 16))
    members = space.connected_samples(np.random.default_rng(3), 30)
    trials = []
    for number, (params, graph) in enumerate(members[:8]):
        accuracy = 0.5 + 0.01 * params["nodes"] + 0.001 * number
        attrs = {"edge_list": edges_to_string(graph), "test_acc": accuracy, "status": "ok"}
        trial = create_trial(state=TrialState.COMPLETE, value=accuracy, user_attrs=attrs)
        trial.number = number
        trials.append(trial)
    return space, members, trials


def test_a_thompson_round_repeats_for_its_seed_and_round_in_a_fresh_process():
    space, members, trials = _members_and_trials()

    def strategy(acquisition, seed=0):
        return PredictorStrategy(
            space, "gru", "accuracy", THESIS, seed, acquisition=acquisition, candidates=members
        )

    def chosen(acquisition, round_index, seed=0):
        proposals = strategy(acquisition, seed).propose(trials, 6, round_index)
        return [p.attrs["edge_list"] for p in proposals]

    first = chosen("thompson", 3)
    assert len(set(first)) == 6
    assert first == chosen("thompson", 3)  # resumed or repeated: the same round
    others = {tuple(chosen("thompson", r, seed)) for r in (4, 5) for seed in (0, 1)}
    assert any(other != tuple(first) for other in others)
    spec = SearchSpec(acquisition="thompson", seed=0)
    built = PredictorStrategy.from_spec(spec, space, Warm(THESIS, candidates=members))
    assert built.acquisition == "thompson"
