"""Undirected graph -> DAG -> layers: the wiring a Sparse-RNN is built from.

Every edge is oriented from the lower to the higher node label, so the result is acyclic by
construction. The layer of a node is 1 + the largest layer of its predecessors; nodes without
predecessors form layer 0. Node order is the integer order of the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import networkx as nx

from core.checks import check_choice
from core.errors import SparseNASError

READOUTS: tuple[str, ...] = ("last", "sinks", "all")
"""Which neurons the linear read-out sees: ``last``, the DAG's last layer (the thesis'
network); ``sinks``, every node without a successor (the DAG's outputs: the last layer and
the dead ends); ``all``, every neuron. Read at each sequence's own last step."""


def check_readout(readout: object) -> str:
    """``readout`` if it is one of READOUTS, else raise with the allowed names."""
    return check_choice(readout, "readout", READOUTS)


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

    @cached_property
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

    @cached_property
    def neuron_order(self) -> tuple[int, ...]:
        """The nodes in neuron order (by layer, then node): a Sparse-RNN's neuron i is node
        ``neuron_order[i]``."""
        return tuple(node for layer in self.layers for node in layer)

    def readout_neurons(self, readout: str) -> tuple[int, ...]:
        """The neurons (positions in ``neuron_order``, ascending) the read-out ``readout``
        sees (READOUTS): the one home of that choice, for the networks, the engine and the
        parameter counts alike."""
        check_readout(readout)
        if readout == "all":
            return tuple(range(self.n_nodes))
        if readout == "last":
            start = self.n_nodes - self.layer_sizes[-1]
            return tuple(range(start, self.n_nodes))
        has_successor = {u for u, _ in self.edges}
        return tuple(i for i, node in enumerate(self.neuron_order) if node not in has_successor)

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


def sorted_edges(graph: nx.Graph) -> list[tuple[int, int]]:
    """The graph's edges as ``(u, v)`` integer label pairs with ``u <= v``, sorted, each once.

    Raises
    ------
    SparseNASError
        If a node label is not an integer.
    """
    if not graph.is_directed() and all(type(node) is int for node in graph):
        # The usual case: nothing to convert, and each edge is read once from the adjacency,
        # at its lower end (cheaper than networkx' edge view).
        return sorted([(u, v) for u, neighbours in graph.adjacency() for v in neighbours if u <= v])
    sorted_integer_labels(graph)  # raises for non-integer labels
    return sorted({(min(int(a), int(b)), max(int(a), int(b))) for a, b in graph.edges})


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
    edges = sorted_edges(graph)
    loops = [u for u, v in edges if u == v]
    if loops:  # named by its own label (nodes 1 and "1" joined are a loop only here)
        loop = next(nx.nodes_with_selfloops(graph), loops[0])
        raise SparseNASError(f"the graph has a self-loop at node {loop!r}")
    if labels != list(range(len(labels))):  # edges between positions, not labels
        position = {label: i for i, label in enumerate(labels)}
        edges = [(position[u], position[v]) for u, v in edges]
    layer_of = [0] * len(labels)
    # Edges sorted by source: all edges into a node come from lower nodes, so they are seen
    # before any edge out of it, and its layer is final when it is first read.
    for u, v in edges:
        if layer_of[v] <= layer_of[u]:
            layer_of[v] = layer_of[u] + 1
    return LayeredDAG(labels=tuple(labels), layer_of=tuple(layer_of), edges=tuple(edges))
