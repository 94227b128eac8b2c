"""The batched engine: stacked candidates equal the reference and train as if alone.

Every test runs on both recurrences: the compiled one (models/fused.py) and the PyTorch one
(models/recurrence.py) that machines without a compiler fall back to.
"""

import warnings
from types import SimpleNamespace

import networkx as nx
import pytest
import torch

import models.engine
import models.fused
from graphs.dag import layered_dag
from graphs.generators import barabasi_albert, erdos_renyi, watts_strogatz
from models.cells import CELLS
from models.engine import (
    MAX_AUTO_SLOTS,
    Candidate,
    StackedAdam,
    StackedSparseRNN,
    StackError,
    _epoch_batches,
    _Slot,
    _train_epoch,
    auto_slots,
    depth_groups,
    stack_sizes,
    train_many,
    train_stream,
)
from models.fused import edge_list, fused_kernel
from models.networks import SparseRNNClassifier
from models.training import TrainSpec, length_buckets, train_model


@pytest.fixture(autouse=True, params=["fused", "torch"])
def recurrence(request, monkeypatch):
    """Run the test on the compiled recurrence, then on the PyTorch fallback."""
    if request.param == "torch":
        monkeypatch.setattr(models.engine, "fused_kernel", lambda: None)
    return request.param


# Different sizes, layer counts and skip spans, so padding and layer shifts are exercised.
GRAPHS = [
    watts_strogatz(12, 4, 1.0, seed=1),
    barabasi_albert(9, 2, seed=1),
    erdos_renyi(14, 0.3, seed=2),
]


def _dags():
    dags = [layered_dag(g) for g in GRAPHS]
    assert len({d.n_layers for d in dags}) > 1 and len({d.n_nodes for d in dags}) > 1
    return dags


def _unpad(weight, gates, n, width, cols=None):
    blocks = weight.reshape(gates, width, *weight.shape[1:])[:, :n]
    blocks = blocks.reshape(gates * n, *weight.shape[1:])
    return blocks if cols is None else blocks[..., :cols]


