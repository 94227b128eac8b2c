"""The stack's forward pass and gradients equal each network's reference loop, on both
recurrences (see conftest.py); a fault in one candidate stays in it."""

import warnings

import networkx as nx
import pytest
import torch
from engine_graphs import reference_params, slot_values, stack_dags

import models.fused
from graphs.dag import layered_dag
from models.cells import CELLS
from models.engine import StackedSparseRNN, stack_sizes
from models.fused import fused_kernel
from models.networks import SparseRNNClassifier


def _assert_gradients_match(stack, models, inputs, lengths) -> None:
    """Each network's own outputs and the gradient of every one of its parameters equal its
    slot's in ``stack`` (after ``out.square().sum().backward()`` on both)."""
    k = len(models)
    shape = (k,) + (-1,) * inputs.dim()
    out = stack.forward(inputs.expand(*shape), lengths.expand(k, -1))
    out.square().sum().backward()
    for row, model in enumerate(models):
        expected = model(inputs, lengths)
        torch.testing.assert_close(out[row], expected, atol=1e-5, rtol=1e-5)
        expected.square().sum().backward()
        got = slot_values(stack, stack.flat.grad, row, model)
        for name, param in reference_params(model).items():  # every parameter
            torch.testing.assert_close(got[name], param.grad, atol=1e-5, rtol=1e-5, msg=name)


def _assert_stack_matches_reference(dags, cell, inputs, lengths):
    """Outputs and every gradient of ``dags`` stacked equal each network's reference loop."""
    models = [
        SparseRNNClassifier(d, cell, 3, vocab_size=12, embedding_dim=4, seed=i)
        for i, d in enumerate(dags)
    ]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    _assert_gradients_match(stack, models, inputs, lengths)


@pytest.mark.parametrize("cell", CELLS)
def test_stacked_forward_and_gradients_match_the_reference(cell):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(1, 12, (5, 7), generator=generator)
    lengths = torch.tensor([7, 1, 3, 6, 4])
    _assert_stack_matches_reference(stack_dags(), cell, inputs, lengths)


@pytest.mark.parametrize("cell", CELLS)
def test_a_wide_layer_and_a_wide_batch_match_the_reference(cell):
    """The compiled loop's register paths: a layer of 70 neurons gives every gate row 70
    own-layer edges and the source 70 readers at one lag (runs longer than the 64 one pass
    takes), and 45 rows give whole 32-row tiles, an 8-row vector and a tail of 5 (and token
    permutes of 16 rows with a tail)."""
    wide = nx.Graph([(0, i) for i in range(1, 71)] + [(i, 71) for i in range(1, 71)])
    generator = torch.Generator().manual_seed(2)
    inputs = torch.randint(1, 12, (45, 6), generator=generator)
    lengths = torch.randint(1, 7, (45,), generator=generator)
    _assert_stack_matches_reference([layered_dag(wide)], cell, inputs, lengths)


@pytest.mark.parametrize("cell", CELLS)
def test_stacked_float_inputs_match_the_reference(cell):
    """Feature-vector tasks (digits, CSV of numbers) take the projected-input path."""
    dags = stack_dags()
    models = [SparseRNNClassifier(d, cell, 3, n_features=4, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    inputs = torch.randn(5, 6, 4, generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([6, 2, 1, 5, 3])
    inputs[torch.arange(6) >= lengths[:, None]] = 0.0  # padded as a SequenceSet is
    _assert_gradients_match(stack, models, inputs, lengths)


def test_a_non_finite_recurrent_weight_stays_in_its_own_candidate(recurrence):
    """A NaN inside the recurrence (not only in the read-out) reaches that candidate's
    output and gradients only: the compiled transcendentals propagate NaN."""
    dags = stack_dags()[:2]
    models = [SparseRNNClassifier(d, "gru", 2, vocab_size=6, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    with torch.no_grad():
        rows, cols = torch.nonzero(stack.tensors["mask_x"][1], as_tuple=True)
        stack.tensors["weight_x"][1, rows[0], cols[0]] = float("nan")
    inputs = torch.randint(1, 6, (4, 5), generator=torch.Generator().manual_seed(0))
    lengths = torch.tensor([5, 3, 2, 4])
    out = stack.forward(inputs.expand(2, -1, -1), lengths.expand(2, -1))
    out.sum().backward()
    assert torch.isnan(out[1]).any() and torch.isfinite(out[0]).all()
    torch.testing.assert_close(out[0], models[0](inputs, lengths))
    assert torch.isfinite(stack.flat.grad[0]).all()


def test_batch_chunks_on_two_threads_equal_one_thread(recurrence):
    """With K not a multiple of the thread count, the compiled loop splits each candidate's
    batch rows between threads and sums their weight gradients."""
    dags = stack_dags()
    models = [SparseRNNClassifier(d, "lstm", 2, vocab_size=6, seed=i) for i, d in enumerate(dags)]
    inputs = torch.randint(1, 6, (24, 5), generator=torch.Generator().manual_seed(0))
    lengths = torch.randint(1, 6, (24,), generator=torch.Generator().manual_seed(1))
    results = []
    threads = torch.get_num_threads()
    for count in (1, 2):
        torch.set_num_threads(count)
        try:
            stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
            out = stack.forward(inputs.expand(3, -1, -1), lengths.expand(3, -1))
            out.square().sum().backward()
            results.append((out.detach(), stack.flat.grad))
        finally:
            torch.set_num_threads(threads)
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-5, rtol=1e-5)


def test_a_token_outside_the_vocabulary_is_refused(recurrence):
    dags = stack_dags()[:1]
    models = [SparseRNNClassifier(dags[0], "gru", 2, vocab_size=6, seed=0)]
    stack = StackedSparseRNN(models, **stack_sizes(dags))
    inputs = torch.tensor([[[1, 2, 9]]])
    with pytest.raises((RuntimeError, IndexError)):
        stack.forward(inputs, torch.tensor([[3]]))


def test_the_compiled_recurrence_builds_here(recurrence):
    """CI must exercise the compiled path, not only the fallback (g++ and ninja are project
    requirements on the target machines)."""
    assert fused_kernel() is not None


def test_the_kernel_switch_and_a_failed_build_fall_back_to_pytorch(monkeypatch, recurrence):
    build = models.fused.fused_kernel.__wrapped__
    monkeypatch.setenv(models.fused.KERNEL_ENV, "torch")
    assert build() is None
    monkeypatch.delenv(models.fused.KERNEL_ENV)

    def broken(**_):
        raise RuntimeError("Error building extension 'x'\nlong compiler output")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert build() is None
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "Error building extension 'x'" in message and "PyTorch path" in message
    assert "\n" not in message
