"""Zero-cost proxies as a table's feature columns, which the predictors read."""

import networkx as nx
import pandas as pd
import pytest
import torch

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.io import edges_to_string
from models.networks import SparseRNNClassifier
from models.proxies import zero_cost_proxies
from nas.experiments.proxies import proxy_columns
from predictors import load_table
from predictors.features import PROXY_FEATURES

GRAPHS = [nx.watts_strogatz_graph(10, 4, p, seed=1) for p in (0.0, 0.2, 0.5, 0.8)]
EDGES = [edges_to_string(g) for g in GRAPHS]


def test_a_row_scores_the_tasks_untrained_network_on_its_first_batch(tiny_task):
    table = proxy_columns(EDGES, "gru", tiny_task, init_seed=3, batch_size=8)
    assert list(table.columns) == list(PROXY_FEATURES) and len(table) == 4
    model = SparseRNNClassifier.for_task(layered_dag(GRAPHS[2]), "gru", tiny_task, seed=3)
    rows = tiny_task.train.subset(torch.arange(8))
    direct = zero_cost_proxies(model, rows.inputs, rows.lengths, rows.labels)
    assert table.iloc[2].tolist() == pytest.approx(list(direct.values()))
    assert not table.iloc[0].equals(table.iloc[1])  # another graph, other scores


def test_the_predictors_read_the_proxy_columns(tiny_task):
    proxies = proxy_columns(EDGES, "rnn_tanh", tiny_task, batch_size=8)
    frame = pd.concat(
        [pd.DataFrame({"cell": "rnn_tanh", "test_acc": [0.5, 0.6, 0.7, 0.8], "status": "ok"}),
         proxies],
        axis=1,
    )  # fmt: skip
    table = load_table(frame, features="proxies")
    assert table.features == PROXY_FEATURES and table.X.shape == (4, 4)
    with pytest.raises(SparseNASError, match="no usable feature"):
        load_table(frame.drop(columns=list(PROXY_FEATURES)), features="proxies")


@pytest.mark.parametrize(
    ("edges", "cell", "batch", "message"),
    [
        ([""], "gru", 8, "no edge list"),
        (EDGES, "elman", 8, "cell"),
        (EDGES, "gru", 1, "batch_size"),
    ],
)
def test_bad_input_is_one_error(tiny_task, edges, cell, batch, message):
    with pytest.raises(SparseNASError, match=message):
        proxy_columns(edges, cell, tiny_task, batch_size=batch)
