"""Structural properties of a graph: the feature row a performance predictor is trained on.

Names and definitions follow the thesis' published tables, so our tables and theirs are
interchangeable. Everything is computed on the undirected graph, except ``layers``,
``source_nodes``, ``sink_nodes`` and ``dead_end_nodes``, which come from the layered DAG
(``graphs.dag.layered_dag``). Centralities use networkx' definitions and normalisations;
they are computed with igraph (the graph is converted once, below) and checked against
networkx in the tests.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import ModuleType

import networkx as nx
import numpy as np

from core.errors import SparseNASError
from graphs.dag import LayeredDAG, layered_dag


def _igraph_without_pyplot() -> ModuleType:
    """igraph, imported without letting it import matplotlib.pyplot.

    igraph's plotting modules import pyplot at import time whenever matplotlib is installed:
    about half a second of every command's start, for plotting we never do through igraph
    (figures are plotly's and matplotlib's own). matplotlib is hidden while igraph loads, so
    igraph takes its "matplotlib missing" path, then shown again: later imports of matplotlib
    work as usual; only igraph's own plotting is off in a process that imported it this way.
    """
    if "igraph" in sys.modules or "matplotlib" in sys.modules:
        import igraph

        return igraph
    sys.modules["matplotlib"] = None  # type: ignore[assignment]  # "import matplotlib" fails
    try:
        import igraph
    finally:
        del sys.modules["matplotlib"]
    return igraph


ig = _igraph_without_pyplot()

_STATISTICS = ("mean", "var", "std")
_DISTRIBUTIONS = ("eccentricity", "degree", "closeness", "nodes_betweenness", "edge_betweenness")

THESIS_PROPERTIES: tuple[str, ...] = (
    "layers",
    "nodes",
    "edges",
    "source_nodes",
    "sink_nodes",
    "diameter",
    "density",
    "average_shortest_path_length",
    *(f"{name}_{stat}" for name in _DISTRIBUTIONS for stat in _STATISTICS),
)
"""The properties of the thesis' tables, in a stable order."""

PROPERTY_NAMES: tuple[str, ...] = (*THESIS_PROPERTIES, "dead_end_nodes")
"""Every property ``graph_properties`` returns, in a stable order."""


def graph_properties(graph: nx.Graph, dag: LayeredDAG | None = None) -> dict[str, float]:
    """The properties in ``PROPERTY_NAMES`` of a connected graph.

    Parameters
    ----------
    graph : connected undirected graph with integer node labels and at least one edge.
    dag : ``layered_dag(graph)``, if the caller already has it.

    Returns
    -------
    dict mapping each name of ``PROPERTY_NAMES`` to a float, in that order:

    - ``layers``, ``source_nodes``, ``sink_nodes``: number of layers, size of the first
      (layer 0) and of the last layer of the layered DAG; ``dead_end_nodes`` (ours, not in
      the thesis): nodes without successors outside the last layer.
    - ``nodes``, ``edges``, ``diameter``, ``average_shortest_path_length`` (over unordered
      pairs of distinct nodes).
    - ``density``: ``edges / (nodes (nodes - 1))``, the thesis' definition, which is half of
      ``networkx.density`` for an undirected graph (the density of the DAG).
    - ``<x>_mean``, ``<x>_var``, ``<x>_std`` over nodes (edges for ``edge_betweenness``) of
      ``eccentricity``; ``degree`` (``networkx.degree_centrality``: degree / (n - 1));
      ``closeness`` (``networkx.closeness_centrality``); ``nodes_betweenness``
      (``networkx.betweenness_centrality``, normalised by ``(n - 1)(n - 2) / 2`` pairs);
      ``edge_betweenness`` (``networkx.edge_betweenness_centrality``, normalised by
      ``n (n - 1) / 2`` pairs). Variance and standard deviation are sample statistics
      (``ddof=1``), as pandas computes them; with a single edge ``edge_betweenness_var`` and
      ``_std`` are NaN.

    Raises
    ------
    SparseNASError
        If the graph has no edge, is disconnected, has a self-loop or non-integer labels.

    References
    ----------
    .. [1] L. C. Freeman, Centrality in social networks: conceptual clarification,
       Social Networks 1, pp. 215-239, 1979.
    .. [2] U. Brandes, A faster algorithm for betweenness centrality,
       J. Math. Sociol. 25, pp. 163-177, 2001.
    """
    if nx.is_empty(graph):  # no edge (cheaper than counting them)
        raise SparseNASError(
            f"graph properties need at least one edge (got {graph.number_of_nodes()} nodes "
            "and no edges)"
        )
    if dag is None:
        dag = layered_dag(graph)
    elif dag.n_nodes != graph.number_of_nodes() or len(dag.edges) != len(graph.edges):
        raise ValueError(
            f"dag does not belong to graph ({dag.n_nodes} nodes and {len(dag.edges)} edges, "
            f"graph has {graph.number_of_nodes()} and {graph.number_of_edges()})"
        )
    g = _to_igraph(dag)
    if not g.is_connected():
        raise SparseNASError(
            f"graph properties need a connected graph (got {len(g.connected_components())} "
            f"components on {g.vcount()} nodes)"
        )
    distances = np.array(g.distances(), dtype=float)  # every BFS once (connected: finite)
    values = {
        **_layer_properties(dag),
        **_distance_properties(g, distances),
        **_distributions(g, distances),
    }
    return {name: values[name] for name in PROPERTY_NAMES}


