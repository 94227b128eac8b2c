"""A tiny pruning spec and a worked graph shared by the pruning experiment's tests."""

from nas.experiments.prune_spec import PruneSpec

WORKED = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def tiny_spec(**changes):
    values = dict(epochs=1, retrain_epochs=2, batch_size=16, hidden_size=4, num_layers=2)
    values.update(changes)
    return PruneSpec(**values, device="cpu")
