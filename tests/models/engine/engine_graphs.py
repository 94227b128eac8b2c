"""The engine tests' graphs: different sizes, layer counts and skip spans, so padding and
layer shifts are exercised."""

from graphs.dag import layered_dag
from graphs.generators import barabasi_albert, erdos_renyi, watts_strogatz

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
