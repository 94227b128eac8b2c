"""The equal-sparsity comparison: the dense base model pruned to a Sparse-RNN's number of
nonzero recurrent weights and retrained, against the Sparse-RNN trained from scratch with
the same total budget (``epochs + retrain_epochs`` epochs, same batch size and learning rate).

The Sparse-RNN is a graph file or a finished search's RANK-th best network, ranked by
``nas.search.results.ranked_run_graph``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import networkx as nx

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.spectral import spectral_features
from models.cells import GATES, check_cell, recurrent_weights
from models.data import Task
from models.evaluation import evaluate_graph
from models.expansion import expansion_summary
from nas.experiments.prune_retrain import BaseModel, EpochHook, prune_once
from nas.experiments.prune_spec import PruneSpec


def dense_recurrent_weights(spec: PruneSpec, task: Task) -> int:
    """The dense base model's i2h + h2h weights (what ``both`` prunes)."""
    input_width = spec.embedding_dim if task.vocab_size is not None else int(task.n_features or 0)
    gates, hidden = GATES[check_cell(spec.cell)], spec.hidden_size
    i2h = gates * hidden * (input_width + hidden * (spec.num_layers - 1))
    return i2h + gates * hidden * hidden * spec.num_layers


def check_match(graph: nx.Graph, spec: PruneSpec, task: Task) -> int:
    """The Sparse-RNN's recurrent weight count, checked to fit into the dense model."""
    nonzero = recurrent_weights(layered_dag(graph), spec.cell, spec.embedding_dim)
    total = dense_recurrent_weights(spec, task)
    if nonzero > total:
        raise SparseNASError(
            f"the graph's {spec.cell} Sparse-RNN has {nonzero} recurrent weights, more than "
            f"the dense model's {total}; use a smaller graph or a larger --hidden-size"
        )
    return nonzero


def match_sparse_rnn(
    graph: nx.Graph,
    base: BaseModel,
    spec: PruneSpec,
    task: Task,
    *,
    on_epoch: EpochHook | None = None,
) -> dict[str, object]:
    """Equal-sparsity comparison: the base model pruned (``both``) to the Sparse-RNN's
    number of nonzero recurrent weights and retrained, against the Sparse-RNN trained from
    scratch for ``epochs + retrain_epochs`` epochs (the same total budget, batch size and
    learning rate)."""
    nonzero = check_match(graph, spec, task)
    row, _, expansion = prune_once(
        base, spec, task, "both", 0.0, nonzero=nonzero, on_epoch=on_epoch
    )
    budget = replace(spec.base_train(), epochs=spec.epochs + spec.retrain_epochs)
    hook = None if on_epoch is None else (lambda metrics: bool(on_epoch("sparse-rnn", metrics)))
    record = evaluate_graph(
        graph,
        spec.cell,
        task,
        budget,
        seed=spec.seed,
        embedding_dim=spec.embedding_dim,
        on_epoch=hook,
    )
    features = spectral_features(graph)
    summary = expansion_summary(expansion)
    return {
        "cell": spec.cell,
        "task": task.name,
        "method": spec.method,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "layer_sizes": record["layer_sizes"],
        "recurrent_nonzero": nonzero,
        "recurrent_total": row["recurrent_total"],
        "sparsity": row["sparsity"],
        "budget_epochs": budget.epochs,
        "sparse_rnn_acc": record["test_acc"],
        "sparse_rnn_status": record["status"],
        "dense_base_acc": base.test_acc,
        "dense_pruned_acc": row["acc_pruned"],
        "dense_retrained_acc": row["acc_retrained"],
        "dense_status": row["status"],
        "sparse_rnn_ramanujan_gap_min": features["ramanujan_gap_min"],
        "dense_ramanujan_gap_min": summary.get("ramanujan_gap_min", math.nan),
        "dense_expander_fraction": summary.get("expander_fraction", math.nan),
    }
