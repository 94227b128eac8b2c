"""Mask methods (models/pruning/methods.py): the registry of method objects, the global
magnitude threshold, and the structure-controlled methods (random, expander, anti-expander):
exact counts, degree bounds, expansion contrast, fixed masks through retraining."""

import math

import numpy as np
import pytest
import torch
from pruning_fixtures import masks_of, tiny_dense
from torch.nn.utils import prune

from core.errors import SparseNASError
from models.expansion import bipartite_expansion, layer_expansion
from models.networks import DenseRNNClassifier
from models.pruning import (
    MASK_METHODS,
    MaskMethod,
    anti_expander_mask,
    count_pruned,
    expander_mask,
    global_magnitude_masks,
    mask_method,
    method_masks,
    prunable_weights,
    prune_magnitude,
    prune_method,
    prune_to_nonzero,
    register,
    weight_mask,
)
from models.training import TrainSpec, train_model


def dense(cell="gru", hidden=8, layers=2, seed=0):
    return DenseRNNClassifier(
        cell, 2, vocab_size=6, embedding_dim=5, hidden_size=hidden, num_layers=layers, seed=seed
    )


def masks(model):
    return [weight_mask(w).clone() for w in prunable_weights(model, "both")]


@pytest.mark.parametrize("method", MASK_METHODS)
@pytest.mark.parametrize("cell", ["rnn_tanh", "gru", "lstm"])
@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.8, 0.9, 0.95, 0.98, 0.999, 1.0])
def test_every_method_prunes_exactly_the_requested_count(method, cell, amount):
    """... except an early-stopping one (ramanujan), which prunes at most that many."""
    model = dense(cell)
    total = count_pruned(model, "both")[1]
    pruned = prune_method(model, "both", amount, method, seed=3)
    assert count_pruned(model, "both") == (pruned, total)
    if mask_method(method).exact:
        assert pruned == round(amount * total)
    else:
        assert pruned <= round(amount * total)


@pytest.mark.parametrize("method", MASK_METHODS)
def test_prune_to_nonzero_by_every_method(method):
    model = dense("lstm")
    prune_to_nonzero(model, "both", 101, method, seed=1)
    pruned, total = count_pruned(model, "both")
    if mask_method(method).exact:
        assert pruned == total - 101
    else:
        assert 0 < pruned <= total - 101


@pytest.mark.parametrize("method", ["random", "expander", "anti-expander"])
def test_structured_methods_keep_in_every_matrix_what_magnitude_keeps(method):
    model, reference = dense("lstm", hidden=8), dense("lstm", hidden=8)
    prune_method(model, "both", 0.85, method, seed=0)
    prune_magnitude(reference, "both", 0.85)
    kept = [int(m.sum()) for m in masks(model)]
    assert kept == [int(m.sum()) for m in masks(reference)]
    sizes = [m.numel() for m in masks(model)]
    shares = {round(k / n, 3) for k, n in zip(kept, sizes, strict=True)}
    assert len(shares) > 1  # the global threshold prunes the matrices unequally
    assert not all(torch.equal(a, b) for a, b in zip(masks(model), masks(reference), strict=True))


