"""The feature row of a graph and a cell (predictors/features.py)."""

import networkx as nx
import pytest

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.properties import PROPERTY_NAMES
from graphs.spectral import EXTENDED_FEATURES
from models.cells import DEFAULT_EMBEDDING_DIM, nonzero_params
from predictors.features import ALL, feature_row

WORKED_EDGES = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def test_feature_row():
    graph = nx.Graph(WORKED_EDGES)
    row = feature_row(graph, "lstm")
    extended = [name for name in EXTENDED_FEATURES if name != "dead_end_nodes"]
    assert list(row) == [*PROPERTY_NAMES, *extended, "params_nonzero"]
    assert set(row) == set(ALL)
    dag = layered_dag(graph)
    assert row["params_nonzero"] == nonzero_params(dag, "lstm", DEFAULT_EMBEDDING_DIM, 2)
    assert row["params_nonzero"] != feature_row(graph, "gru")["params_nonzero"]
    assert row["dead_end_nodes"] == 0.0
    with pytest.raises(SparseNASError, match="unknown cell 'cnn'"):
        feature_row(graph, "cnn")
