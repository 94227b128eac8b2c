"""Evaluate one topology: graph -> layered DAG -> Sparse-RNN -> trained accuracy + properties.

The record it returns is one row of the evaluations table (see the README's data formats):
graph properties, parameter counts, training outcome and the edge list, all plain JSON values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import networkx as nx
import numpy as np

from graphs.dag import layered_dag
from graphs.io import edges_to_string
from graphs.properties import graph_properties
from models.data import Task
from models.networks import DEFAULT_EMBEDDING_DIM, SparseRNNClassifier, parameter_counts
from models.training import EpochMetrics, TrainSpec, train_model


def child_seeds(seed: int | Sequence[int], count: int) -> list[int]:
    """Independent integer seeds derived from ``seed`` (numpy SeedSequence.spawn)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(count)]


def evaluate_graph(
    graph: nx.Graph,
    cell: str,
    task: Task,
    train: TrainSpec,
    *,
    seed: int = 0,
    embedding_dim: int = DEFAULT_EMBEDDING_DIM,
    on_epoch: Callable[[EpochMetrics], bool | None] | None = None,
) -> dict[str, object]:
    """Train the Sparse-RNN wired by ``graph`` on ``task`` and describe the result.

    ``seed`` fixes the weight initialisation and the mini-batch order.
    """
    dag = layered_dag(graph)
    properties = graph_properties(graph, dag)
    init_seed, order_seed = child_seeds(seed, 2)
    model = SparseRNNClassifier(
        dag,
        cell,
        task.n_classes,
        vocab_size=task.vocab_size,
        n_features=task.n_features,
        embedding_dim=embedding_dim,
        seed=init_seed,
    )
    result = train_model(model, task, train, seed=order_seed, on_epoch=on_epoch)
    summary = result.summary()
    history = summary.pop("history")
    return {
        "cell": cell,
        "task": task.name,
        "train_seed": seed,
        **summary,
        **parameter_counts(model),
        "layer_sizes": " ".join(str(size) for size in dag.layer_sizes),
        **properties,
        "edge_list": edges_to_string(graph),
        "history": history,
    }