def _to_igraph(dag: LayeredDAG) -> ig.Graph:
    """The undirected graph on node positions 0..n-1 (the one boundary to igraph)."""
    return ig.Graph(n=dag.n_nodes, edges=list(dag.edges), directed=False)


def _layer_properties(dag: LayeredDAG) -> dict[str, float]:
    sizes = dag.layer_sizes
    return {
        "layers": float(dag.n_layers),
        "source_nodes": float(sizes[0]),
        "sink_nodes": float(sizes[-1]),
        "dead_end_nodes": float(len(dag.dead_ends)),
    }


def _distance_properties(g: ig.Graph, distances: np.ndarray) -> dict[str, float]:
    n, m = g.vcount(), g.ecount()
    return {
        "nodes": float(n),
        "edges": float(m),
        "diameter": float(distances.max()),
        "density": m / (n * (n - 1)),
        "average_shortest_path_length": float(distances.sum() / (n * (n - 1))),
    }


def _distributions(g: ig.Graph, distances: np.ndarray) -> dict[str, float]:
    """The summaries of the per-node and per-edge distributions."""
    n = g.vcount()
    edge_betweenness = np.array(g.edge_betweenness(directed=False), dtype=float)
    # A node's betweenness from its edges': each shortest path through it uses two of its
    # edges, and the n - 1 pairs it ends add one in all (sum over its edges = 2 B + n - 1).
    # One Brandes pass instead of two; clipped at 0 against rounding at leaves.
    ends = np.asarray(g.get_edgelist()).ravel()
    at_node = np.bincount(ends, weights=np.repeat(edge_betweenness, 2), minlength=n)
    per_node = np.array(
        [
            distances.max(axis=1),  # eccentricity
            g.degree(),
            # Connected graph: networkx' closeness is (n - 1) / the sum of a node's distances.
            (n - 1) / distances.sum(axis=1),
            np.maximum((at_node - (n - 1)) / 2, 0.0),
        ],
        dtype=float,
    )
    per_node[1] /= n - 1
    # igraph counts each unordered pair once; networkx divides by the number of pairs.
    node_pairs = (n - 1) * (n - 2) / 2
    if node_pairs > 0:
        per_node[3] /= node_pairs
    edge_betweenness /= n * (n - 1) / 2
    return {
        **_summaries(("eccentricity", "degree", "closeness", "nodes_betweenness"), per_node),
        **_summaries(("edge_betweenness",), edge_betweenness[None, :]),
    }


def _summaries(names: Sequence[str], rows: np.ndarray) -> dict[str, float]:
    """Mean, sample variance and sample standard deviation (ddof=1; NaN for one value) of each
    row of ``rows``, named by ``names``; one numpy call per statistic for all the rows."""
    means = rows.mean(axis=1)
    variances = rows.var(axis=1, ddof=1) if rows.shape[1] > 1 else np.full(len(rows), np.nan)
    out: dict[str, float] = {}
    for name, mean, var in zip(names, means.tolist(), variances.tolist(), strict=True):
        out.update({f"{name}_mean": mean, f"{name}_var": var, f"{name}_std": var**0.5})
    return out