def _assert_stack_matches_reference(dags, cell, inputs, lengths):
    """Outputs and every gradient of ``dags`` stacked equal each network's reference loop."""
    models = [
        SparseRNNClassifier(d, cell, 3, vocab_size=12, embedding_dim=4, seed=i)
        for i, d in enumerate(dags)
    ]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    k = len(models)
    out = stack.forward(inputs.expand(k, -1, -1), lengths.expand(k, -1))
    out.square().sum().backward()
    width = stack.neurons
    for row, model in enumerate(models):
        expected = model(inputs, lengths)
        torch.testing.assert_close(out[row], expected, atol=1e-5, rtol=1e-5)
        expected.square().sum().backward()
        rnn, n = model.rnn, model.rnn.n_neurons
        originals = rnn.parametrizations
        pairs = {
            "weight_x": (originals.weight_x.original.grad, n),
            "weight_h": (originals.weight_h.original.grad, n),
            "weight_in": (originals.weight_in.original.grad, None),
        }
        for name, (grad, cols) in pairs.items():
            got = _unpad(stack.gradients()[name][row], stack.gates, n, width, cols)
            torch.testing.assert_close(got, grad, atol=1e-5, rtol=1e-5, msg=name)
        got_bias = _unpad(stack.gradients()["bias_h"][row][:, None], stack.gates, n, width)
        torch.testing.assert_close(got_bias[:, 0], rnn.bias_h.grad, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            stack.gradients()["embedding"][row], model.embedding.weight.grad, atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize("cell", CELLS)
def test_stacked_forward_and_gradients_match_the_reference(cell):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(1, 12, (5, 7), generator=generator)
    lengths = torch.tensor([7, 1, 3, 6, 4])
    _assert_stack_matches_reference(_dags(), cell, inputs, lengths)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
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


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_stacked_float_inputs_match_the_reference(cell):
    """Feature-vector tasks (digits, CSV of numbers) take the projected-input path."""
    dags = _dags()
    models = [SparseRNNClassifier(d, cell, 3, n_features=4, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    inputs = torch.randn(5, 6, 4, generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([6, 2, 1, 5, 3])
    k = len(models)
    out = stack.forward(inputs.expand(k, -1, -1, -1), lengths.expand(k, -1))
    out.sum().backward()
    for row, model in enumerate(models):
        expected = model(inputs, lengths)
        torch.testing.assert_close(out[row], expected, atol=1e-5, rtol=1e-5)
        expected.sum().backward()
        grad = model.rnn.parametrizations.weight_in.original.grad
        got = _unpad(
            stack.gradients()["weight_in"][row], stack.gates, model.rnn.n_neurons, stack.neurons
        )
        torch.testing.assert_close(got, grad, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn_tanh"])
def test_training_together_equals_training_alone(tiny_task, cell):
    dags = _dags()
    spec = TrainSpec(epochs=2, batch_size=16)
    init_seeds, order_seeds = [3, 4, 5], [7, 7, 8]
    together, models = train_many(
        dags,
        cell,
        tiny_task,
        spec,
        init_seeds=init_seeds,
        order_seeds=order_seeds,
        embedding_dim=8,
        slots=2,
        keep_models=True,
    )
    for i, dag in enumerate(dags):
        model = SparseRNNClassifier(
            dag, cell, 2, vocab_size=tiny_task.vocab_size, embedding_dim=8, seed=init_seeds[i]
        )
        alone = train_model(model, tiny_task, spec, seed=order_seeds[i])
        assert together[i].status == alone.status == "ok"
        for got, expected in zip(together[i].history, alone.history, strict=True):
            assert got.valid_acc == pytest.approx(expected.valid_acc, abs=1e-9)
            assert got.valid_loss == pytest.approx(expected.valid_loss, abs=1e-5)
            assert got.train_loss == pytest.approx(expected.train_loss, abs=1e-5)
        assert together[i].test_acc == pytest.approx(alone.test_acc, abs=1e-9)  # once, at the end
        assert together[i].test_loss == pytest.approx(alone.test_loss, abs=1e-5)
        for got, expected in zip(models[i].parameters(), model.parameters(), strict=True):
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_masked_weights_stay_zero_in_the_stack(tiny_task):
    dags = _dags()
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


def test_a_diverging_candidate_never_touches_the_others(tiny_task):
    dags = _dags()[:2]

    def model(i):
        return SparseRNNClassifier(dags[i], "rnn_relu", 2, vocab_size=tiny_task.vocab_size, seed=i)

    def stack_of(rows):
        return StackedSparseRNN([model(i) for i in rows], **stack_sizes(dags)).requires_grad_()

    def one_epoch(stack, rows):
        optimizer = StackedAdam(stack.parameters(), 1e-2, 5.0)
        slots = [
            _Slot(Candidate(dags[i], i, 0, i), model(i), torch.Generator().manual_seed(0))
            for i in rows
        ]
        spec = TrainSpec(epochs=1, batch_size=16)
        _train_epoch(stack, optimizer, slots, tiny_task.train, spec, torch.device("cpu"))
        return slots

    both = stack_of([0, 1])
    with torch.no_grad():
        both.tensors["readout_b"][1] = float("nan")
    slots = one_epoch(both, [0, 1])
    assert slots[1].result.status == "diverged"
    assert "non-finite loss in epoch 1" in slots[1].result.reason
    alone = stack_of([0])
    one_epoch(alone, [0])
    assert slots[0].result.status == "ok"
    for name in StackedSparseRNN.PARAMS:
        torch.testing.assert_close(both.tensors[name][0], alone.tensors[name][0])
        assert torch.isfinite(both.tensors[name][0]).all()


def test_a_stack_of_some_rows_computes_what_those_rows_compute_in_the_whole():
    dags = _dags()
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


def test_callback_sees_every_epoch_and_can_drop_a_candidate(tiny_task):
    seen = []

    def drop_second_after_one_epoch(index, metrics):
        seen.append((index, metrics.epoch))
        return index == 1

    results, _ = train_many(
        _dags(),
        "gru",
        tiny_task,
        TrainSpec(epochs=3, batch_size=32),
        init_seeds=[0, 1, 2],
        order_seeds=[0, 0, 0],
        on_epoch=drop_second_after_one_epoch,
    )
    assert [r.status for r in results] == ["ok", "stopped", "ok"]
    assert [len(r.history) for r in results] == [3, 1, 3]
    assert sorted(seen) == [(0, 1), (0, 2), (0, 3), (1, 1), (2, 1), (2, 2), (2, 3)]


def test_automatic_slot_count_follows_the_memory_estimate(tiny_task):
    dags = _dags()
    # The largest graph's activations for one candidate, as auto_slots estimates them.
    neurons = max(d.n_nodes for d in dags)
    lags = max(max(d.max_span, 1) for d in dags)
    steps = int(tiny_task.train.lengths.max()) + max(d.n_layers for d in dags)
    per_candidate = 4 * steps * 128 * neurons * (4 * 4 + lags + 8) * 2
    exactly = auto_slots(dags, "lstm", tiny_task, 128, available=4 * 3 * per_candidate)
    assert exactly == 3  # a quarter of the memory holds three candidates
    assert auto_slots(dags, "lstm", tiny_task, 128, available=per_candidate) == 1
    assert auto_slots(dags, "lstm", tiny_task, 128, available=2**50) == MAX_AUTO_SLOTS


def test_slots_on_one_stream_share_its_draw_and_advance_as_if_alone(tiny_task):
    def stream(seed):
        return torch.Generator().manual_seed(seed)

    slots = [SimpleNamespace(epoch=0, order=stream(seed), batches=[]) for seed in (7, 8, 7)]
    for epoch in (1, 2):
        _epoch_batches(slots, tiny_task.train, 16)
        assert slots[0].batches is slots[2].batches  # drawn once
        assert slots[1].batches is not slots[0].batches
        for slot in slots:
            assert slot.epoch == epoch
    for slot, seed in zip(slots, (7, 8, 7), strict=True):
        alone = stream(seed)
        for _ in range(2):
            expected = length_buckets(tiny_task.train.lengths, 16, alone)
        assert len(slot.batches) == len(expected)
        for got, want in zip(slot.batches, expected, strict=True):
            assert torch.equal(got, want)
        assert torch.equal(slot.order.get_state(), alone.get_state())


def test_one_batch_for_all_slots_equals_the_same_batch_stacked(tiny_task):
    rows = torch.tensor([5, 0, 9, 3])
    shared = models.engine._batch(tiny_task.train, [rows] * 3, torch.device("cpu"))
    stacked = models.engine._batch(
        tiny_task.train, [rows.clone() for _ in range(3)], torch.device("cpu")
    )
    for got, expected in zip(shared, stacked, strict=True):
        assert torch.equal(got, expected)


def test_depth_groups_fill_stacks_in_depth_order_up_to_capacity():
    shape = [(10, 9), (4, 2), (15, 14), (11, 10), (22, 20), (6, 3), (10, 9), (4, 1)]
    dags = [SimpleNamespace(n_layers=L, max_span=s, n_nodes=20) for L, s in shape]
    # by layers, then span: 7 (4, 1), 1 (4, 2), 5 (6, 3), 0 (10, 9), 6 (10, 9), 3, 2, 4
    assert depth_groups(dags, capacity=64) == [[7, 1, 5, 0, 6, 3, 2, 4]]
    assert depth_groups(dags, capacity=3) == [[7, 1, 5], [0, 6, 3], [2, 4]]
    uniform = [SimpleNamespace(n_layers=7, max_span=4, n_nodes=n) for n in (30, 10, 20)]
    assert depth_groups(uniform, capacity=64) == [[1, 2, 0]]  # then by size
    assert depth_groups([], capacity=4) == []


def test_the_compiled_recurrence_builds_here(recurrence):
    """CI must exercise the compiled path, not only the fallback (g++ and ninja are project
    requirements on the target machines)."""
    assert fused_kernel() is not None


def test_the_compiled_adam_step_equals_the_pytorch_one(recurrence):
    """One pass per row in the kernel, a dozen tensor operations in the fallback: the same
    clipped Adam update, and a row that is not live keeps its weights and moments."""
    if recurrence == "torch":
        pytest.skip("compares the compiled step with the PyTorch one")
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(3, 50, generator=generator)
    grads = [torch.randn(3, 50, generator=generator) * scale for scale in (0.1, 3.0, 1.0)]
    live = [torch.tensor([True, True, True]), torch.tensor([True, False, True])]
    finals = []
    for kernel in (fused_kernel, lambda: None):
        param = start.clone()
        adam = StackedAdam([param], 0.05, 1.0)  # clip_norm 1: the scaled gradients are clipped
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(models.engine, "fused_kernel", kernel)
            for grad, active in zip(grads, live + live[:1], strict=True):
                param.grad = grad.clone()
                adam.step(active)
        finals.append((param, adam.exp_avg[0], adam.exp_avg_sq[0], adam.steps))
    for got, expected in zip(*finals, strict=True):
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    assert finals[0][2][1].ne(0).all() and finals[0][3].tolist() == [3, 2, 3]


def test_gradients_off_the_graph_and_in_the_padding_are_zero(recurrence):
    dags = _dags()
    models = [SparseRNNClassifier(d, "gru", 2, vocab_size=6, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags)).requires_grad_()
    inputs = torch.randint(1, 6, (4, 5), generator=torch.Generator().manual_seed(0))
    out = stack.forward(inputs.expand(3, -1, -1), torch.tensor([5, 3, 2, 4]).expand(3, -1))
    out.square().sum().backward()
    off = stack.buffers["flat_mask"] == 0
    assert off.any() and (stack.flat.grad[off] == 0).all() and (stack.flat[off] == 0).all()
    assert stack.flat.grad[~off].ne(0).any()


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


def test_a_non_finite_recurrent_weight_stays_in_its_own_candidate(recurrence):
    """A NaN inside the recurrence (not only in the read-out) reaches that candidate's
    output and gradients only: the compiled transcendentals propagate NaN."""
    dags = _dags()[:2]
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
    dags = _dags()
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


def test_a_token_outside_the_vocabulary_is_refused(recurrence):
    dags = _dags()[:1]
    models = [SparseRNNClassifier(dags[0], "gru", 2, vocab_size=6, seed=0)]
    stack = StackedSparseRNN(models, **stack_sizes(dags))
    inputs = torch.tensor([[[1, 2, 9]]])
    with pytest.raises((RuntimeError, IndexError)):
        stack.forward(inputs, torch.tensor([[3]]))


def test_compiled_token_columns_equal_the_pytorch_ones(recurrence):
    if recurrence == "torch":
        pytest.skip("the compiled token columns need the compiled kernel")
    dags = _dags()  # three depths, so three layer shifts
    models = [SparseRNNClassifier(d, "gru", 2, vocab_size=6, seed=i) for i, d in enumerate(dags)]
    stack = StackedSparseRNN(models, **stack_sizes(dags))
    inputs = torch.randint(0, 6, (3, 5, 4), generator=torch.Generator().manual_seed(0))
    total = 4 + stack.layers - 1
    got = fused_kernel().token_ids(inputs, stack.buffers["shift"], total, 6)
    assert got.dtype == torch.int32 and got.shape == (total, 3, 5)
    assert torch.equal(got, stack._token_ids(inputs, total).to(torch.int32))
    assert (got == 6).any() and (got < 6).any()  # idle steps and real tokens both occur
    with pytest.raises(RuntimeError, match="int64"):
        fused_kernel().token_ids(inputs, stack.buffers["shift"][:2], total, 6)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_continuous_batching_equals_training_each_alone(tiny_task, cell):
    """Two slots; B is stopped after one epoch, so C joins the running stack (deeper: the
    stack is re-laid out wider), and D joins when A ends, on another mini-batch stream. Each
    network equals train_model alone from its seeds and batch offset."""
    dags = _dags() + [layered_dag(watts_strogatz(6, 2, 0.5, seed=3))]
    spec = TrainSpec(epochs=3, batch_size=16)
    seeds = {0: (3, 7), 1: (4, 7), 2: (5, 7), 3: (6, 8)}  # key: (init, order)
    queue = [Candidate(dags[key], *seeds[key], key) for key in (1, 0, 2, 3)]
    asked, ended = [], {}

    def feed(free):
        asked.append(free)
        taken, queue[:] = queue[:free], queue[free:]
        return taken

    def on_epoch(key, metrics):
        return key == 1  # B stops after its first epoch

    def on_end(key, result, model):
        ended[key] = (result, model)

    epochs = train_stream(
        feed, cell, tiny_task, spec, slots=2, embedding_dim=8,
        on_epoch=on_epoch, on_end=on_end, keep_models=True,
    )  # fmt: skip
    assert epochs == 6 and asked[0] == 2  # D (joined after 3) ends after the stack's 6th
    assert {k: r.batch_offset for k, (r, _) in ended.items()} == {0: 0, 1: 0, 2: 1, 3: 3}
    assert [ended[k][0].status for k in range(4)] == ["ok", "stopped", "ok", "ok"]
    for key, (init, order) in seeds.items():
        result, trained = ended[key]
        model = SparseRNNClassifier(
            dags[key], cell, 2, vocab_size=tiny_task.vocab_size, embedding_dim=8, seed=init
        )
        alone = train_model(
            model, tiny_task, spec, seed=order, batch_offset=result.batch_offset,
            on_epoch=lambda metrics, key=key: on_epoch(key, metrics),
        )  # fmt: skip
        assert result.status == alone.status
        for got, expected in zip(result.history, alone.history, strict=True):
            assert got.valid_acc == pytest.approx(expected.valid_acc, abs=1e-9)
            assert got.valid_loss == pytest.approx(expected.valid_loss, abs=1e-5)
            assert got.train_loss == pytest.approx(expected.train_loss, abs=1e-5)
        assert result.test_acc == pytest.approx(alone.test_acc, abs=1e-9)
        assert result.test_loss == pytest.approx(alone.test_loss, abs=1e-5)
        for got, expected in zip(trained.parameters(), model.parameters(), strict=True):
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    # The offset is not a label: C trained from the stream's start would differ.
    model = SparseRNNClassifier(
        dags[2], cell, 2, vocab_size=tiny_task.vocab_size, embedding_dim=8, seed=5
    )
    from_start = train_model(model, tiny_task, spec, seed=7)
    assert from_start.history[0].train_loss != pytest.approx(
        ended[2][0].history[0].train_loss, abs=1e-6
    )


def test_a_feed_that_overfills_the_stack_is_refused(tiny_task):
    dags = _dags()
    candidates = [Candidate(dag, k, 0, k) for k, dag in enumerate(dags)]
    with pytest.raises(ValueError, match="feed gave 3 networks for 2 free slots"):
        train_stream(lambda free: candidates, "gru", tiny_task, TrainSpec(epochs=1), slots=2)


def test_a_failing_stack_names_its_networks(tiny_task, monkeypatch):
    dags = _dags()
    queue = [Candidate(dags[k], k, 0, 10 + k) for k in range(2)]

    def feed(free):
        taken, queue[:] = queue[:free], queue[free:]
        return taken

    def broken(*args, **kwargs):
        raise RuntimeError("kernel fault")

    monkeypatch.setattr(models.engine, "_train_epoch", broken)
    with pytest.raises(StackError) as caught:
        train_stream(feed, "gru", tiny_task, TrainSpec(epochs=1, batch_size=16), slots=2)
    assert caught.value.keys == [10, 11]
    assert isinstance(caught.value.__cause__, RuntimeError)
