"""Evaluate one topology: graph -> layered DAG -> Sparse-RNN -> trained accuracy + properties.

The record it returns is one row of the evaluations table (docs/data-formats.md):
graph properties, parameter counts, training outcome and the edge list, all plain JSON values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import networkx as nx

from core.checks import check_int
from core.errors import SparseNASError
from core.seeds import child_seeds
from graphs.dag import LayeredDAG, layered_dag
from graphs.io import edges_to_string
from graphs.properties import graph_properties
from models.cells import DEFAULT_EMBEDDING_DIM, check_cell
from models.data import Task
from models.engine import Candidate, EpochCallback, train_many, train_stream
from models.networks import SparseRNNClassifier, planned_parameter_counts
from models.training import EpochMetrics, TrainResult, TrainSpec


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
    records = [
        describe(graph, dag, cell, task, seed, result, embedding_dim)
        for graph, dag, seed, result in zip(graphs, dags, seeds, results, strict=True)
    ]
    return records, models


#: Asked with the number of free slots: up to that many ``(key, graph, seed)`` to start now.
GraphFeed = Callable[[int], Sequence[tuple[int, nx.Graph, int]]]
#: Told each ended network's key, record and (with ``keep_models``) trained module.
RecordCallback = Callable[[int, dict[str, object], "SparseRNNClassifier | None"], None]


def evaluate_stream(
    feed: GraphFeed,
    cell: str,
    task: Task,
    train: TrainSpec,
    *,
    slots: int,
    on_end: RecordCallback,
    embedding_dim: int = DEFAULT_EMBEDDING_DIM,
    on_epoch: EpochCallback | None = None,
    keep_models: bool = False,
) -> int:
    """Continuous batching of graphs (``models.engine.train_stream``): up to ``slots``
    networks train together and a freed slot takes the next graph ``feed`` gives at the
    next epoch boundary. Each network trains as alone with its seed, its mini-batch stream
    started ``batch_offset`` epochs in (in its record). Returns the epochs the stack ran.
    Raises ``models.engine.StackError`` with the keys in the stack when training raises."""
    check_cell(cell)
    held: dict[int, tuple[nx.Graph, LayeredDAG, int]] = {}

    def candidates(free: int) -> list[Candidate]:
        chosen = []
        for key, graph, seed in feed(free):
            dag = layered_dag(graph)
            init, order = child_seeds(seed, 2)
            held[key] = (graph, dag, seed)
            chosen.append(Candidate(dag, init, order, key))
        return chosen

    def ended(key: int, result: TrainResult, model: SparseRNNClassifier | None) -> None:
        graph, dag, seed = held.pop(key)
        on_end(key, describe(graph, dag, cell, task, seed, result, embedding_dim), model)

    return train_stream(
        candidates, cell, task, train, slots=slots, embedding_dim=embedding_dim,
        on_epoch=on_epoch, on_end=ended, keep_models=keep_models,
    )  # fmt: skip


def describe(
    graph: nx.Graph,
    dag: LayeredDAG,
    cell: str,
    task: Task,
    seed: int,
    result: TrainResult,
    embedding_dim: int,
) -> dict[str, object]:
    """One row of the evaluations table: the training outcome, parameter counts, graph
    properties and the edge list."""
    summary = result.summary()
    history = summary.pop("history")
    counts = planned_parameter_counts(dag, cell, task, embedding_dim=embedding_dim)
    return {
        "cell": cell,
        "task": task.name,
        "train_seed": seed,
        **summary,
        **counts,
        "layer_sizes": " ".join(str(size) for size in dag.layer_sizes),
        **graph_properties(graph, dag),
        "edge_list": edges_to_string(graph),
        "history": history,
    }