@pytest.mark.parametrize("method", ["random", "expander", "anti-expander", "degree-blocks"])
def test_structured_masks_are_seeded(method):
    first, again, other = dense(), dense(), dense()
    for model, seed in ((first, 5), (again, 5), (other, 6)):
        prune_method(model, "both", 0.8, method, seed=seed)
    assert all(torch.equal(a, b) for a, b in zip(masks(first), masks(again), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(masks(first), masks(other), strict=True))


@pytest.mark.parametrize(
    "rows, cols, keep",
    [
        (150, 50, 750),
        (150, 50, 150),
        (200, 32, 640),
        (50, 8, 40),
        (7, 5, 17),
        (4, 4, 16),
        (9, 3, 1),
    ],
)
def test_expander_masks_meet_their_degree_bound_on_every_neuron(rows, cols, keep):
    mask = expander_mask(rows, cols, keep, np.random.default_rng(0))
    assert mask.sum() == keep
    row_degrees, col_degrees = mask.sum(axis=1), mask.sum(axis=0)
    assert row_degrees.min() >= keep // rows and row_degrees.max() <= -(-keep // rows)
    assert col_degrees.min() >= keep // cols and col_degrees.max() <= -(-keep // cols)


def test_expander_masks_of_a_model_meet_the_bound_on_every_matrix():
    model = dense("lstm", hidden=12, layers=3)
    prune_method(model, "both", 0.9, "expander", seed=2)
    for row in layer_expansion(model, "both"):
        edges, inputs, outputs = int(row["edges"]), int(row["inputs"]), int(row["outputs"])
        assert row["min_output_degree"] == edges // outputs
        assert row["min_input_degree"] == edges // inputs


def test_a_regular_expander_is_near_ramanujan():
    """A random 10-regular bipartite graph on 100 + 100 nodes: s1 = 10 and, by Friedman's and
    Marcus-Spielman-Srivastava's theorems, s2 close to the bound 2 sqrt(9) = 6."""
    values = bipartite_expansion(expander_mask(100, 100, 1000, np.random.default_rng(1)))
    assert values["s1"] == pytest.approx(10.0)
    assert values["ramanujan_bound"] == pytest.approx(6.0)
    assert values["ramanujan_gap"] > -0.6 and values["expander"] in (0.0, 1.0)
    assert values["components"] == 1.0


@pytest.mark.parametrize("rows, cols", [(150, 50), (200, 32), (60, 60)])
@pytest.mark.parametrize("sparsity", [0.5, 0.8, 0.9])
def test_anti_expanders_have_a_much_smaller_spectral_gap_than_expanders(rows, cols, sparsity):
    keep = round((1 - sparsity) * rows * cols)
    gaps = {"expander": [], "anti-expander": []}
    ramanujan = {"expander": [], "anti-expander": []}
    for seed in range(3):
        for name, make in (("expander", expander_mask), ("anti-expander", anti_expander_mask)):
            values = bipartite_expansion(make(rows, cols, keep, np.random.default_rng(seed)))
            gaps[name].append(values["spectral_gap"])
            ramanujan[name].append(values["ramanujan_gap"])
    assert max(gaps["anti-expander"]) < 0.5 * min(gaps["expander"])
    assert max(ramanujan["anti-expander"]) < min(ramanujan["expander"]) - 3.0


def test_anti_expander_concentrates_the_weights_in_two_blocks_on_few_neurons():
    mask = anti_expander_mask(100, 40, 400, np.random.default_rng(0))  # 90 % sparse
    values = bipartite_expansion(mask)
    assert mask.sum() == 400
    # two blocks hold 400 entries on about sqrt(2 * 0.1) = 45 % of the neurons of each side
    assert values["isolated_outputs"] >= 50 and values["isolated_inputs"] >= 20
    assert values["components"] == 2 + values["isolated_inputs"] + values["isolated_outputs"]


def test_anti_expander_below_half_sparsity_fills_outside_the_blocks():
    mask = anti_expander_mask(6, 4, 20, np.random.default_rng(0))  # 2 blocks hold 12
    assert mask.sum() == 20


@pytest.mark.parametrize("method", MASK_METHODS)
@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm"])
def test_masks_stay_fixed_through_retraining(method, cell, tiny_task):
    model = dense(cell, hidden=6)
    prune_method(model, "both", 0.9, method, seed=4)
    before = masks(model)
    result = train_model(model, tiny_task, TrainSpec(epochs=2, batch_size=16), seed=1)
    assert result.status == "ok"
    for weight, mask in zip(prunable_weights(model, "both"), before, strict=True):
        assert torch.equal(weight_mask(weight), mask)
        assert (getattr(weight.module, weight.attr)[mask == 0] == 0).all()
        assert (getattr(weight.module, weight.attr)[mask == 1] != 0).any()


def test_structured_methods_refuse_an_already_pruned_model():
    model = dense()
    prune_magnitude(model, "both", 0.5)
    before = masks(model)
    with pytest.raises(SparseNASError, match="unpruned model"):
        prune_method(model, "both", 0.8, "expander")
    assert all(torch.equal(a, b) for a, b in zip(before, masks(model), strict=True))


def test_bad_method_and_counts_are_rejected():
    with pytest.raises(SparseNASError, match="unknown mask method 'lottery'"):
        prune_method(dense(), "both", 0.5, "lottery")
    with pytest.raises(SparseNASError, match="cannot prune 7 of 6"):
        method_masks([torch.ones(2, 3)], 7, "random")
    with pytest.raises(SparseNASError, match="2-d"):
        method_masks([torch.ones(2, 3, 1)], 1, "expander")
    with pytest.raises(SparseNASError, match="amount="):
        prune_method(dense(), "both", math.nan, "random")


def test_mask_function_matches_torch_global_unstructured_l1():
    ours, theirs = tiny_dense("lstm", seed=3), tiny_dense("lstm", seed=3)
    prune_magnitude(ours, "both", 0.37)
    pairs = [(w.module, w.attr) for w in prunable_weights(theirs, "both")]
    prune.global_unstructured(pairs, pruning_method=prune.L1Unstructured, amount=0.37)
    for name, mask in masks_of(ours, "both").items():
        module_name, attr = name.split(".")
        assert torch.equal(mask, getattr(theirs.get_submodule(module_name), f"{attr}_mask"))


def test_ties_go_to_the_earlier_tensor_and_index():
    masks = global_magnitude_masks([torch.tensor([1.0, -1.0]), torch.tensor([[1.0], [0.5]])], 2)
    assert masks[0].tolist() == [0.0, 1.0]
    assert masks[1].tolist() == [[1.0], [0.0]]


# -- the registry ------------------------------------------------------------------------------


def test_the_registry_is_the_one_list_of_methods():
    assert MASK_METHODS == (
        "magnitude",
        "random",
        "expander",
        "anti-expander",
        "degree-blocks",
        "ramanujan",
    )
    for name in MASK_METHODS:
        method = mask_method(name)
        assert isinstance(method, MaskMethod) and method.name == name
    with pytest.raises(SparseNASError, match="unknown mask method 'lottery'"):
        mask_method("lottery")


def test_a_name_registers_once():
    class Again(MaskMethod):
        name = "random"

        def compute_mask(self, weight, keep, rng):
            raise AssertionError("never called")

    with pytest.raises(ValueError, match="registered twice"):
        register(Again)
    assert type(mask_method("random")).__name__ == "RandomMask"


@pytest.mark.parametrize("method", MASK_METHODS)
def test_compute_mask_keeps_exactly_the_count_asked(method):
    weight = torch.randn(6, 9, generator=torch.Generator().manual_seed(0))
    for keep in (0, 1, 20, 54):
        mask = mask_method(method).compute_mask(weight, keep, np.random.default_rng(keep))
        assert mask.shape == (6, 9) and mask.dtype == bool
        if mask_method(method).exact:
            assert int(mask.sum()) == keep
        else:  # stops early: keeps at least that many
            assert int(mask.sum()) >= keep


def test_magnitude_compute_mask_keeps_the_largest_weights():
    weight = torch.tensor([[0.1, -3.0, 0.5], [2.0, -0.2, 0.0]])
    mask = mask_method("magnitude").compute_mask(weight, 3, np.random.default_rng(0))
    assert mask.tolist() == [[False, True, True], [True, False, False]]
