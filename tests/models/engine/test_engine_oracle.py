"""The whole oracle (engine_oracle.py), on both recurrences (see conftest.py): for every
cell, stacks of 1, 7 and 32 networks, token and real inputs, ragged lengths and a batch of
its own per network, the stack's outputs, the gradient of every parameter and the Adam state
after two clipped steps equal each network's reference loop trained alone."""

import pytest
import torch
from engine_oracle import assert_equal, assert_training_matches_alone, batches, build, small_dags

from graphs.dag import READOUTS
from models.cells import CELLS


@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "real"])
@pytest.mark.parametrize("k", [1, 7, 32])
@pytest.mark.parametrize("cell", CELLS)
def test_a_stack_trains_every_parameter_as_each_network_alone(cell, k, tokens):
    assert_training_matches_alone(cell, k, tokens)


@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "real"])
@pytest.mark.parametrize("cell", CELLS)
def test_a_stack_trains_as_each_network_alone_in_single_precision(cell, tokens, recurrence):
    """The compiled loop's single-precision code (eight-lane vectors, its own exponential);
    the PyTorch recurrence has none of its own, and double precision covers it."""
    if recurrence == "torch":
        pytest.skip("tests the compiled loop's single-precision code")
    assert_training_matches_alone(cell, 7, tokens, torch.float32)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("k", [1, 2])
def test_a_batch_of_many_blocks_matches_the_reference(cell, k, recurrence):
    """300 rows: the compiled loop walks a batch in blocks of 128 rows (and, with one
    network on two threads, in two chunks of 150), so a block or chunk offset is exercised;
    an evaluation's forward without gradients (1,024-row batches in use) takes a path of its
    own, compared too."""
    if recurrence == "torch":
        pytest.skip("the PyTorch recurrence has no blocks; the other tests cover it")
    dags = small_dags(k)
    inputs, lengths, _ = batches(k, 300, True, 3, torch.float32)
    models, stack = build(dags, cell, True, torch.float32)
    with torch.no_grad():
        evaluated = stack.forward(inputs, lengths)
    for row, model in enumerate(models):
        with torch.no_grad():
            expected = model(inputs[row], lengths[row])
        assert_equal(evaluated[row], expected, f"evaluation outputs of {row}")
    assert_training_matches_alone(cell, k, True, batch=300)  # in double precision


@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("tokens", [True, False], ids=["tokens", "real"])
@pytest.mark.parametrize("cell", CELLS)
def test_each_readout_trains_as_each_network_alone(cell, tokens, readout):
    """Sinks outside the last layer (and, with ``all``, every neuron) are read at their own
    step, once they have read each ragged row's last input: the engine's outputs, gradients
    and Adam state equal the reference loop's for every read-out."""
    dags = small_dags(7)
    ends = [len(d.readout_neurons("sinks")) - d.layer_sizes[-1] for d in dags]
    assert any(ends), "the graphs must have sinks outside their last layer"
    assert_training_matches_alone(cell, 7, tokens, readout=readout)


@pytest.mark.parametrize("readout", ["sinks", "all"])
def test_each_readout_trains_as_alone_in_single_precision(readout, recurrence):
    if recurrence == "torch":
        pytest.skip("tests the compiled loop's single-precision code")
    for cell in CELLS:
        assert_training_matches_alone(cell, 7, True, torch.float32, readout=readout)
