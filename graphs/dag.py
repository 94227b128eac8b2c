"""Undirected graph -> DAG -> layers: the wiring a Sparse-RNN is built from.

Every edge is oriented from the lower to the higher node label, so the result is acyclic by
construction. The layer of a node is 1 + the largest layer of its predecessors; nodes without
predecessors form layer 0. Node order is the integer order of the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from graphs.errors import SparseNASError


@dataclass(frozen=True)
class LayeredDAG:
    """A layered DAG over nodes 0..n-1 (positions in sorted label order).

    Attributes
    ----------
    labels : the original node labels, sorted; position i is node i.
    layer_of : the layer of each node.
    edges : directed edges (u, v) with u < v, sorted.
    """

    labels: tuple[int, ...]
    layer_of: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]

    @property
    def n_nodes(self) -> int:
        return len(self.labels)

    @property
    def n_layers(self) -> int:
        return max(self.layer_of) + 1

    @cached_property
    def layers(self) -> tuple[tuple[int, ...], ...]:
        """Node indices of each layer, in node order."""
        buckets: list[list[int]] = [[] for _ in range(self.n_layers)]
        for node, layer in enumerate(self.layer_of):
            buckets[layer].append(node)
        return tuple(tuple(b) for b in buckets)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return tuple(len(layer) for layer in self.layers)

    @cached_property
    def dead_ends(self) -> tuple[int, ...]:
        """Sinks (no successors) outside the last layer: neurons whose output nobody reads."""
        has_successor = {u for u, _ in self.edges}
        last = self.n_layers - 1
        return tuple(
            node
            for node, layer in enumerate(self.layer_of)
            if layer < last and node not in has_successor
        )

    @property
    def max_span(self) -> int:
        """Largest layer difference an edge bridges (1 = no skip edges, 0 = no edges)."""
        return max((self.layer_of[v] - self.layer_of[u] for u, v in self.edges), default=0)


def sorted_integer_labels(graph: nx.Graph) -> list[int]:
    """The graph's node labels as integers in ascending order; non-integer labels are an error."""
    try:
        return sorted(int(node) for node in graph.nodes)
    except (TypeError, ValueError):
        example = next((n for n in graph.nodes if not _is_integer_label(n)), None)
        raise SparseNASError(
            f"node labels must be integers, since their order orients the edges (got {example!r})"
        ) from None


def _is_integer_label(node: object) -> bool:
    try:
        int(node)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False
    return True


def layered_dag(graph: nx.Graph) -> LayeredDAG:
    """Orient ``graph`` from lower to higher integer label and assign each node its layer.

    Parameters
    ----------
    graph : undirected graph with integer (or integer-string) node labels.

    Raises
    ------
    SparseNASError
        If the graph is empty, has a self-loop or non-integer labels.

    Examples
    --------
    >>> g = nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)])
    >>> layered_dag(g).layer_of
    (0, 0, 1, 2, 3)
    """
    if graph.number_of_nodes() == 0:
        raise SparseNASError("the graph has no nodes")
    labels = sorted_integer_labels(graph)
    position = {label: i for i, label in enumerate(labels)}
    edges = set()
    for a, b in graph.edges:
        u, v = position[int(a)], position[int(b)]
        if u == v:
            raise SparseNASError(f"the graph has a self-loop at node {a!r}")
        edges.add((min(u, v), max(u, v)))
    ordered = tuple(sorted(edges))
    layer_of = [0] * len(labels)
    # Edges sorted by source; a node's layer is final once all edges into it (from lower
    # nodes) are seen, and processing nodes in label order guarantees that.
    preds: list[list[int]] = [[] for _ in labels]
    for u, v in ordered:
        preds[v].append(u)
    for v in range(len(labels)):
        if preds[v]:
            layer_of[v] = 1 + max(layer_of[u] for u in preds[v])
    return LayeredDAG(labels=tuple(labels), layer_of=tuple(layer_of), edges=ordered)
