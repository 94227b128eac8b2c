"""The degree-matched block control (models/pruning/blocks.py): the expander's degree
sequence, no isolated neuron, two disjoint blocks with s2 = s1 (numpy's SVD)."""

import numpy as np
import pytest
import torch

from models.expansion import bipartite_expansion
from models.networks import DenseRNNClassifier
from models.pruning import (
    count_pruned,
    degree_matched_blocks_mask,
    expander_mask,
    prunable_weights,
    prune_magnitude,
    prune_method,
    weight_mask,
)
from models.pruning.blocks import even_counts


def singular(mask):
    return np.linalg.svd(np.asarray(mask, dtype=float), compute_uv=False)


def degrees(mask):
    return sorted(mask.sum(axis=1).tolist()), sorted(mask.sum(axis=0).tolist())


@pytest.mark.parametrize(
    "rows, cols, keep",
    [(512, 128, 6554), (384, 128, 1966), (128, 128, 328), (256, 64, 1640), (64, 8, 52 * 2)],
)
def test_even_counts_give_two_equal_blocks_with_the_expanders_degrees(rows, cols, keep):
    for seed in range(2):
        mask = degree_matched_blocks_mask(rows, cols, keep, np.random.default_rng(seed))
        reference = expander_mask(rows, cols, keep, np.random.default_rng(seed + 10))
        assert mask.sum() == keep
        assert degrees(mask) == degrees(reference)
        values = singular(mask)
        assert values[1] == pytest.approx(values[0], abs=1e-6)
        measures = bipartite_expansion(mask)
        if keep >= max(rows, cols):
            assert measures["isolated_inputs"] == measures["isolated_outputs"] == 0
            assert measures["components"] == 2
        assert measures["ramanujan_gap"] < bipartite_expansion(reference)["ramanujan_gap"]


@pytest.mark.parametrize("rows, cols, keep", [(512, 128, 6553), (96, 32, 311), (7, 5, 17)])
def test_odd_counts_keep_the_degrees_with_two_blocks_close_in_s1(rows, cols, keep):
    mask = degree_matched_blocks_mask(rows, cols, keep, np.random.default_rng(0))
    reference = expander_mask(rows, cols, keep, np.random.default_rng(0))
    assert mask.sum() == keep and degrees(mask) == degrees(reference)
    values = singular(mask)
    assert bipartite_expansion(mask)["components"] == 2
    assert 0 <= values[0] - values[1] < 0.1 * values[0]


def test_a_single_column_has_no_two_block_form_and_gets_the_expanders_graph():
    mask = degree_matched_blocks_mask(40, 1, 13, np.random.default_rng(0))
    assert mask.sum() == 13 and degrees(mask) == degrees(
        expander_mask(40, 1, 13, np.random.default_rng(0))
    )


def test_even_counts_pair_the_odd_ones_and_keep_the_total():
    assert even_counts([3, 4, 5, 7, 1], [10, 10, 5, 10, 10]) == [4, 4, 4, 8, 0]
    assert even_counts([9, 3], [9, 9]) == [8, 4]  # the first is full: it gives one instead
    assert sum(even_counts([3, 5, 7], [9, 9, 9])) == 15


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm"])
def test_the_method_on_a_model(cell):
    """Exact total; magnitude's counts up to one weight; no isolated neuron; s2 = s1 in
    every matrix with an even count (all but at most one)."""
    model = DenseRNNClassifier(
        cell, 2, vocab_size=6, embedding_dim=8, hidden_size=16, num_layers=2, seed=0
    )
    reference = DenseRNNClassifier(
        cell, 2, vocab_size=6, embedding_dim=8, hidden_size=16, num_layers=2, seed=0
    )
    pruned = prune_method(model, "both", 0.8, "degree-blocks", seed=1)
    prune_magnitude(reference, "both", 0.8)
    assert pruned == count_pruned(reference, "both")[0]
    odd = 0
    for weight, other in zip(
        prunable_weights(model, "both"), prunable_weights(reference, "both"), strict=True
    ):
        mask = weight_mask(weight).numpy() > 0
        assert abs(int(mask.sum()) - int(weight_mask(other).sum())) <= 1
        assert (mask.sum(axis=0) > 0).all() and (mask.sum(axis=1) > 0).all()
        if mask.sum() % 2:
            odd += 1
        else:
            values = singular(mask)
            assert values[1] == pytest.approx(values[0], abs=1e-6)
    assert odd <= 1
    again = DenseRNNClassifier(
        cell, 2, vocab_size=6, embedding_dim=8, hidden_size=16, num_layers=2, seed=0
    )
    prune_method(again, "both", 0.8, "degree-blocks", seed=1)
    for first, second in zip(
        prunable_weights(model, "both"), prunable_weights(again, "both"), strict=True
    ):
        assert torch.equal(weight_mask(first), weight_mask(second))
