"""Zero-cost proxies on tiny untrained Sparse-RNNs, against worked examples and an
independent (finite-difference) gradient."""

import math

import networkx as nx
import pytest
import torch
from torch.nn import functional

from graphs.dag import layered_dag
from models.networks import SparseRNNClassifier
from models.proxies import JACOV_K, PROXIES, jacov, synflow, zero_cost_proxies


def tiny(cell="rnn_tanh", edges=((0, 1), (0, 2), (1, 3), (2, 3)), features=2, seed=0):
    dag = layered_dag(nx.Graph(list(edges)))
    return SparseRNNClassifier(dag, cell, 2, n_features=features, seed=seed).double()


def batch(seed=0, size=5, steps=3, features=2):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(size, steps, features, generator=g, dtype=torch.float64)
    lengths = torch.tensor([steps, 2, steps, 1, steps][:size])
    return inputs, lengths, torch.tensor([0, 1, 1, 0, 1][:size])


def finite_difference_gradients(model, inputs, lengths, labels, eps=1e-6):
    """dL/dw of every entry of every weight matrix, by central differences."""
    grads = {}
    for name, weight in model.named_parameters():
        if weight.dim() < 2:
            continue
        grad = torch.zeros_like(weight)
        for index in range(weight.numel()):
            with torch.no_grad():
                flat = weight.view(-1)
                keep = float(flat[index])
                flat[index] = keep + eps
                up = float(functional.cross_entropy(model(inputs, lengths), labels))
                flat[index] = keep - eps
                down = float(functional.cross_entropy(model(inputs, lengths), labels))
                flat[index] = keep
            grad.view(-1)[index] = (up - down) / (2 * eps)
        grads[name] = grad
    return grads


def test_grad_norm_and_snip_match_finite_differences():
    model = tiny()
    inputs, lengths, labels = batch()
    scores = zero_cost_proxies(model, inputs, lengths, labels)
    assert list(scores) == list(PROXIES)
    weights = dict(model.named_parameters())
    grads = finite_difference_gradients(model, inputs, lengths, labels)
    assert scores["grad_norm"] == pytest.approx(
        sum(float(g.norm()) for g in grads.values()), rel=1e-5
    )
    snip = sum(float((weights[n].detach() * g).abs().sum()) for n, g in grads.items())
    assert scores["snip"] == pytest.approx(snip, rel=1e-5)


def test_synflow_of_one_path_is_its_length_times_its_product():
    # Two nodes, one edge: input -> node 0 -> node 1 -> two logits; one step, no biases, so
    # ReLU passes the positive flow unchanged. R = |w_in| |w_x| (|r_0| + |r_1|), and each of
    # the three weights on a path contributes R: synflow = 3 R.
    model = tiny("rnn_relu", edges=((0, 1),), features=1)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 1:
                param.zero_()
    rnn = model.rnn
    w_in = float(rnn.weight_in[0, 0].detach())  # neuron 0 (layer 0) reads the input
    w_x = float(rnn.weight_x[1, 0].detach())  # neuron 1 reads neuron 0
    flow = abs(w_in) * abs(w_x) * float(model.readout.weight.detach().abs().sum())
    assert flow > 0 and synflow(model, steps=1) == pytest.approx(3 * flow, rel=1e-12)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    synflow(model, steps=1)
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())  # untouched


def test_jacov_of_a_batch_of_one_sequence_repeated():
    # Identical rows: their correlation matrix is all ones, eigenvalues B and 0 (B - 1 times).
    model = tiny()
    inputs, lengths, _ = batch()
    same = inputs[:1].repeat(4, 1, 1)
    lengths = lengths[:1].repeat(4)
    b, k = 4, JACOV_K
    expected = -(math.log(b + k) + 1 / (b + k)) - (b - 1) * (math.log(k) + 1 / k)
    assert jacov(model, same, lengths) == pytest.approx(expected, rel=1e-6)
    assert math.isnan(jacov(model, same[:1], lengths[:1]))  # one row: no correlation


def test_jacov_matches_a_jacobian_taken_per_sequence():
    model = tiny("gru")
    inputs, lengths, _ = batch(seed=3)
    rows = []
    for i in range(len(inputs)):
        x = model.encode(inputs[i : i + 1])

        def summed(x, i=i):
            return model.readout(model.rnn(x, lengths[i : i + 1])).sum()

        rows.append(torch.autograd.functional.jacobian(summed, x).reshape(-1))
    values = torch.linalg.eigvalsh(torch.corrcoef(torch.stack(rows)))
    expected = float(-(torch.log(values + JACOV_K) + 1 / (values + JACOV_K)).sum())
    assert jacov(model, inputs, lengths) == pytest.approx(expected, rel=1e-9)


def test_proxies_of_token_networks_are_finite_and_leave_no_gradient():
    dag = layered_dag(nx.watts_strogatz_graph(8, 2, 0.0, seed=0))
    model = SparseRNNClassifier(dag, "lstm", 3, vocab_size=5, seed=1)
    inputs = torch.tensor([[1, 2, 3], [4, 1, 0], [2, 2, 2]])
    scores = zero_cost_proxies(model, inputs, torch.tensor([3, 2, 3]), torch.tensor([0, 2, 1]))
    assert all(math.isfinite(v) for v in scores.values()) and scores["synflow"] > 0
    assert all(p.grad is None for p in model.parameters())
