"""The equal-sparsity match (nas/experiments/prune_match.py): weight counts, too large graphs."""

import networkx as nx
import pytest
from prune_fixtures import WORKED, tiny_spec

from core.errors import SparseNASError
from graphs.dag import layered_dag
from models.cells import recurrent_weights
from models.networks import SparseRNNClassifier, parameter_counts
from models.pruning import count_pruned
from nas.experiments.prune import (
    build_dense,
    dense_recurrent_weights,
    run_prune,
)


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


def test_a_graph_larger_than_the_dense_model_is_rejected_before_training(tiny_task):
    spec = tiny_spec(hidden_size=1, num_layers=1, percents=())
    with pytest.raises(SparseNASError, match="more than the dense model"):
        run_prune(spec, tiny_task, graph=nx.complete_graph(12))
