"""Continuous batching: stacked candidates train exactly as if alone, join and leave at
epoch boundaries, share the mini-batches of their stream, and a failing stack names its
networks."""

from types import SimpleNamespace

import pytest
import torch
from engine_graphs import stack_dags

import models.engine.stream
from graphs.dag import layered_dag
from graphs.generators import watts_strogatz
from models.cells import CELLS
from models.engine import (
    Candidate,
    StackedAdam,
    StackedSparseRNN,
    StackError,
    stack_sizes,
    train_many,
    train_stream,
)
from models.engine.stream import _batch, _epoch_batches, _Slot, _train_epoch
from models.networks import SparseRNNClassifier
from models.training import TrainSpec, length_buckets, train_model


@pytest.mark.parametrize("cell", CELLS)
def test_training_together_equals_training_alone(tiny_task, cell):
    dags = stack_dags()
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


def test_a_diverging_candidate_never_touches_the_others(tiny_task):
    dags = stack_dags()[:2]

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


def test_callback_sees_every_epoch_and_can_drop_a_candidate(tiny_task):
    seen = []

    def drop_second_after_one_epoch(index, metrics):
        seen.append((index, metrics.epoch))
        return index == 1

    results, _ = train_many(
        stack_dags(),
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
    shared = _batch(tiny_task.train, [rows] * 3, torch.device("cpu"))
    stacked = _batch(tiny_task.train, [rows.clone() for _ in range(3)], torch.device("cpu"))
    for got, expected in zip(shared, stacked, strict=True):
        assert torch.equal(got, expected)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_continuous_batching_equals_training_each_alone(tiny_task, cell):
    """Two slots; B is stopped after one epoch, so C joins the running stack (deeper: the
    stack is re-laid out wider), and D joins when A ends, on another mini-batch stream. Each
    network equals train_model alone from its seeds and batch offset."""
    dags = stack_dags() + [layered_dag(watts_strogatz(6, 2, 0.5, seed=3))]
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
    dags = stack_dags()
    candidates = [Candidate(dag, k, 0, k) for k, dag in enumerate(dags)]
    with pytest.raises(ValueError, match="feed gave 3 networks for 2 free slots"):
        train_stream(lambda free: candidates, "gru", tiny_task, TrainSpec(epochs=1), slots=2)


def test_a_failing_stack_names_its_networks(tiny_task, monkeypatch):
    dags = stack_dags()
    queue = [Candidate(dags[k], k, 0, 10 + k) for k in range(2)]

    def feed(free):
        taken, queue[:] = queue[:free], queue[free:]
        return taken

    def broken(*args, **kwargs):
        raise RuntimeError("kernel fault")

    monkeypatch.setattr(models.engine.stream, "_train_epoch", broken)
    with pytest.raises(StackError) as caught:
        train_stream(feed, "gru", tiny_task, TrainSpec(epochs=1, batch_size=16), slots=2)
    assert caught.value.keys == [10, 11]
    assert isinstance(caught.value.__cause__, RuntimeError)
