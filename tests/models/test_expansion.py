"""Expansion of pruned layers: bipartite measures, the same math as the graph features."""

import math

import networkx as nx
import numpy as np
import pytest
import torch

from graphs.spectral import spectral_features
from models.expansion import (
    EXPANSION_MEASURES,
    bipartite_expansion,
    expansion_summary,
    layer_expansion,
)
from models.networks import DenseRNNClassifier
from models.pruning import prune_magnitude


def test_complete_bipartite_layer_is_an_expander():
    values = bipartite_expansion(torch.ones(6, 4))  # 4 inputs -> 6 outputs
    assert list(values) == list(EXPANSION_MEASURES)
    assert values["s1"] == pytest.approx(math.sqrt(24))
    assert values["s2"] == pytest.approx(0.0, abs=1e-9)
    assert values["ramanujan_bound"] == pytest.approx(math.sqrt(5) + math.sqrt(3))
    assert values["expander"] == 1.0 and values["components"] == 1.0
    assert values["density"] == 1.0
    assert values["isolated_inputs"] == values["isolated_outputs"] == 0.0


def test_fully_pruned_layer_has_no_edges_and_no_expansion():
    values = bipartite_expansion(np.zeros((3, 2)))
    assert values["edges"] == 0.0 and values["expander"] == 0.0
    assert values["components"] == 5.0
    assert values["isolated_inputs"] == 2.0 and values["isolated_outputs"] == 3.0


def test_disconnected_blocks_are_counted():
    mask = torch.zeros(4, 4)
    mask[:2, :2] = 1
    mask[2:, 2:] = 1
    values = bipartite_expansion(mask)
    assert values["components"] == 2.0
    assert values["s2"] == pytest.approx(values["s1"])  # two equal blocks: no gap
    assert values["spectral_gap"] == pytest.approx(0.0, abs=1e-9)


def test_matches_the_graph_features_of_a_two_layer_graph():
    # layer 0 = {0, 1, 2}, layer 1 = {3, 4}; edges 0-3, 1-3, 1-4, 2-4
    graph = nx.Graph([(0, 3), (1, 3), (1, 4), (2, 4)])
    features = spectral_features(graph)
    mask = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])  # outputs x inputs
    values = bipartite_expansion(mask)
    assert values["s1"] == pytest.approx(features["bipartite_s1_min"])
    assert values["s2"] == pytest.approx(features["bipartite_s2_min"])
    assert values["spectral_gap"] == pytest.approx(features["bipartite_gap_min"])
    assert values["ramanujan_gap"] == pytest.approx(features["ramanujan_gap_min"])


@pytest.mark.parametrize("cell, gates", [("rnn_tanh", 1), ("gru", 3), ("lstm", 4)])
def test_layer_expansion_rows_per_matrix_and_per_gate(cell, gates):
    model = DenseRNNClassifier(
        cell, 2, vocab_size=5, embedding_dim=3, hidden_size=4, num_layers=2, seed=0
    )
    prune_magnitude(model, "both", 0.5)
    rows = layer_expansion(model, "both")
    assert [r["name"] for r in rows] == [
        "rnn.weight_ih_l0",
        "rnn.weight_hh_l0",
        "rnn.weight_ih_l1",
        "rnn.weight_hh_l1",
    ]
    assert rows[0]["inputs"] == 3 and rows[0]["outputs"] == gates * 4
    assert sum(r["edges"] for r in rows) == pytest.approx(
        0.5 * sum(r["inputs"] * r["outputs"] for r in rows)
    )
    per_gate = layer_expansion(model, "h2h", per_gate=True)
    assert len(per_gate) == 2 * gates and all(r["outputs"] == 4 for r in per_gate)
    summary = expansion_summary(rows)
    assert 0.0 <= summary["expander_fraction"] <= 1.0
    assert summary["ramanujan_gap_min"] <= summary["ramanujan_gap_mean"]
