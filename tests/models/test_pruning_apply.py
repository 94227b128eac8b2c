"""Applying masks (models/pruning/apply.py): the global threshold on a model, fixed masks
through training, 100 %, rollback on failure, state dicts."""

import io
import math

import pytest
import torch
from pruning_fixtures import CELLS, batch, masks_of, tiny_dense, worked_model
from torch.nn.utils import prune

from core.errors import SparseNASError
from models.networks import parameter_counts
from models.pruning import (
    TARGETS,
    count_pruned,
    effective_weight,
    load_pruned_state_dict,
    prunable_weights,
    prune_magnitude,
    prune_to_nonzero,
    pruned_parameter_counts,
    recurrent_nonzero,
    remove_pruning,
)
from models.training import TrainSpec, train_model


def test_global_threshold_picks_the_smallest_weights_over_all_layers():
    model = worked_model()
    # 25 % of 16 = 4 weights: magnitudes 1..4, all in layer 1 (a per-layer threshold would
    # take one from every matrix).
    assert prune_magnitude(model, "both", 0.25) == 4
    rnn = model.rnn
    assert torch.equal(rnn.weight_ih_l1_mask, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert torch.equal(rnn.weight_hh_l1_mask, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert torch.equal(rnn.weight_ih_l0_mask, torch.ones(2, 2))
    assert torch.equal(rnn.weight_hh_l0_mask, torch.ones(2, 2))
    # 50 %: magnitudes 1..8, i.e. all of layer 1 and nothing of layer 0.
    prune_magnitude(model, "both", 0.5)
    assert rnn.weight_ih_l1.abs().sum() == 0 and rnn.weight_hh_l1.abs().sum() == 0
    assert (rnn.weight_ih_l0 != 0).all() and (rnn.weight_hh_l0 != 0).all()


def test_i2h_target_thresholds_only_the_input_matrices():
    model = worked_model()
    # i2h magnitudes: layer 0 {9, 11, 13, 15}, layer 1 {1, 3, 5, 7}; 75 % = 6 smallest.
    prune_magnitude(model, "i2h", 0.75)
    assert torch.equal(model.rnn.weight_ih_l1_mask, torch.zeros(2, 2))
    assert torch.equal(model.rnn.weight_ih_l0_mask, torch.tensor([[0.0, 1.0], [0.0, 1.0]]))
    assert "weight_hh_l0_mask" not in dict(model.rnn.named_buffers())


def test_prune_to_nonzero_leaves_exactly_that_many():
    model = tiny_dense("gru")
    prune_to_nonzero(model, "both", 37)
    assert recurrent_nonzero(model) == 37
    # gru, 3-wide embedding, 2 layers x 4 units: 3 gates x 4 x (3 + 4 + 4 + 4) weights
    assert count_pruned(model, "both") == (180 - 37, 180)


@pytest.mark.parametrize("cell", CELLS)
def test_pruned_weights_stay_zero_through_retraining(cell, tiny_task):
    model = tiny_dense(cell)
    prune_magnitude(model, "both", 0.6)
    before = masks_of(model, "both")
    originals = {name: p.detach().clone() for name, p in model.named_parameters()}
    result = train_model(model, tiny_task, TrainSpec(epochs=2, batch_size=16), seed=1)
    assert result.status in ("ok", "diverged")
    after = masks_of(model, "both")
    for name, mask in before.items():
        assert torch.equal(mask, after[name])
        module_name, attr = name.split(".")
        weight = getattr(model.get_submodule(module_name), attr)
        assert (weight[mask == 0] == 0).all()
    if result.status == "ok":
        moved = [n for n, p in model.named_parameters() if not torch.equal(p, originals[n])]
        assert "rnn.weight_hh_l0_orig" in moved
    # the network computes with the masked weights: equal to a baked-in copy
    inputs, lengths = batch()
    model.eval()
    expected = model(inputs, lengths)
    remove_pruning(model)
    assert torch.allclose(model(inputs, lengths), expected)


@pytest.mark.parametrize("target", TARGETS)
def test_percent_100_zeroes_everything_it_targets_and_nothing_else(target):
    model = tiny_dense("lstm")
    others = {n: p.detach().clone() for n, p in model.named_parameters()}
    prune_magnitude(model, target, 1.0)
    pruned, total = count_pruned(model, target)
    assert pruned == total
    targeted = set()
    for weight in prunable_weights(model, target):
        assert getattr(weight.module, weight.attr).abs().sum() == 0
        targeted.add(weight.name)
    for name, value in others.items():
        if name not in targeted:
            assert torch.equal(dict(model.named_parameters())[name], value), name
    if target == "all":
        assert {"embedding.weight", "readout.weight"} <= targeted
    assert pruned_parameter_counts(model)["params_nonzero"] == (
        parameter_counts(model)["params_total"] - total
    )


def test_pruning_again_never_revives_and_keeps_parameter_identity():
    model = tiny_dense("gru")
    params = {id(p) for p in model.parameters()}
    prune_magnitude(model, "both", 0.5)
    first = masks_of(model, "both")
    prune_magnitude(model, "both", 0.3)  # lower: nothing changes
    assert all(torch.equal(first[n], m) for n, m in masks_of(model, "both").items())
    prune_magnitude(model, "both", 0.8)
    for name, mask in masks_of(model, "both").items():
        assert (mask <= first[name]).all()
    assert count_pruned(model, "both")[0] == round(0.8 * count_pruned(model, "both")[1])
    assert {id(p) for p in model.parameters()} == params


@pytest.mark.parametrize("amount", [-0.1, 1.5, math.nan, "0.5", True, None])
def test_bad_amount_is_rejected_naming_the_value(amount):
    model = tiny_dense()
    with pytest.raises(SparseNASError, match="amount="):
        prune_magnitude(model, "both", amount)
    assert not any(n.endswith("_orig") for n, _ in model.named_parameters())


@pytest.mark.parametrize("target", ["weights", "", None, "BOTH"])
def test_bad_target_is_rejected_naming_the_value(target):
    with pytest.raises(SparseNASError, match="unknown pruning target"):
        prune_magnitude(tiny_dense(), target, 0.5)


def test_bad_nonzero_count_is_rejected():
    with pytest.raises(SparseNASError, match="nonzero="):
        prune_to_nonzero(tiny_dense(), "both", 10**6)


def test_a_failure_while_applying_masks_restores_every_weight(monkeypatch):
    model = tiny_dense("gru")
    prune_magnitude(model, "h2h", 0.5)  # some weights already pruned, others not
    h2h_masks = masks_of(model, "h2h")
    values = {n: p.detach().clone() for n, p in model.named_parameters()}
    real = prune.custom_from_mask
    calls = []

    def flaky(module, name, mask):
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real(module, name, mask)

    monkeypatch.setattr(prune, "custom_from_mask", flaky)
    with pytest.raises(RuntimeError, match="boom"):
        prune_magnitude(model, "both", 0.9)
    assert {n for n, _ in model.named_parameters()} == set(values)
    for name, value in model.named_parameters():
        assert torch.equal(value, values[name]), name
    assert all(torch.equal(h2h_masks[n], m) for n, m in masks_of(model, "h2h").items())
    assert masks_of(model, "i2h") == {w: None for w in masks_of(model, "i2h")}


def test_a_model_without_a_torch_rnn_is_rejected():
    with pytest.raises(SparseNASError, match="dense model"):
        prune_magnitude(torch.nn.Linear(3, 3), "both", 0.5)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_state_dict_round_trip_of_a_pruned_model(cell):
    model = tiny_dense(cell, seed=0)
    prune_magnitude(model, "both", 0.7)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer)
    assert any(key.endswith("_mask") for key in state)
    fresh = tiny_dense(cell, seed=1)
    load_pruned_state_dict(fresh, state)
    inputs, lengths = batch()
    model.eval()
    fresh.eval()
    assert torch.equal(fresh(inputs, lengths), model(inputs, lengths))
    assert all(
        torch.equal(a, b)
        for a, b in zip(masks_of(model).values(), masks_of(fresh).values(), strict=True)
        if a is not None
    )
    assert recurrent_nonzero(fresh) == recurrent_nonzero(model)


def test_loading_a_state_that_does_not_fit_leaves_the_model_unchanged():
    pruned = tiny_dense("gru", hidden=4)
    prune_magnitude(pruned, "both", 0.5)
    other = tiny_dense("gru", hidden=5, seed=2)
    before = {n: p.detach().clone() for n, p in other.named_parameters()}
    with pytest.raises(SparseNASError, match="does not fit"):
        load_pruned_state_dict(other, pruned.state_dict())
    after = dict(other.named_parameters())
    assert set(after) == set(before)
    assert all(torch.equal(after[n], v) for n, v in before.items())


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_pruned_torch_rnn_computes_as_a_fresh_model_holding_the_zeroed_weights(cell):
    """nn.GRU / nn.LSTM keep a flat copy of their weights for the fused kernel; a stale copy
    would make the pruned model compute with the dense weights. Compare with a fresh model
    that never saw a prune hook, right after pruning and after the weights moved."""
    model = tiny_dense(cell, hidden=5, layers=3)
    prune_magnitude(model, "both", 0.7)
    inputs, lengths = batch()

    def fresh_copy():
        plain = tiny_dense(cell, hidden=5, layers=3)
        state = {
            name.removesuffix("_orig"): value
            for name, value in model.state_dict().items()
            if not name.endswith("_mask")
        }
        for weight in prunable_weights(model, "both"):
            state[weight.name] = effective_weight(weight)
        plain.load_state_dict(state)
        return plain

    model.eval()
    expected = fresh_copy()(inputs, lengths)
    assert torch.equal(model(inputs, lengths), expected)
    with torch.no_grad():
        for weight in prunable_weights(model, "both"):
            weight.module._parameters[f"{weight.attr}_orig"].add_(0.5)
    moved = fresh_copy()(inputs, lengths)
    assert not torch.allclose(moved, expected)
    assert torch.equal(model(inputs, lengths), moved)
