"""The Sparse-RNN: fast path vs reference oracle, vs PyTorch's dense cells, masks, counts."""

import networkx as nx
import pytest
import torch
from torch import nn

from graphs.dag import layered_dag
from graphs.generators import barabasi_albert, erdos_renyi, watts_strogatz
from models.cells import CELLS
from models.networks import DenseRNNClassifier, SparseRNNClassifier, parameter_counts
from models.training import TrainSpec, train_model

FAMILY_GRAPHS = {
    "ws": lambda seed: watts_strogatz(16, 4, 1.0, seed=seed),
    "ba": lambda seed: barabasi_albert(16, 2, seed=seed),
    "er": lambda seed: erdos_renyi(16, 0.3, seed=seed),
}
WORKED_EXAMPLE = nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)])


def _batch(seed: int = 0, batch: int = 5, steps: int = 7):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randint(1, 12, (batch, steps), generator=generator)
    lengths = torch.tensor([steps, 1, 3, steps - 1, 4][:batch])
    return inputs, lengths


def _torch_layer(cell: str, input_size: int, hidden_size: int) -> nn.RNNBase:
    if cell.startswith("rnn_"):
        return nn.RNN(input_size, hidden_size, nonlinearity=cell[4:], batch_first=True)
    return {"gru": nn.GRU, "lstm": nn.LSTM}[cell](input_size, hidden_size, batch_first=True)


@pytest.mark.parametrize("cell", CELLS)
def test_fully_connected_two_layer_graph_equals_torch_dense_layers(cell):
    """K(2,3): nodes 0,1 feed all of 2,3,4, so the Sparse-RNN is a dense 2-layer RNN of
    widths 2 and 3; torch's own cells with the same weights must give the same outputs."""
    graph = nx.complete_bipartite_graph(2, 3)
    dag = layered_dag(graph)
    assert dag.layer_sizes == (2, 3)
    model = SparseRNNClassifier(dag, cell, n_classes=2, n_features=3, seed=4)
    rnn = model.rnn
    gates = rnn.gates
    first, second = _torch_layer(cell, 3, 2), _torch_layer(cell, 2, 3)
    rows0 = torch.cat([torch.arange(0, 2) + g * 5 for g in range(gates)])
    rows1 = torch.cat([torch.arange(2, 5) + g * 5 for g in range(gates)])
    with torch.no_grad():
        first.weight_ih_l0.copy_(rnn.weight_in[rows0])
        first.weight_hh_l0.copy_(rnn.weight_h[rows0][:, 0:2])
        first.bias_ih_l0.copy_(rnn.bias_x[rows0])
        first.bias_hh_l0.copy_(rnn.bias_h[rows0])
        second.weight_ih_l0.copy_(rnn.weight_x[rows1][:, 0:2])
        second.weight_hh_l0.copy_(rnn.weight_h[rows1][:, 2:5])
        second.bias_ih_l0.copy_(rnn.bias_x[rows1])
        second.bias_hh_l0.copy_(rnn.bias_h[rows1])
    inputs = torch.randn(4, 6, 3, generator=torch.Generator().manual_seed(0))
    lengths = torch.full((4,), 6)
    expected = second(first(inputs)[0])[0][:, -1]
    torch.testing.assert_close(rnn(inputs, lengths), expected, atol=1e-6, rtol=1e-5)


def test_masked_weights_stay_exactly_zero_after_training_steps():
    dag = layered_dag(watts_strogatz(12, 4, 1.0, seed=0))
    model = SparseRNNClassifier(dag, "gru", n_classes=2, vocab_size=12, seed=0)
    masks = {
        name: getattr(model.rnn.parametrizations, name)[0].mask
        for name in ("weight_in", "weight_x", "weight_h")
    }
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    inputs, lengths = _batch()
    for _ in range(5):
        loss = model(inputs, lengths).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for name, mask in masks.items():
        effective = getattr(model.rnn, name)
        original = getattr(model.rnn.parametrizations, name).original
        assert torch.all(effective[mask == 0] == 0), name
        assert torch.all(original[mask == 0] == 0), name
        assert torch.any(effective[mask == 1] != 0), name


def test_worked_example_structure_and_parameter_counts():
    dag = layered_dag(WORKED_EXAMPLE)
    assert dag.layer_of == (0, 0, 1, 2, 3)
    model = SparseRNNClassifier(dag, "rnn_tanh", n_classes=2, vocab_size=5, embedding_dim=3)
    # embedding 5*3; weight_in 5x3 (layer 0 = 2 nodes -> 6 nonzero); weight_x 5x5 (6 edges);
    # weight_h 5x5 (layer blocks 2x2 + 1 + 1 + 1 = 7); biases 2*5; readout 1*2 + 2.
    total = 15 + 15 + 25 + 25 + 10 + 4
    nonzero = 15 + 6 + 6 + 7 + 10 + 4
    assert parameter_counts(model) == {"params_total": total, "params_nonzero": nonzero}
    gru = SparseRNNClassifier(dag, "gru", n_classes=2, vocab_size=5, embedding_dim=3)
    assert parameter_counts(gru)["params_nonzero"] == 15 + 3 * (6 + 6 + 7 + 10) + 4


