"""Small dense models and helpers shared by the pruning tests (tests/models/test_pruning_*.py)."""

import torch

from models.networks import DenseRNNClassifier
from models.pruning import prunable_weights

CELLS = ["rnn_tanh", "rnn_relu", "gru", "lstm"]


def tiny_dense(cell="gru", seed=0, hidden=4, layers=2):
    return DenseRNNClassifier(
        cell, 2, vocab_size=6, embedding_dim=3, hidden_size=hidden, num_layers=layers, seed=seed
    )


def batch():
    generator = torch.Generator().manual_seed(5)
    inputs = torch.randint(1, 6, (7, 5), generator=generator)
    return inputs, torch.full((7,), 5)


def worked_model():
    """rnn_tanh, 2 layers x 2 units, 2-wide embedding: four 2x2 recurrent matrices whose
    magnitudes are 1..16 (/ 100), signs alternating. Layer 1 holds the smallest ones, so a
    per-layer threshold and the global one disagree."""
    model = DenseRNNClassifier(
        "rnn_tanh", 2, vocab_size=4, embedding_dim=2, hidden_size=2, num_layers=2, seed=0
    )
    values = {
        "weight_ih_l0": [[9, -13], [11, -15]],
        "weight_hh_l0": [[-10, 14], [-12, 16]],
        "weight_ih_l1": [[1, -5], [3, -7]],
        "weight_hh_l1": [[-2, 6], [-4, 8]],
    }
    with torch.no_grad():
        for name, rows in values.items():
            getattr(model.rnn, name).copy_(torch.tensor(rows, dtype=torch.float32) / 100)
    return model


def masks_of(model, target="all"):
    return {
        w.name: (
            w.module._buffers[f"{w.attr}_mask"].clone()
            if f"{w.attr}_mask" in w.module._buffers
            else None
        )
        for w in prunable_weights(model, target)
    }
