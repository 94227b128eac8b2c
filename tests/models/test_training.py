"""Training loop: determinism, divergence, early stop, argument checks."""

import networkx as nx
import pytest
import torch

from core.errors import SparseNASError
from graphs.dag import layered_dag
from models.networks import DenseRNNClassifier, SparseRNNClassifier
from models.training import TrainSpec, evaluate, length_buckets, train_model

GRAPH = nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (0, 5), (4, 5)])


def _model(task, seed=0, cell="gru"):
    dag = layered_dag(GRAPH)
    return SparseRNNClassifier(dag, cell, task.n_classes, vocab_size=task.vocab_size, seed=seed)


def test_same_seed_gives_identical_history(tiny_task):
    spec = TrainSpec(epochs=2, batch_size=16)
    first = train_model(_model(tiny_task), tiny_task, spec, seed=3)
    again = train_model(_model(tiny_task), tiny_task, spec, seed=3)
    other = train_model(_model(tiny_task), tiny_task, spec, seed=4)
    drop_time = [(m.train_loss, m.valid_loss, m.valid_acc) for m in first.history]
    assert drop_time == [(m.train_loss, m.valid_loss, m.valid_acc) for m in again.history]
    assert drop_time != [(m.train_loss, m.valid_loss, m.valid_acc) for m in other.history]


def test_non_finite_loss_is_recorded_as_diverged_not_raised(tiny_task):
    model = _model(tiny_task, cell="rnn_relu")
    with torch.no_grad():
        model.readout.bias.fill_(float("nan"))
    result = train_model(model, tiny_task, TrainSpec(epochs=3, batch_size=16))
    assert result.status == "diverged"
    assert "non-finite loss in epoch 1" in result.reason
    assert result.history == []


def test_callback_can_stop_training_early(tiny_task):
    seen = []

    def stop_after_two(metrics):
        seen.append(metrics.epoch)
        return metrics.epoch == 2

    result = train_model(_model(tiny_task), tiny_task, TrainSpec(epochs=5), on_epoch=stop_after_two)
    assert result.status == "stopped"
    assert seen == [1, 2] and len(result.history) == 2
    assert 0.0 <= result.test_acc <= 1.0


def test_dense_model_learns_the_tiny_task(tiny_task):
    model = DenseRNNClassifier("lstm", 2, vocab_size=tiny_task.vocab_size, hidden_size=8)
    result = train_model(model, tiny_task, TrainSpec(epochs=4, batch_size=16, lr=0.01))
    assert result.status == "ok"
    assert result.history[-1].train_loss < result.history[0].train_loss


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": 0}, "epochs must be an integer >= 1 (got epochs=0)"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1 (got batch_size=0)"),
        ({"lr": -1.0}, "lr must be > 0.0 (got lr=-1.0)"),
        ({"epochs": 2.5}, "epochs must be an integer (got epochs=2.5)"),
        ({"device": "foo"}, "unknown device 'foo'; choose auto, cpu, cuda or cuda:N"),
    ],
)
def test_bad_training_settings_are_clear_errors(settings, message):
    with pytest.raises(SparseNASError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainSpec(**settings)


def test_length_buckets_cover_every_index_once_with_similar_lengths():
    lengths = torch.randint(1, 40, (1000,), generator=torch.Generator().manual_seed(0))
    batches = length_buckets(lengths, 10, torch.Generator().manual_seed(1))
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))
    spread = [int(lengths[b].max() - lengths[b].min()) for b in batches]
    assert sum(spread) / len(spread) < 3


def test_validation_each_epoch_and_the_test_once_at_the_end(tiny_task):
    """Per-epoch metrics are the validation split's; the test accuracy is the final model's
    on the test split, measured after the last epoch."""
    model = _model(tiny_task)
    result = train_model(model, tiny_task, TrainSpec(epochs=2))
    device = torch.device("cpu")
    last = result.history[-1]
    assert (last.valid_loss, last.valid_acc) == evaluate(model, tiny_task.valid, device)
    assert (result.test_loss, result.test_acc) == evaluate(model, tiny_task.test, device)
    assert result.valid_acc == result.history[-1].valid_acc
