"""The stacked layout: masked and padded weights stay zero, a stack of some rows computes
what they compute in the whole."""

import torch
from engine_graphs import stack_dags

from models.engine import StackedSparseRNN, stack_sizes, train_many
from models.networks import SparseRNNClassifier
from models.training import TrainSpec


def test_masked_weights_stay_zero_in_the_stack(tiny_task):
    dags = stack_dags()
    _, models = train_many(
        dags,
        "gru",
        tiny_task,
        TrainSpec(epochs=2, batch_size=16, lr=0.05),
        init_seeds=[0, 1, 2],
        order_seeds=[0, 0, 0],
        keep_models=True,
    )
    for model in models:
        for name in ("weight_in", "weight_x", "weight_h"):
            parametrization = getattr(model.rnn.parametrizations, name)
            mask = parametrization[0].mask
            assert torch.all(parametrization.original[mask == 0] == 0)
            assert torch.any(parametrization.original[mask == 1] != 0)


def test_a_stack_of_some_rows_computes_what_those_rows_compute_in_the_whole():
    dags = stack_dags()
    models = [SparseRNNClassifier(d, "gru", 3, vocab_size=12, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags))
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randint(0, 12, (3, 5, 7), generator=generator)
    lengths = torch.randint(1, 8, (3, 5), generator=generator)
    with torch.no_grad():
        whole = stack.forward(inputs, lengths)
        part = stack.rows(torch.tensor([2, 0]))
        torch.testing.assert_close(part.forward(inputs[[2, 0]], lengths[[2, 0]]), whole[[2, 0]])
    assert part.flat.shape[0] == 2 and stack.flat.shape[0] == 3  # the whole is unchanged
    torch.testing.assert_close(stack.forward(inputs, lengths), whole)


def test_gradients_off_the_graph_and_in_the_padding_are_zero(recurrence):
    dags = stack_dags()
    models = [SparseRNNClassifier(d, "gru", 2, vocab_size=6, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    inputs = torch.randint(1, 6, (4, 5), generator=torch.Generator().manual_seed(0))
    out = stack.forward(inputs.expand(3, -1, -1), torch.tensor([5, 3, 2, 4]).expand(3, -1))
    out.square().sum().backward()
    off = stack.buffers["flat_mask"] == 0
    assert off.any() and (stack.flat.grad[off] == 0).all() and (stack.flat[off] == 0).all()
    assert stack.flat.grad[~off].ne(0).any()
