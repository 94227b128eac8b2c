"""The cells' registry and parameter formulas (models/cells.py), against built models."""

import networkx as nx
import pytest

from core.errors import SparseNASError
from graphs.dag import READOUTS, layered_dag
from graphs.generators import FAMILIES, sample_thesis
from models.cells import CELLS, GATES, check_cell, nonzero_params, recurrent_weights, stored_params
from models.data import SequenceSet, Task
from models.networks import SparseRNNClassifier, parameter_counts, planned_parameter_counts

WORKED_EDGES = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("family", FAMILIES)
def test_formulas_match_the_built_model(cell, family):
    _, graph = sample_thesis(family, 7)
    dag = layered_dag(graph)
    vocab, width, classes = 9, 5, 3
    model = SparseRNNClassifier(dag, cell, classes, vocab_size=vocab, embedding_dim=width)
    counted = parameter_counts(model)
    assert nonzero_params(dag, cell, width, classes) == counted["params_nonzero"] - vocab * width
    assert stored_params(dag, cell, width, classes) == counted["params_total"] - vocab * width
    assert recurrent_weights(dag, cell, width) == sum(
        int(getattr(model.rnn, name).count_nonzero()) for name in ("weight_in", "weight_x")
    ) + int(model.rnn.weight_h.count_nonzero())


def test_planned_counts_equal_counted_for_token_and_float_tasks():
    dag = layered_dag(nx.Graph(WORKED_EDGES))
    empty = SequenceSet.__new__(SequenceSet)
    tokens = Task(name="t", train=empty, test=empty, n_classes=2, vocab_size=7)
    floats = Task(name="f", train=empty, test=empty, n_classes=3, n_features=4)
    for task in (tokens, floats):
        model = SparseRNNClassifier.for_task(dag, "lstm", task, embedding_dim=6)
        assert planned_parameter_counts(dag, "lstm", task, embedding_dim=6) == parameter_counts(
            model
        )


def test_nonzero_params_by_hand():
    # Worked example, GRU (3 gates), E = 16, C = 2: layers 2, 1, 1, 1; 6 edges; N = 5.
    dag = layered_dag(nx.Graph(WORKED_EDGES))
    per_gate = 2 * 16 + 6 + (4 + 1 + 1 + 1) + 2 * 5
    assert nonzero_params(dag, "gru", 16, 2) == 3 * per_gate + 1 * 2 + 2
    assert recurrent_weights(dag, "gru", 16) == 3 * (2 * 16 + 6 + 7)
    with pytest.raises(SparseNASError, match="input_size must be an integer >= 1"):
        recurrent_weights(dag, "gru", 0)
    with pytest.raises(SparseNASError, match="n_classes must be an integer >= 1"):
        nonzero_params(dag, "gru", 16, 0)


def test_check_cell():
    assert [check_cell(c) for c in CELLS] == list(GATES)
    with pytest.raises(SparseNASError, match="unknown cell 'cnn'; choose one of rnn_tanh"):
        check_cell("cnn")


@pytest.mark.parametrize("readout", READOUTS)
@pytest.mark.parametrize("family", FAMILIES)
def test_formulas_match_the_built_model_for_each_readout(family, readout):
    _, graph = sample_thesis(family, 9)
    dag = layered_dag(graph)
    empty = SequenceSet.__new__(SequenceSet)
    tokens = Task(name="t", train=empty, test=empty, n_classes=3, vocab_size=7)
    floats = Task(name="f", train=empty, test=empty, n_classes=4, n_features=5)
    for task in (tokens, floats):
        model = SparseRNNClassifier.for_task(dag, "gru", task, embedding_dim=6, readout=readout)
        planned = planned_parameter_counts(dag, "gru", task, embedding_dim=6, readout=readout)
        assert planned == parameter_counts(model)
        assert model.readout.in_features == len(dag.readout_neurons(readout))


def test_the_readout_by_hand():
    # Layers 2, 1, 1, 1 of the worked example plus node 5 hanging off node 0 (layer 1, a
    # dead end): last reads node 4, sinks nodes 4 and 5, all six; GRU, E = 16, C = 2.
    dag = layered_dag(nx.Graph([*WORKED_EDGES, (0, 5)]))
    base = nonzero_params(dag, "gru", 16, 2)
    assert nonzero_params(dag, "gru", 16, 2, "sinks") == base + 1 * 2
    assert nonzero_params(dag, "gru", 16, 2, "all") == base + 5 * 2
    with pytest.raises(SparseNASError, match="readout"):
        nonzero_params(dag, "gru", 16, 2, "first")
