"""How many networks to stack and how: the padded sizes a stack needs, stacks in depth
order, and the slot count the machine's memory allows."""

from __future__ import annotations

import os
from collections.abc import Sequence

from graphs.dag import LayeredDAG
from models.cells import GATES
from models.data import Task

#: Share of the available memory the automatic slot count may plan for.
MEMORY_SHARE = 0.25
MAX_AUTO_SLOTS = 64


def stack_sizes(dags: Sequence[LayeredDAG]) -> dict[str, int]:
    """Padded sizes that fit every DAG: neurons, layers, lags and the most (source, lag)
    pairs any DAG reads (at least one)."""
    pairs = [len({(u, dag.layer_of[v] - dag.layer_of[u]) for u, v in dag.edges}) for dag in dags]
    return {
        "neurons": max(d.n_nodes for d in dags),
        "layers": max(d.n_layers for d in dags),
        "lags": max(max(d.max_span, 1) for d in dags),
        "pairs": max(1, *pairs),
    }


def depth_groups(dags: Sequence[LayeredDAG], capacity: int) -> list[list[int]]:
    """Indices of ``dags`` in stacks of at most ``capacity``, in order of depth, skip span
    and size, so that when the graphs need several stacks each holds similar depths.

    A stack runs T + L - 1 steps for its deepest member, but the compiled loop skips every
    neuron's steps outside its sequence, so a shallow graph pays little for a deep stack-mate,
    and fewer, fuller stacks share the per-batch work: one stack trains faster than stacks
    split by depth (measured in docs/history.md, "Stacking by depth").
    """
    order = sorted(
        range(len(dags)), key=lambda i: (dags[i].n_layers, dags[i].max_span, dags[i].n_nodes)
    )
    return [order[start : start + capacity] for start in range(0, len(order), capacity)]


def auto_slots(
    dags: Sequence[LayeredDAG],
    cell: str,
    task: Task,
    batch_size: int,
    available: int | None = None,
) -> int:
    """How many candidates to stack: what the activation memory of the largest allows within
    MEMORY_SHARE of the ``available`` memory (bytes; default: what the machine has free),
    capped at MAX_AUTO_SLOTS."""
    neurons = max(d.n_nodes for d in dags)
    lags = max(max(d.max_span, 1) for d in dags)
    steps = int(task.train.lengths.max()) + max(d.n_layers for d in dags)
    per_step = batch_size * neurons * (4 * GATES[cell] + lags + 8)  # floats kept for backward
    per_candidate = 4 * steps * per_step * 2
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            available = 4 * 2**30
    return int(max(1, min(MAX_AUTO_SLOTS, MEMORY_SHARE * available // per_candidate)))
