"""The pruning experiment (nas.experiments.prune): parsing, counts, regain, one pruned and
retrained run."""

import math
from dataclasses import replace

import networkx as nx
import pytest

from core.errors import SparseNASError
from graphs.dag import layered_dag
from models.cells import recurrent_weights
from models.networks import SparseRNNClassifier, parameter_counts
from models.pruning import count_pruned
from nas.experiments.prune import (
    PruneSpec,
    build_dense,
    dense_recurrent_weights,
    epochs_to_regain,
    gradual_schedule,
    parse_percents,
    parse_targets,
    planned_epochs,
    prune_once,
    run_prune,
    train_base,
)

WORKED = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def tiny_spec(**changes):
    values = dict(epochs=1, retrain_epochs=2, batch_size=16, hidden_size=4, num_layers=2)
    values.update(changes)
    return PruneSpec(**values, device="cpu")


def test_parse_percents_and_targets():
    assert parse_percents("10, 50,100") == (10.0, 50.0, 100.0)
    assert parse_percents("12.5%") == (12.5,)
    assert parse_targets("i2h,h2h,i2h") == ("i2h", "h2h")
    for bad in ("150", "-1", "ten", "nan", ","):
        with pytest.raises(SparseNASError, match="percent"):
            parse_percents(bad)
    with pytest.raises(SparseNASError, match="'weights'"):
        parse_targets("both,weights")


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"method": "lottery"}, "unknown pruning method 'lottery'"),
        ({"percents": (50.0, 101.0)}, "101.0"),
        ({"targets": ("all", "x")}, "'x'"),
        ({"retrain_epochs": 0}, "retrain_epochs=0"),
        ({"cell": "rnn"}, "unknown cell"),
    ],
)
def test_bad_specs_are_rejected(changes, fragment):
    with pytest.raises(SparseNASError, match=fragment):
        tiny_spec(**changes)


def test_epochs_to_regain():
    assert epochs_to_regain([0.90, 0.994, 1.0], 0.999, 0.005) == 2
    assert epochs_to_regain([0.90, 0.99], 0.999, 0.005) == "never"
    assert epochs_to_regain([0.999, 0.999, 0.999], 0.999, 0.005, start=2) == 3


@pytest.mark.parametrize("cell", ["rnn_tanh", "gru", "lstm"])
def test_recurrent_weight_counts(cell, tiny_task):
    graph = nx.Graph(WORKED)
    model = SparseRNNClassifier(layered_dag(graph), cell, 2, vocab_size=6, embedding_dim=5)
    counts = parameter_counts(model)
    biases = sum(p.numel() for n, p in model.rnn.named_parameters() if "bias" in n)
    readout = sum(p.numel() for p in model.readout.parameters())
    embedding = model.embedding.weight.numel()
    expected = counts["params_nonzero"] - biases - readout - embedding
    assert recurrent_weights(layered_dag(graph), cell, 5) == expected
    spec = tiny_spec(cell=cell)
    assert (
        dense_recurrent_weights(spec, tiny_task)
        == count_pruned(build_dense(spec, tiny_task), "both")[1]
    )


def test_gradual_schedule_ends_inside_the_pruning_half():
    schedule = gradual_schedule(0.9, retrain_epochs=10, steps_per_epoch=100)
    assert schedule.interval == 10 and schedule.end < 5 * 100
    short = gradual_schedule(0.9, retrain_epochs=1, steps_per_epoch=6)
    assert short.end < 6 and short.sparsity(short.end) == 0.9


def test_prune_once_records_accuracy_regain_and_expansion(tiny_task):
    spec = tiny_spec(retrain_epochs=2)
    base = train_base(spec, tiny_task)
    row, history, expansion = prune_once(base, spec, tiny_task, "both", 100.0)
    assert row["sparsity"] == 1.0 and row["recurrent_nonzero"] == 0
    assert row["target"] == "both" and row["method"] == "magnitude"
    assert 0.0 <= row["acc_pruned"] <= 1.0
    assert [h["epoch"] for h in history] == [1, 2]
    assert row["acc_epoch_2"] == history[-1]["valid_acc"]  # per epoch: validation
    assert 0.0 <= row["acc_retrained"] <= 1.0  # the test split, once, after retraining
    assert row["epochs_to_regain"] in (0, 1, 2, "never")
    assert len(expansion) == 2 * 2 and row["expander_fraction"] == 0.0
    # the base model itself was not touched
    assert count_pruned(base.model, "both")[0] == 0


def test_gradual_run_and_matching_count(tiny_task):
    spec = tiny_spec(method="gradual", retrain_epochs=2, percents=(60.0,))
    outcome = run_prune(spec, tiny_task, graph=nx.Graph(WORKED))
    row = outcome.table.iloc[0]
    assert row["sparsity"] == pytest.approx(0.6, abs=1e-3) and math.isnan(row["acc_pruned"])
    match = outcome.match
    assert match["recurrent_nonzero"] == recurrent_weights(
        layered_dag(nx.Graph(WORKED)), "gru", spec.embedding_dim
    )
    assert match["budget_epochs"] == 3
    assert 0.0 <= match["sparse_rnn_acc"] <= 1.0 and 0.0 <= match["dense_retrained_acc"] <= 1.0
    assert planned_epochs(spec, match=True) == 1 + 2 + (2 * 2 + 1)


def test_a_graph_larger_than_the_dense_model_is_rejected_before_training(tiny_task):
    spec = tiny_spec(hidden_size=1, num_layers=1, percents=())
    with pytest.raises(SparseNASError, match="more than the dense model"):
        run_prune(spec, tiny_task, graph=nx.complete_graph(12))


@pytest.mark.parametrize("method", ["random", "expander", "anti-expander"])
def test_prune_once_by_a_structured_method_on_a_shared_base(method, tiny_task):
    spec = tiny_spec(retrain_epochs=1, hidden_size=6)
    base = train_base(spec, tiny_task)
    row, history, expansion = prune_once(base, replace(spec, method=method), tiny_task, "both", 90)
    total = count_pruned(base.model, "both")[1]
    assert row["method"] == method and row["pruned"] == round(0.9 * total)
    assert row["recurrent_nonzero"] == total - round(0.9 * total)
    assert len(history) == 1 and len(expansion) == 2 * 2
    assert sum(r["edges"] for r in expansion) == row["recurrent_nonzero"]
    if method == "expander":  # the degree bound holds on every matrix
        for matrix in expansion:
            assert matrix["min_output_degree"] == matrix["edges"] // matrix["outputs"]
            assert matrix["min_input_degree"] == matrix["edges"] // matrix["inputs"]
    again, _, _ = prune_once(base, replace(spec, method=method), tiny_task, "both", 90)
    assert again["acc_retrained"] == row["acc_retrained"]  # seeded masks and batch order
    assert count_pruned(base.model, "both")[0] == 0


def test_mask_seeds_differ_by_method_target_and_percent_but_not_by_the_rest():
    spec = tiny_spec(method="random")
    seeds = {
        spec.mask_seed("both", 90.0),
        spec.mask_seed("both", 95.0),
        spec.mask_seed("h2h", 90.0),
        replace(spec, method="expander").mask_seed("both", 90.0),
    }
    assert len(seeds) == 4
    assert replace(spec, percents=(1.0,)).mask_seed("both", 90.0) == spec.mask_seed("both", 90.0)
    assert spec.seeds[:3] == tiny_spec(method="magnitude").seeds[:3]
