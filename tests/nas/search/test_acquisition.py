"""Choosing a round from scored candidates (nas.search.strategies.acquisition)."""

import numpy as np

from nas.search.strategies.acquisition import select_round


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
