"""The engine tests' graphs (different sizes, layer counts and skip spans, so padding and
layer shifts are exercised) and the map between a stack's flat layout and its networks."""

import torch

from graphs.dag import layered_dag
from graphs.generators import barabasi_albert, erdos_renyi, watts_strogatz
from models.engine import StackedSparseRNN
from models.engine.drive import layout_views
from models.networks import SparseRNNClassifier

GRAPHS = [
    watts_strogatz(12, 4, 1.0, seed=1),
    barabasi_albert(9, 2, seed=1),
    erdos_renyi(14, 0.3, seed=2),
]


def stack_dags():
    dags = [layered_dag(g) for g in GRAPHS]
    assert len({d.n_layers for d in dags}) > 1 and len({d.n_nodes for d in dags}) > 1
    return dags


def unpad(weight, gates, n, width, cols=None):
    """A stacked (G*width, ...) weight cut back to its network's (G*n, ...) rows."""
    blocks = weight.reshape(gates, width, *weight.shape[1:])[:, :n]
    blocks = blocks.reshape(gates * n, *weight.shape[1:])
    return blocks if cols is None else blocks[..., :cols]


def reference_params(model: SparseRNNClassifier) -> dict[str, torch.Tensor]:
    """Each of the model's parameters under the stack's name for it; checks none is left out."""
    rnn = model.rnn
    originals = rnn.parametrizations
    params = {
        "weight_in": originals.weight_in.original,
        "weight_x": originals.weight_x.original,
        "weight_h": originals.weight_h.original,
        "bias_x": rnn.bias_x,
        "bias_h": rnn.bias_h,
        "readout_w": model.readout.weight,
        "readout_b": model.readout.bias,
    }
    if model.embedding is not None:
        params["embedding"] = model.embedding.weight
    assert {id(p) for p in params.values()} == {id(p) for p in model.parameters()}
    return params


def slot_values(stack: StackedSparseRNN, flat: torch.Tensor, row: int, model) -> dict:
    """Candidate ``row``'s share of a (K, total) tensor in the stack's flat layout, cut back
    to the shapes of its own network's parameters."""
    t = layout_views(flat, stack.layout)
    g, width, n = stack.gates, stack.neurons, model.rnn.n_neurons
    read = list(model.rnn.readout_neurons)
    values = {
        "weight_in": unpad(t["weight_in"][row], g, n, width),
        "weight_x": unpad(t["weight_x"][row], g, n, width, n),
        "weight_h": unpad(t["weight_h"][row], g, n, width, n),
        "bias_x": unpad(t["bias_x"][row][:, None], g, n, width)[:, 0],
        "bias_h": unpad(t["bias_h"][row][:, None], g, n, width)[:, 0],
        "readout_w": t["readout_w"][row][:, read],
        "readout_b": t["readout_b"][row],
    }
    if "embedding" in t:
        values["embedding"] = t["embedding"][row]
    return values
