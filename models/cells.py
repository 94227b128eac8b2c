"""The four recurrent cells: their names, gate blocks and the Sparse-RNN's parameter counts.

Torch-free, so that the predictors (which compute ``params_nonzero`` as a feature) and the
command line can use it without loading PyTorch. The cells' math lives with the networks
that run it: ``models.sparse_rnn.cell_update`` (the reference, equal to PyTorch's
``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``), and the engine's two recurrences, which the tests
hold equal to it.
"""

from __future__ import annotations

from core.checks import check_choice, check_int
from graphs.dag import LayeredDAG

#: Gate blocks per cell, in PyTorch's order: GRU (r, z, n), LSTM (i, f, g, o).
GATES: dict[str, int] = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}
CELLS: tuple[str, ...] = tuple(GATES)

DEFAULT_EMBEDDING_DIM = 32
"""Width of the token embedding that feeds layer 0 (the input size ``E`` below)."""


def check_cell(cell: object) -> str:
    """Return ``cell`` if known, else raise with the allowed names."""
    return check_choice(cell, "cell", CELLS)


def recurrent_weights(dag: LayeredDAG, cell: str, input_size: int) -> int:
    """Nonzero recurrent weights of the Sparse-RNN wired by ``dag`` (no biases, embedding or
    readout): ``G (n_0 E + edges + sum_l n_l^2)``, per gate block its input projection into
    layer 0, one weight per DAG edge (skip edges included) and the dense recurrence inside
    each layer."""
    gates = GATES[check_cell(cell)]
    check_int(input_size, "input_size", low=1)
    sizes = dag.layer_sizes
    return gates * (sizes[0] * input_size + len(dag.edges) + sum(s * s for s in sizes))


def nonzero_params(
    dag: LayeredDAG, cell: str, input_size: int, n_classes: int, readout: str = "last"
) -> int:
    """Nonzero parameters of the Sparse-RNN wired by ``dag``, without the embedding table:
    ``recurrent_weights`` plus two bias vectors per gate block (``2 G N``) and the linear
    read-out of the ``readout`` neurons (``R C + C``; graphs.dag.READOUTS).
    ``models.networks.parameter_counts(model)["params_nonzero"]`` counts the same on a built
    model (plus the embedding)."""
    biases = 2 * GATES[check_cell(cell)] * dag.n_nodes
    return recurrent_weights(dag, cell, input_size) + biases + _readout(dag, n_classes, readout)


def stored_params(
    dag: LayeredDAG, cell: str, input_size: int, n_classes: int, readout: str = "last"
) -> int:
    """Every stored weight of the Sparse-RNN wired by ``dag`` (masked ones included), without
    the embedding table: the dense ``(G N, E)``, ``(G N, N)`` and ``(G N, N)`` matrices, two
    bias vectors and the read-out (``parameter_counts(model)["params_total"]``)."""
    gates, n = GATES[check_cell(cell)], dag.n_nodes
    check_int(input_size, "input_size", low=1)
    return gates * n * (input_size + 2 * n + 2) + _readout(dag, n_classes, readout)


def _readout(dag: LayeredDAG, n_classes: int, readout: str) -> int:
    """Weights and biases of the linear read-out of the ``readout`` neurons: ``R C + C``."""
    check_int(n_classes, "n_classes", low=1)
    return len(dag.readout_neurons(readout)) * n_classes + n_classes
