"""Training the base, pruning a copy and retraining it (nas/experiments/prune_retrain.py)."""

from dataclasses import replace

import pytest
from prune_fixtures import tiny_spec

from models.pruning import count_pruned
from nas.experiments.prune import (
    epochs_to_regain,
    gradual_schedule,
    prune_once,
    train_base,
)


def test_epochs_to_regain():
    assert epochs_to_regain([0.90, 0.994, 1.0], 0.999, 0.005) == 2
    assert epochs_to_regain([0.90, 0.99], 0.999, 0.005) == "never"
    assert epochs_to_regain([0.999, 0.999, 0.999], 0.999, 0.005, start=2) == 3


def test_gradual_schedule_ends_inside_the_pruning_half():
    schedule = gradual_schedule(0.9, retrain_epochs=10, steps_per_epoch=100)
    assert schedule.interval == 10 and schedule.end < 5 * 100
    short = gradual_schedule(0.9, retrain_epochs=1, steps_per_epoch=6)
    assert short.end < 6 and short.sparsity(short.end) == 0.9


def test_prune_once_records_accuracy_regain_and_expansion(tiny_task):
    spec = tiny_spec(retrain_epochs=2)
    base = train_base(spec, tiny_task)
    row, history, expansion = prune_once(base, spec, tiny_task, "both", 100.0)
    assert row["sparsity"] == 1.0 and row["recurrent_nonzero"] == 0
    assert row["target"] == "both" and row["method"] == "magnitude"
    assert 0.0 <= row["acc_pruned"] <= 1.0
    assert [h["epoch"] for h in history] == [1, 2]
    assert row["acc_epoch_2"] == history[-1]["valid_acc"]  # per epoch: validation
    assert 0.0 <= row["acc_retrained"] <= 1.0  # the test split, once, after retraining
    assert row["epochs_to_regain"] in (0, 1, 2, "never")
    assert len(expansion) == 2 * 2 and row["expander_fraction"] == 0.0
    # the base model itself was not touched
    assert count_pruned(base.model, "both")[0] == 0


@pytest.mark.parametrize("method", ["random", "expander", "anti-expander"])
def test_prune_once_by_a_structured_method_on_a_shared_base(method, tiny_task):
    spec = tiny_spec(retrain_epochs=1, hidden_size=6)
    base = train_base(spec, tiny_task)
    row, history, expansion = prune_once(base, replace(spec, method=method), tiny_task, "both", 90)
    total = count_pruned(base.model, "both")[1]
    assert row["method"] == method and row["pruned"] == round(0.9 * total)
    assert row["recurrent_nonzero"] == total - round(0.9 * total)
    assert len(history) == 1 and len(expansion) == 2 * 2
    assert sum(r["edges"] for r in expansion) == row["recurrent_nonzero"]
    if method == "expander":  # the degree bound holds on every matrix
        for matrix in expansion:
            assert matrix["min_output_degree"] == matrix["edges"] // matrix["outputs"]
            assert matrix["min_input_degree"] == matrix["edges"] // matrix["inputs"]
    again, _, _ = prune_once(base, replace(spec, method=method), tiny_task, "both", 90)
    assert again["acc_retrained"] == row["acc_retrained"]  # seeded masks and batch order
    assert count_pruned(base.model, "both")[0] == 0


def test_prune_once_by_ramanujan_steps_records_every_step(tiny_task):
    """Kalra et al.'s method: steps with a retraining epoch between them, each recorded in
    the history (phase ``step``) with its gaps and validation accuracy, then the usual
    retraining with the masks fixed; it stops at the target or earlier, never later."""
    spec = replace(tiny_spec(retrain_epochs=2, hidden_size=6), method="ramanujan")
    base = train_base(spec, tiny_task)
    row, history, expansion = prune_once(base, spec, tiny_task, "both", 60)
    total = count_pruned(base.model, "both")[1]
    steps = [r for r in history if r.get("phase") == "step"]
    epochs = [r for r in history if r.get("phase") != "step"]
    assert len(epochs) == 2 and len(steps) >= 2
    assert [r["step"] for r in steps] == list(range(len(steps)))
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in steps[1:])
    assert steps[-1]["pruned"] == row["pruned"] <= round(0.6 * total)
    assert all(r["ramanujan_gap_min"] >= -1e-9 for r in steps)
    assert min(r["ramanujan_gap"] for r in expansion) >= -1e-9
    assert count_pruned(base.model, "both")[0] == 0