def test_dead_ends_are_sinks_before_the_last_layer():
    # 0->1->2->3 is the spine; node 4 hangs off node 0 only (layer 1, no successor).
    dag = layered_dag(nx.Graph([(0, 1), (1, 2), (2, 3), (0, 4)]))
    assert dag.layer_of == (0, 1, 2, 3, 1)
    assert dag.dead_ends == (4,)


def test_state_dict_round_trip_keeps_outputs_and_masks():
    dag = layered_dag(barabasi_albert(10, 2, seed=5))
    model = SparseRNNClassifier(dag, "lstm", n_classes=2, vocab_size=12, seed=2)
    state = model.state_dict()
    assert any(key.endswith("mask") for key in state)
    clone = SparseRNNClassifier(dag, "lstm", n_classes=2, vocab_size=12, seed=99)
    clone.load_state_dict(state)
    inputs, lengths = _batch()
    torch.testing.assert_close(clone(inputs, lengths), model(inputs, lengths))


def test_same_seed_same_weights_different_seed_different_weights():
    dag = layered_dag(watts_strogatz(10, 4, 0.5, seed=1))
    first = SparseRNNClassifier(dag, "gru", n_classes=2, vocab_size=12, seed=7)
    again = SparseRNNClassifier(dag, "gru", n_classes=2, vocab_size=12, seed=7)
    other = SparseRNNClassifier(dag, "gru", n_classes=2, vocab_size=12, seed=8)
    for a, b in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not all(
        torch.equal(a, c) for a, c in zip(first.parameters(), other.parameters(), strict=True)
    )


@pytest.mark.parametrize("cell", CELLS)
def test_dense_base_model_is_the_thesis_shape(cell):
    model = DenseRNNClassifier(cell, n_classes=2, vocab_size=27)
    assert model.rnn.num_layers == 3 and model.rnn.hidden_size == 50
    inputs, lengths = _batch()
    assert model(inputs, lengths).shape == (5, 2)
    gates = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}[cell]
    recurrent = gates * (50 * 32 + 50 * 50 + 100) + 2 * gates * (50 * 50 + 50 * 50 + 100)
    counts = parameter_counts(model)
    assert counts["params_total"] == counts["params_nonzero"] == 27 * 32 + recurrent + 102


def test_unknown_cell_is_a_clear_error():
    from core.errors import SparseNASError

    with pytest.raises(SparseNASError, match="unknown cell 'gruu'"):
        SparseRNNClassifier(layered_dag(WORKED_EXAMPLE), "gruu", n_classes=2, vocab_size=5)


def test_training_with_all_masks_stays_sparse_and_learns(tiny_task):
    dag = layered_dag(watts_strogatz(10, 4, 1.0, seed=0))
    model = SparseRNNClassifier(dag, "gru", n_classes=2, vocab_size=tiny_task.vocab_size)
    before = parameter_counts(model)
    result = train_model(model, tiny_task, TrainSpec(epochs=3, batch_size=16, lr=0.01))
    assert result.status == "ok"
    assert parameter_counts(model) == before
    assert result.history[-1].train_loss < result.history[0].train_loss


@pytest.mark.parametrize("cell", CELLS)
def test_each_readout_reads_its_neurons_at_each_rows_own_end(cell):
    """The read-out sees each neuron's state once it has read the row's last input: a row
    equals its own prefix run alone, and sinks and last are columns of all."""
    dag = layered_dag(nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (0, 5)]))
    inputs, lengths = _batch()
    outputs = {}
    for readout in ("last", "sinks", "all"):
        model = SparseRNNClassifier(dag, cell, 2, vocab_size=12, embedding_dim=4, readout=readout)
        with torch.no_grad():
            outputs[readout] = model.rnn(model.encode(inputs), lengths)
            for row, length in enumerate(lengths.tolist()):
                prefix = model.encode(inputs[row : row + 1, :length])
                alone = model.rnn(prefix, torch.tensor([length]))
                torch.testing.assert_close(outputs[readout][row], alone[0])
    for readout in ("last", "sinks"):
        columns = list(dag.readout_neurons(readout))
        torch.testing.assert_close(outputs[readout], outputs["all"][:, columns])
    assert outputs["sinks"].shape[1] == 2 and outputs["all"].shape[1] == 6
