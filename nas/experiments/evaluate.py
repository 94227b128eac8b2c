"""Evaluate one topology: graph -> layered DAG -> Sparse-RNN -> trained accuracy + properties.

The record it returns is one row of the evaluations table (docs/data-formats.md):
graph properties, parameter counts, training outcome and the edge list, all plain JSON values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import networkx as nx

from graphs.checks import check_int
from graphs.dag import layered_dag
from graphs.errors import SparseNASError
from graphs.io import edges_to_string
from graphs.properties import graph_properties
from graphs.seeds import child_seeds
from models.cells import DEFAULT_EMBEDDING_DIM, check_cell
from models.data import Task
from models.engine import EpochCallback, train_many
from models.networks import SparseRNNClassifier, planned_parameter_counts
from models.training import EpochMetrics, TrainSpec


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
    callback = None if on_epoch is None else (lambda _index, metrics: on_epoch(metrics))
    records, _ = evaluate_many(
        [graph], cell, task, train, seeds=[seed], embedding_dim=embedding_dim, on_epoch=callback
    )
    return records[0]


def evaluate_many(
    graphs: Sequence[nx.Graph],
    cell: str,
    task: Task,
    train: TrainSpec,
    *,
    seeds: Sequence[int],
    embedding_dim: int = DEFAULT_EMBEDDING_DIM,
    slots: int | None = None,
    on_epoch: EpochCallback | None = None,
    keep_models: bool = False,
) -> tuple[list[dict[str, object]], list[SparseRNNClassifier | None]]:
    """Train one Sparse-RNN per graph together (models.engine) and describe each result.

    Graph i is trained exactly as alone with ``seeds[i]`` (weights and batch order); graphs
    sharing a seed share their mini-batches, which is what makes training them together cheap.
    Returns the records in input order and, with ``keep_models``, the trained networks.
    """
    check_cell(cell)
    if slots is not None:
        check_int(slots, "batch_candidates", low=1)
    if len(seeds) != len(graphs):
        raise SparseNASError(f"need one seed per graph (got {len(seeds)} for {len(graphs)})")
    dags = [layered_dag(graph) for graph in graphs]
    properties = [graph_properties(graph, dag) for graph, dag in zip(graphs, dags, strict=True)]
    derived = [child_seeds(seed, 2) for seed in seeds]
    results, models = train_many(
        dags,
        cell,
        task,
        train,
        init_seeds=[init for init, _ in derived],
        order_seeds=[order for _, order in derived],
        embedding_dim=embedding_dim,
        slots=slots,
        on_epoch=on_epoch,
        keep_models=keep_models,
    )
    records = []
    for i, result in enumerate(results):
        summary = result.summary()
        history = summary.pop("history")
        counts = planned_parameter_counts(dags[i], cell, task, embedding_dim=embedding_dim)
        records.append(
            {
                "cell": cell,
                "task": task.name,
                "train_seed": seeds[i],
                **summary,
                **counts,
                "layer_sizes": " ".join(str(size) for size in dags[i].layer_sizes),
                **properties[i],
                "edge_list": edges_to_string(graphs[i]),
                "history": history,
            }
        )
    return records, models
