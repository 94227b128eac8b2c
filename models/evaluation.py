"""Evaluate topologies: graph -> layered DAG -> Sparse-RNN -> trained accuracy + properties.

The record each network gets is one row of the evaluations table (docs/data-formats.md):
graph properties, parameter counts, training outcome and the edge list, all plain JSON
values. ``evaluate_many`` trains a given list of graphs; ``evaluate_stream`` trains what a
:class:`Scheduler` (the search) feeds it, one stack with continuous batching.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

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


class Scheduler(Protocol):
    """Whoever feeds a stream of networks to the engine (the search adapts to it)."""

    def ask(self, free: int) -> Sequence[tuple[int, nx.Graph, int]]:
        """Up to ``free`` ``(key, graph, seed)`` to start now ([]: none for now)."""
        ...

    def report(self, key: int, metrics: EpochMetrics) -> bool:
        """After each epoch of network ``key``; True stops that network."""
        ...

    def tell(self, key: int, record: dict[str, object], model: SparseRNNClassifier | None) -> None:
        """Network ``key`` ended: its record and (with ``keep_models``, unless it diverged)
        its trained module."""
        ...


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
        describe(graph, dag, cell, task, seed, result, embedding_dim, train.readout)
        for graph, dag, seed, result in zip(graphs, dags, seeds, results, strict=True)
    ]
    return records, models


def evaluate_stream(
    scheduler: Scheduler,
    cell: str,
    task: Task,
    train: TrainSpec,
    *,
    slots: int,
    embedding_dim: int = DEFAULT_EMBEDDING_DIM,
    keep_models: bool = False,
) -> int:
    """Continuous batching of graphs (``models.engine.train_stream``): up to ``slots``
    networks train together and a freed slot takes the next graph ``scheduler.ask`` gives at
    the next epoch boundary. Each network trains as alone with its seed, its mini-batch
    stream started ``batch_offset`` epochs in (in its record). Returns the epochs the stack
    ran. Raises ``models.engine.StackError`` with the keys in the stack when training
    raises."""
    check_cell(cell)
    held: dict[int, tuple[nx.Graph, LayeredDAG, int]] = {}

    def candidates(free: int) -> list[Candidate]:
        chosen = []
        for key, graph, seed in scheduler.ask(free):
            dag = layered_dag(graph)
            init, order = child_seeds(seed, 2)
            held[key] = (graph, dag, seed)
            chosen.append(Candidate(dag, init, order, key))
        return chosen

    def ended(key: int, result: TrainResult, model: SparseRNNClassifier | None) -> None:
        graph, dag, seed = held.pop(key)
        record = describe(graph, dag, cell, task, seed, result, embedding_dim, train.readout)
        scheduler.tell(key, record, model)

    return train_stream(
        candidates, cell, task, train, slots=slots, embedding_dim=embedding_dim,
        on_epoch=scheduler.report, on_end=ended, keep_models=keep_models,
    )  # fmt: skip


def describe(
    graph: nx.Graph,
    dag: LayeredDAG,
    cell: str,
    task: Task,
    seed: int,
    result: TrainResult,
    embedding_dim: int,
    readout: str = "last",
) -> dict[str, object]:
    """One row of the evaluations table: the training outcome, parameter counts (with the
    ``readout`` the network was trained with), graph properties and the edge list."""
    summary = result.summary()
    history = summary.pop("history")
    counts = planned_parameter_counts(dag, cell, task, embedding_dim=embedding_dim, readout=readout)
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
