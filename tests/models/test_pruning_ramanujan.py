"""Kalra et al.'s Ramanujan-stopped pruning (models/pruning/ramanujan.py, iterative.py):
the criterion on worked examples with known spectra, one step on a hand-made pair of
matrices, and the iterative procedure on a tiny network, each checked against an
independent computation (numpy's SVD and the bound's formula)."""

import math

import numpy as np
import pytest
import torch
from pruning_fixtures import tiny_dense

from core.errors import SparseNASError
from models.pruning import (
    is_ramanujan,
    prunable_weights,
    prune_magnitude,
    prune_method,
    prune_ramanujan,
    ramanujan_masks,
    ramanujan_step,
    weight_mask,
)
from models.pruning.ramanujan import ramanujan_gaps


def independent_gap(mask):
    """bound - s2 from numpy's SVD and the average degrees, written out again."""
    mask = np.asarray(mask, dtype=float)
    singular = np.linalg.svd(mask, compute_uv=False)
    edges = mask.sum()
    d_out, d_in = edges / mask.shape[0], edges / mask.shape[1]
    bound = math.sqrt(max(d_in - 1, 0)) + math.sqrt(max(d_out - 1, 0))
    return bound - singular[1]


def fano_incidence():
    """Points x lines of the Fano plane: 3-regular, N N^T = 2 I + J, so s1 = 3, s2 = sqrt 2."""
    lines = [(0, 1, 2), (0, 3, 4), (0, 5, 6), (1, 3, 5), (1, 4, 6), (2, 3, 6), (2, 4, 5)]
    mask = np.zeros((7, 7), dtype=bool)
    for line, points in enumerate(lines):
        mask[list(points), line] = True
    return mask


def k4_incidence():
    """Edges x vertices of K4: a (2, 3)-biregular graph, N^T N = 2 I + J: s2 = sqrt 2."""
    edges = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    mask = np.zeros((6, 4), dtype=bool)
    for row, (a, b) in enumerate(edges):
        mask[row, [a, b]] = True
    return mask


def two_blocks(size=3):
    mask = np.zeros((2 * size, 2 * size), dtype=bool)
    mask[:size, :size] = mask[size:, size:] = True
    return mask


def test_known_ramanujan_graphs_pass_with_their_exact_gap():
    fano = fano_incidence()
    assert np.allclose(np.linalg.svd(fano.astype(float), compute_uv=False)[:2], [3, math.sqrt(2)])
    assert is_ramanujan(fano)
    assert ramanujan_gaps([fano])[0] == pytest.approx(2 * math.sqrt(2) - math.sqrt(2))
    k4 = k4_incidence()  # outputs of degree 2, inputs of degree 3
    assert is_ramanujan(k4)
    assert ramanujan_gaps([k4])[0] == pytest.approx(1 + math.sqrt(2) - math.sqrt(2))
    hexagon = np.ones((3, 3), dtype=bool) & ~np.eye(3, dtype=bool)  # the 6-cycle: s2 = 1
    assert ramanujan_gaps([hexagon])[0] == pytest.approx(2 - 1)
    for mask in (fano, k4, hexagon):
        assert ramanujan_gaps([mask])[0] == pytest.approx(independent_gap(mask))


def test_disconnected_blocks_fail_and_an_empty_graph_is_not_ramanujan():
    blocks = two_blocks(3)  # two K_{3,3}: s2 = s1 = 3 > 2 sqrt 2
    assert not is_ramanujan(blocks)
    assert ramanujan_gaps([blocks])[0] == pytest.approx(2 * math.sqrt(2) - 3)
    assert ramanujan_gaps([blocks])[0] == pytest.approx(independent_gap(blocks))
    assert not is_ramanujan(np.zeros((3, 4), dtype=bool))
    assert is_ramanujan(np.ones((5, 3), dtype=bool))  # complete bipartite: s2 = 0


def test_one_step_prunes_the_ramanujan_matrix_and_stops_the_other():
    # A: complete 4 x 4; 10 % of 16 -> 2 smallest entries are proposed.
    a_weight = np.arange(1, 17, dtype=float).reshape(4, 4)
    # B: two K_{3,3} joined by one weak edge (0, 3); 10 % of 19 -> 2 entries: the bridge and
    # the next smallest, which leaves two blocks: not Ramanujan.
    b_mask = two_blocks(3)
    b_mask[0, 3] = True
    b_weight = np.where(b_mask, 5.0, 0.0)
    b_weight[0, 3], b_weight[1, 1] = 0.001, 0.002
    proposal = b_mask.copy()
    proposal[0, 3] = proposal[1, 1] = False
    assert independent_gap(proposal) < 0  # the proposal would leave the bound
    a_proposal = np.ones((4, 4), dtype=bool)
    a_proposal[0, :2] = False
    assert independent_gap(a_proposal) >= 0
    outcome = ramanujan_step(
        [a_weight, b_weight], [np.ones((4, 4), bool), b_mask], [True, True], budget=100
    )
    assert np.array_equal(outcome.masks[0], a_proposal)
    assert np.array_equal(outcome.masks[1], b_mask)  # unchanged
    assert outcome.active == [True, False] and outcome.stopped == [1] and outcome.pruned == 2


