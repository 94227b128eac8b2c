"""The time-unfolded bipartite layers (models.expansion.unfolded_expansion), on masks set
by hand and checked against the unfolded graph built edge by edge."""

import numpy as np
import pytest
import torch

from core.errors import SparseNASError
from models.expansion import bipartite_expansion, unfolded_expansion
from models.networks import DenseRNNClassifier
from models.pruning import install_masks, prunable_weights


def model_with(cell, masks, hidden=4, features=3, layers=1):
    model = DenseRNNClassifier(
        cell, 2, n_features=features, hidden_size=hidden, num_layers=layers, seed=0
    )
    weights = prunable_weights(model, "both")
    install_masks(weights, [torch.tensor(m, dtype=torch.float32) for m in masks])
    return model


def unfolded_paths(ih, hh, span):
    """Units reached from x_{t-span+1} and from h_{t-span}: walk the unfolded graph."""
    units, inputs = hh.shape[0], ih.shape[1]
    x_reach = np.zeros((units, inputs), bool)
    h_reach = np.zeros((units, units), bool)
    for source in range(inputs):
        frontier = set(np.flatnonzero(ih[:, source]))
        for _ in range(span - 1):
            frontier = {u for v in frontier for u in np.flatnonzero(hh[:, v])}
        x_reach[list(frontier), source] = True
    for source in range(units):
        frontier = {source}
        for _ in range(span):
            frontier = {u for v in frontier for u in np.flatnonzero(hh[:, v])}
        h_reach[list(frontier), source] = True
    return x_reach, h_reach


def test_an_rnn_unfolds_into_its_two_matrices_side_by_side_and_their_paths():
    rng = np.random.default_rng(0)
    ih = rng.random((4, 3)) < 0.4
    hh = np.roll(np.eye(4, dtype=bool), 1, axis=0)  # unit j feeds unit j + 1: a cycle
    model = model_with("rnn_tanh", [ih, hh])
    rows = unfolded_expansion(model, spans=(1, 2, 3))
    step = next(r for r in rows if r["kind"] == "step")
    assert step == {
        "layer": 0,
        "kind": "step",
        "span": 1,
        **bipartite_expansion(np.hstack([ih, hh])),
    }
    for span in (1, 2, 3):
        x_reach, h_reach = unfolded_paths(ih, hh, span)
        got = {r["kind"]: r for r in rows if r["span"] == span and r["kind"] != "step"}
        assert got["x->h"]["edges"] == x_reach.sum()
        assert {k: got["x->h"][k] for k in ("s1", "s2")} == pytest.approx(
            {k: bipartite_expansion(x_reach)[k] for k in ("s1", "s2")}
        )
        assert got["h->h"] == {
            "layer": 0,
            "kind": "h->h",
            "span": span,
            **bipartite_expansion(h_reach),
        }
    # a permutation's powers are permutations: every span's h->h is a perfect matching
    assert {r["edges"] for r in rows if r["kind"] == "h->h"} == {4.0}


def test_gates_merge_into_units_and_the_step_keeps_them_stacked():
    hidden, features = 2, 2
    ih = np.zeros((3 * hidden, features), bool)  # gru: gates r, z, n of 2 units
    ih[0, 0] = True  # unit 0's r gate reads input 0
    ih[hidden + 0, 1] = True  # unit 0's z gate reads input 1
    ih[2 * hidden + 1, 1] = True  # unit 1's n gate reads input 1
    hh = np.ones((3 * hidden, hidden), bool)
    model = model_with("gru", [ih, hh], hidden=hidden, features=features)
    rows = unfolded_expansion(model)
    x_to_h = next(r for r in rows if r["kind"] == "x->h")
    assert x_to_h["edges"] == 3 and x_to_h["outputs"] == hidden and x_to_h["inputs"] == features
    step = next(r for r in rows if r["kind"] == "step")
    assert step["outputs"] == 3 * hidden and step["inputs"] == features + hidden
    assert step["edges"] == 3 + 3 * hidden * hidden


def test_every_layer_of_a_stack_and_a_dense_model_is_complete():
    model = DenseRNNClassifier("lstm", 2, n_features=3, hidden_size=4, num_layers=2, seed=0)
    rows = unfolded_expansion(model, spans=(1, 2))
    assert sorted({r["layer"] for r in rows}) == [0, 1]
    assert all(r["density"] == 1.0 and r["expander"] == 1.0 for r in rows)
    assert next(r for r in rows if r["layer"] == 1 and r["kind"] == "step")["inputs"] == 8


@pytest.mark.parametrize("span", [0, -1, 1.5])
def test_bad_spans_are_rejected(span):
    model = DenseRNNClassifier("rnn_tanh", 2, n_features=3, hidden_size=4, seed=0)
    with pytest.raises(SparseNASError, match="span"):
        unfolded_expansion(model, spans=(span,))
