"""Gradual pruning (models/pruning/schedules.py): the cubic schedule and the pruner."""

import pytest
from pruning_fixtures import tiny_dense

from core.errors import SparseNASError
from models.pruning import CubicSchedule, GradualPruner, count_pruned, prunable_weights
from models.training import TrainSpec, train_model


def test_cubic_schedule_at_worked_points():
    schedule = CubicSchedule(final=0.8, steps=4)
    # s_t = 0.8 (1 - (1 - t/4)^3)
    expected = [0.0, 0.4625, 0.7, 0.7875, 0.8, 0.8]
    assert [schedule.sparsity(t) for t in range(6)] == pytest.approx(expected)
    late = CubicSchedule(final=0.8, steps=4, begin=10, interval=5)
    assert late.sparsity(9) == 0.0 and late.sparsity(10) == 0.0 and late.sparsity(14) == 0.0
    assert late.sparsity(15) == pytest.approx(0.4625)
    assert late.sparsity(29) == pytest.approx(0.7875) and late.sparsity(30) == 0.8
    assert late.end == 30
    assert [t for t in range(40) if late.is_pruning_step(t)] == [10, 15, 20, 25, 30]
    warm = CubicSchedule(final=0.6, initial=0.2, steps=2)
    assert warm.sparsity(0) == pytest.approx(0.2)
    assert warm.sparsity(1) == pytest.approx(0.6 - 0.4 * 0.125)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"final": 1.2, "steps": 3}, "amount="),
        ({"final": 0.5, "steps": 0}, "steps="),
        ({"final": 0.5, "steps": 2, "interval": 0}, "interval="),
        ({"final": 0.3, "initial": 0.5, "steps": 2}, "initial sparsity"),
    ],
)
def test_bad_schedules_are_rejected(kwargs, fragment):
    with pytest.raises(SparseNASError, match=fragment):
        CubicSchedule(**kwargs)


def test_gradual_pruner_reaches_the_final_sparsity_while_training(tiny_task):
    model = tiny_dense("gru")
    schedule = CubicSchedule(final=0.75, steps=6, interval=2)  # ends at step 12
    pruner = GradualPruner(model, "both", schedule)
    handle = pruner.attach()
    result = train_model(model, tiny_task, TrainSpec(epochs=3, batch_size=16), seed=0)
    handle.remove()
    assert result.status == "ok"
    assert pruner.t == 3 * 6  # 96 strings / 16 per batch, evaluation forwards not counted
    assert [t for t, _ in pruner.history] == [0, 2, 4, 6, 8, 10, 12]
    sparsities = [s for _, s in pruner.history]
    assert sparsities == sorted(sparsities) and sparsities[-1] == 0.75
    pruned, total = count_pruned(model, "both")
    assert pruned == round(0.75 * total)
    for weight in prunable_weights(model, "both"):
        mask = getattr(weight.module, f"{weight.attr}_mask")
        assert (getattr(weight.module, weight.attr)[mask == 0] == 0).all()
