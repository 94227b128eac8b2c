"""What the compiled recurrence reads: edge lists packed per candidate, and token columns
equal to the PyTorch path's."""

import pytest
import torch
from engine_graphs import stack_dags

from models.engine import StackedSparseRNN, stack_sizes
from models.engine.drive import token_ids
from models.fused import edge_list, fused_kernel
from models.networks import SparseRNNClassifier


def test_edge_list_packs_each_candidates_ones_with_their_extra_value(recurrence):
    mask = torch.tensor([[[0, 1], [1, 1]], [[0, 0], [1, 0]]], dtype=torch.float32)
    lag = torch.tensor([[[9, 2], [3, 4]], [[9, 9], [5, 9]]])
    edges, counts = edge_list(mask, lag)
    assert counts.tolist() == [3, 1]
    assert edges.dtype == torch.int32 and edges.shape == (2, 3, 3)
    assert edges[0].tolist() == [[0, 1, 2], [1, 0, 3], [1, 1, 4]]
    assert edges[1, 0].tolist() == [1, 0, 5]  # rows past a candidate's count are padding
    plain, plain_counts = edge_list(torch.zeros(2, 3, 3))
    assert plain.shape == (2, 1, 2) and plain_counts.tolist() == [0, 0]


def test_compiled_token_columns_equal_the_pytorch_ones(recurrence):
    if recurrence == "torch":
        pytest.skip("the compiled token columns need the compiled kernel")
    dags = stack_dags()  # three depths, so three layer shifts
    models = [SparseRNNClassifier(d, "gru", 2, vocab_size=6, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags))
    inputs = torch.randint(0, 6, (3, 5, 4), generator=torch.Generator().manual_seed(0))
    total = 4 + stack.layers - 1
    got = fused_kernel().token_ids(inputs, stack.buffers["shift"], total, 6)
    assert got.dtype == torch.int32 and got.shape == (total, 3, 5)
    assert torch.equal(got, token_ids(stack, inputs, total).to(torch.int32))
    assert (got == 6).any() and (got < 6).any()  # idle steps and real tokens both occur
    with pytest.raises(RuntimeError, match="int64"):
        fused_kernel().token_ids(inputs, stack.buffers["shift"][:2], total, 6)