def test_a_step_never_prunes_more_than_its_budget_and_smallest_magnitudes_win():
    weights = [np.arange(1, 21, dtype=float).reshape(4, 5), np.arange(21, 41.0).reshape(5, 4)]
    masks = [np.ones((4, 5), bool), np.ones((5, 4), bool)]
    # each proposes 2 (10 % of 20): 1, 2 and 21, 22; the budget of 3 takes 1, 2 and 21
    outcome = ramanujan_step(weights, masks, [True, True], budget=3)
    assert outcome.pruned == 3
    assert np.flatnonzero(~outcome.masks[0].ravel()).tolist() == [0, 1]
    assert np.flatnonzero(~outcome.masks[1].ravel()).tolist() == [0]


def check_stopped_where_it_should(model, target, fraction):
    """Every matrix is Ramanujan, and every matrix that stopped would leave the bound
    if the next proposal (10 % of its remaining smallest weights) were taken."""
    stopped = 0
    for weight in prunable_weights(model, target):
        mask = weight_mask(weight).numpy() > 0
        assert independent_gap(mask) >= -1e-9, weight.name
        kept = np.flatnonzero(mask.ravel())
        magnitudes = weight.module._parameters[f"{weight.attr}_orig"].detach().abs().numpy()
        count = min(kept.size, max(1, round(fraction * kept.size)))
        proposal = mask.copy().ravel()
        proposal[kept[np.argsort(magnitudes.ravel()[kept], kind="stable")[:count]]] = False
        if independent_gap(proposal.reshape(mask.shape)) < -1e-9:
            stopped += 1
    return stopped


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm"])
def test_the_iterative_method_stops_every_matrix_at_the_bound(cell):
    model = tiny_dense(cell, hidden=6, layers=2)
    history = prune_ramanujan(model, "both", 0.99, retrain=None)
    n_matrices = len(prunable_weights(model, "both"))
    assert history[-1]["matrices_stopped"] == n_matrices  # all stopped before 99 %
    assert history[-1]["sparsity"] < 0.99
    assert check_stopped_where_it_should(model, "both", 0.1) == n_matrices
    assert [row["step"] for row in history] == list(range(len(history)))
    sparsities = [row["sparsity"] for row in history]
    assert sparsities == sorted(sparsities) and sparsities[0] == 0.0
    assert all(row["ramanujan_gap_min"] >= -1e-9 for row in history)
    names = ";".join(row["stopped_now"] for row in history).split(";")
    assert sorted(n for n in names if n) == sorted(w.name for w in prunable_weights(model, "both"))


def test_a_low_target_is_reached_exactly_and_the_one_shot_method_agrees():
    model, again = tiny_dense("gru", hidden=8), tiny_dense("gru", hidden=8)
    history = prune_ramanujan(model, "both", 0.3)
    total = sum(
        w.module._parameters[f"{w.attr}_orig"].numel() for w in prunable_weights(model, "both")
    )
    assert history[-1]["pruned"] == round(0.3 * total) and history[-1]["matrices_stopped"] == 0
    prune_method(again, "both", 0.3, "ramanujan")  # the same steps, as a mask method
    for first, second in zip(
        prunable_weights(model, "both"), prunable_weights(again, "both"), strict=True
    ):
        assert torch.equal(weight_mask(first), weight_mask(second))
    magnitudes = [
        w.module._parameters[f"{w.attr}_orig"].detach().abs().numpy()
        for w in prunable_weights(model, "both")
    ]
    masks, steps = ramanujan_masks(magnitudes, round(0.3 * total))
    assert steps == len(history) - 1


def test_retraining_runs_between_steps_and_its_accuracy_is_recorded():
    model = tiny_dense("rnn_tanh", hidden=6, layers=1)
    weights = prunable_weights(model, "both")
    seen = []

    def retrain(step):
        # "training" moves the weights: scale the input matrix up, so the order changes
        pruned_before = [int((weight_mask(w) == 0).sum()) for w in weights]
        seen.append((step, pruned_before))
        with torch.no_grad():
            weights[0].module._parameters[f"{weights[0].attr}_orig"].mul_(1.5)
        return 0.5 + step / 100

    history = prune_ramanujan(model, "both", 0.6, retrain=retrain)
    assert [row["accuracy"] for row in history[1:]] == [0.5 + s / 100 for s, _ in seen]
    assert math.isnan(history[0]["accuracy"])
    assert [s for s, _ in seen] == list(range(1, len(history)))
    # masks only shrink from step to step
    totals = [sum(p) for _, p in seen]
    assert totals == sorted(totals) and len(set(totals)) == len(totals)


def test_ramanujan_continues_a_pruned_model_but_the_placed_methods_refuse():
    model = tiny_dense("gru", hidden=8)
    prune_magnitude(model, "both", 0.2)
    before = [weight_mask(w).clone() for w in prunable_weights(model, "both")]
    prune_method(model, "both", 0.5, "ramanujan")
    for old, weight in zip(before, prunable_weights(model, "both"), strict=True):
        assert (weight_mask(weight) <= old).all()  # nothing revived
    with pytest.raises(SparseNASError, match="unpruned model"):
        prune_method(model, "both", 0.6, "degree-blocks")


@pytest.mark.parametrize("fraction", [0.0, 1.5, math.nan])
def test_bad_step_fractions_are_rejected(fraction):
    with pytest.raises(SparseNASError, match="fraction"):
        prune_ramanujan(tiny_dense(), "both", 0.5, fraction=fraction)
