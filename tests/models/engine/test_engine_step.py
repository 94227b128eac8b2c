"""The fused training step (one compiled call per batch: forward, read-out, loss, backward,
clipping, Adam) against the PyTorch step on the PyTorch recurrence (step_oracle.py): for
every cell, stacks of 1, 7 and 32 networks, token and real inputs, ragged lengths and pad
rows, three batches; single precision, a batch of several 128-row blocks and a network whose
loss turns non-finite too."""

import math

import pytest
import torch
from step_oracle import assert_fused_step_matches, run

from models.cells import CELLS
from models.engine import StackedAdam
from models.engine.step import STEP_ENV, TrainStep, fused_step_available


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
    from engine_oracle import build, small_dags

    _, stack = build(small_dags(2), "gru", True, torch.float64)
    adam = StackedAdam(stack.parameters(), 0.01, 1.0)
    assert TrainStep(stack, adam).fused == (recurrence == "fused") == fused_step_available(stack)
    monkeypatch.setenv(STEP_ENV, "torch")
    assert not TrainStep(stack, adam).fused
    with pytest.raises(RuntimeError, match="not available"):
        TrainStep(stack, adam, fused=True)
