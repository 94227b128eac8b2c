"""The whole pruning experiment (nas/experiments/prune.py): a gradual run with a match."""

import math

import networkx as nx
import pytest
from prune_fixtures import WORKED, tiny_spec

from graphs.dag import layered_dag
from models.cells import recurrent_weights
from nas.experiments.prune import (
    planned_epochs,
    run_prune,
)


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
