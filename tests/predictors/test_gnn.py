"""The graph neural network predictor: its node features on a worked example, the estimator
contract, that it learns a property of the wiring, its spread, its file, its place in
``evaluate_table``."""

import io
import zipfile

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from core.errors import SparseNASError
from graphs.io import edges_to_string
from predictors import archive
from predictors.card import read_card
from predictors.gnn import GNNRegressor, node_features
from predictors.table import load_table
from predictors.validation import evaluate_table

FAST = {"hidden": 8, "epochs": 60, "n_members": 3}


def ring_graphs(count: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """WS graphs of 8..15 nodes; the target is the number of sinks of their DAG (a property
    of the wiring no single node feature states) plus a little noise."""
    rng = np.random.default_rng(seed)
    edges, target = [], []
    for i in range(count):
        graph = nx.connected_watts_strogatz_graph(int(rng.integers(8, 16)), 4, 0.5, seed=i)
        features, _ = node_features(edges_to_string(graph))
        edges.append(edges_to_string(graph))
        target.append(features[:, 5].sum() / 10 + rng.normal(0, 0.01))
    return edges, np.asarray(target)


def test_node_features_of_a_path_and_a_fork():
    features, pairs = node_features("0-1 1-2 0-3")
    # layers 0, 1, 2, 1; node 0 feeds 1 and 3, node 1 feeds 2
    assert features[:, 0].tolist() == [0, 1, 2, 1]
    assert features[:, 1].tolist() == [0, 0.5, 1, 0.5]
    assert features[:, 2].tolist() == [0, 1, 1, 1] and features[:, 3].tolist() == [2, 1, 0, 0]
    assert features[:, 4].tolist() == [1, 0, 0, 0] and features[:, 5].tolist() == [0, 0, 1, 1]
    assert sorted(map(tuple, pairs.T.tolist())) == [(0, 1), (0, 3), (1, 2)]


def test_the_estimator_contract():
    model = GNNRegressor(hidden=4, epochs=3, random_state=7)
    assert model.get_params()["hidden"] == 4 and clone(model).get_params() == model.get_params()
    with pytest.raises(NotFittedError, match="GNNRegressor"):
        model.predict(["0-1 1-2"])
    edges, y = ring_graphs(6)
    assert model.fit(edges, y) is model and model.kind_ == "gnn"
    assert model.predict(np.array(edges)[:, None]).shape == (6,)  # one-column 2-D input
    assert model.predict(pd.DataFrame({"edge_list": edges})).shape == (6,)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (["0-1 1-2", ""], [0.1, 0.2], "edge list on every row"),
        (pd.DataFrame({"graph": ["0-1"]}), [0.1], "edge_list column"),
        (["0-1 1-2", "0-1"], [0.1], "finite target"),
        (["0-1 1-2", "0-1"], [0.1, np.nan], "finite target"),
        (np.zeros((2, 2)), [0.1, 0.2], "one edge list per row"),
    ],
)
def test_bad_input_is_one_error(X, y, message):
    with pytest.raises(SparseNASError, match=message):
        GNNRegressor(**FAST).fit(X, y)


def test_it_learns_a_property_of_the_wiring_and_repeats_for_its_seed():
    edges, y = ring_graphs(90)
    model = GNNRegressor(**FAST, random_state=0).fit(edges[:60], y[:60])
    mean, std = model.predict(edges[60:], return_std=True)
    assert kendalltau(mean, y[60:])[0] > 0.6
    assert (std > 0).all()  # the members disagree a little
    again = GNNRegressor(**FAST, random_state=0).fit(edges[:60], y[:60]).predict(edges[60:])
    other = GNNRegressor(**FAST, random_state=1).fit(edges[:60], y[:60]).predict(edges[60:])
    assert np.array_equal(mean, again) and not np.allclose(mean, other)


def test_the_file_holds_tensors_only_and_predicts_the_same(tmp_path):
    edges, y = ring_graphs(12)
    model = GNNRegressor(**FAST, random_state=0).fit(edges, y)
    path = tmp_path / "gnn.zip"
    archive.write_archive(path, {"rows": 12}, model)
    with zipfile.ZipFile(path) as zipped:
        assert sorted(zipped.namelist()) == [archive.CARD, archive.GNN_TENSORS]
        tensors = torch.load(io.BytesIO(zipped.read(archive.GNN_TENSORS)), weights_only=True)
        assert all(isinstance(v, torch.Tensor) for v in tensors.values())
        card = read_card(zipped, "f")
        loaded = archive.read_estimator(zipped, card, "f")
    assert np.array_equal(loaded.predict(edges), model.predict(edges))
    card["gnn_params"]["hidden"] = 16  # settings the tensors do not fit
    with zipfile.ZipFile(path) as zipped, pytest.raises(SparseNASError, match="do not fit"):
        archive.read_estimator(zipped, card, "f")


class FastGNN(GNNRegressor):
    """The gnn kind at test size (evaluate_table builds it with its defaults)."""

    def __init__(self, hidden=8, epochs=60, lr=0.01, weight_decay=1e-4, n_members=3,
                 random_state=None):  # fmt: skip
        super().__init__(hidden, epochs, lr, weight_decay, n_members, random_state)


def test_evaluate_table_cross_validates_the_gnn_beside_the_others(monkeypatch):
    monkeypatch.setattr("predictors.gnn.GNNRegressor", FastGNN)
    edges, y = ring_graphs(40)
    frame = pd.DataFrame({"edge_list": edges, "test_acc": y, "cell": "gru", "status": "ok"})
    table = load_table(frame, features="size")
    report = evaluate_table(table, ["gnn", "extratrees"], cv=3, repeats=1, n_estimators=20,
                            importance=False)  # fmt: skip
    assert set(report.models) == {"gnn", "extratrees"}
    assert report.models["gnn"].failed_folds == 0
    assert np.isfinite(report.models["gnn"].fold_scores["kendall_tau"]).all()
    without = load_table(frame.drop(columns="edge_list").assign(nodes=8, edges=16), features="size")
    with pytest.raises(SparseNASError, match="no edge_list"):
        evaluate_table(without, ["gnn"], cv=3, repeats=1, importance=False)


def test_a_gnn_predictor_file_is_not_trained_yet():
    from predictors.persistence import fit_predictor

    edges, y = ring_graphs(12)
    frame = pd.DataFrame({"edge_list": edges, "test_acc": y, "cell": "gru", "status": "ok"})
    with pytest.raises(SparseNASError, match="predictor eval --models gnn"):
        fit_predictor(load_table(frame, features="size"), "gnn")
