"""The fused training step (one compiled call per batch: forward, read-out, loss, backward,
clipping, Adam) against the PyTorch step on the PyTorch recurrence (step_oracle.py): for
every cell, stacks of 1, 7 and 32 networks, token and real inputs, ragged lengths and pad
rows, three batches; single precision, a batch of several 128-row blocks and a network whose
loss turns non-finite too."""

import math

import pytest
import torch
from conftest import KERNEL_USERS
from engine_oracle import assert_equal, batches, build, small_dags
from step_oracle import assert_fused_step_matches, run

from models.cells import CELLS
from models.engine import StackedAdam
from models.engine.step import STEP_ENV, TrainStep, evaluate_batch, fused_step_available


@pytest.fixture
def compiled(recurrence):
    """The fused step needs the compiled kernel: skipped on the PyTorch recurrence."""
    if recurrence == "torch":
        pytest.skip("the fused step is the compiled kernel's")


@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "real"])
@pytest.mark.parametrize("k", [1, 7, 32])
@pytest.mark.parametrize("cell", CELLS)
def test_the_fused_step_trains_as_the_pytorch_step(compiled, monkeypatch, cell, k, tokens):
    assert_fused_step_matches(cell, k, tokens, torch.float64, monkeypatch)


@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "real"])
@pytest.mark.parametrize("cell", CELLS)
def test_the_fused_step_matches_in_single_precision(compiled, monkeypatch, cell, tokens):
    assert_fused_step_matches(cell, 7, tokens, torch.float32, monkeypatch)


@pytest.mark.parametrize("cell", CELLS)
def test_the_fused_step_walks_a_batch_of_many_blocks(compiled, monkeypatch, cell):
    """300 rows: three 128-row blocks (and two chunks of one network on two threads)."""
    assert_fused_step_matches(cell, 2, True, torch.float64, monkeypatch, batch=300)


@pytest.mark.parametrize("cell", CELLS)
def test_a_network_with_a_non_finite_loss_stops_untouched(compiled, monkeypatch, cell):
    """Its loss is infinite from the first batch: it stops there, gets no update, and the
    other networks train as without it."""
    assert_fused_step_matches(cell, 7, True, torch.float64, monkeypatch, poison=3)
    first, *_, final = run(cell, 7, True, torch.float64, fused=True, poison=3)
    assert first.stopped == [3] and not final.live[3] and final.live.sum() == 6
    assert final.steps[3] == 0 and float(final.exp_avg["weight_x"][3].abs().sum()) == 0.0
    assert math.isinf(float(final.params["readout_b"][3].max()))


def test_the_fused_step_is_the_default_where_it_runs(recurrence, monkeypatch):
    _, stack = build(small_dags(2), "gru", True, torch.float64)
    adam = StackedAdam(stack.parameters(), 0.01, 1.0)
    assert TrainStep(stack, adam).fused == (recurrence == "fused") == fused_step_available(stack)
    monkeypatch.setenv(STEP_ENV, "torch")
    assert not TrainStep(stack, adam).fused
    with pytest.raises(RuntimeError, match="not available"):
        TrainStep(stack, adam, fused=True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["double", "single"])
@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "real"])
@pytest.mark.parametrize("k", [1, 7])
@pytest.mark.parametrize("cell", CELLS)
def test_the_fused_evaluation_matches_the_pytorch_one(
    compiled, monkeypatch, cell, k, tokens, dtype
):
    """Summed losses and correct rows of two batches (300 rows: three 128-row blocks, and
    9 rows), the compiled call against the stack's forward and cross_entropy on the PyTorch
    recurrence."""
    _, stack = build(small_dags(k), cell, tokens, dtype)
    data = [batches(k, rows, tokens, rows, dtype) for rows in (300, 9)]
    totals = {}
    for fused in (True, False):
        loss, correct = torch.zeros(k, dtype=torch.float64), torch.zeros(k, dtype=torch.long)
        with monkeypatch.context() as patch:
            for module in KERNEL_USERS if not fused else ():
                patch.setattr(module, "fused_kernel", lambda: None)
            for inputs, lengths, labels in data:
                evaluate_batch(stack, inputs, lengths, labels, loss, correct, fused=fused)
        totals[fused] = loss, correct
    assert_equal(totals[True][0].to(dtype), totals[False][0].to(dtype), "summed losses")
    assert torch.equal(totals[True][1], totals[False][1])
    assert int(totals[True][1].sum()) > 0
