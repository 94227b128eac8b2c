"""Extended graph features: spectra, expansion and paths (graph-only; the cell-dependent
feature row, with the Sparse-RNN's size, is ``predictors.features.feature_row``).

The thesis' properties (``graphs.properties``) describe distances and centralities. The
features here add what the literature on sparse layers points to: how well each pair of
consecutive layers mixes (the spectrum of its bipartite connection mask, after "Graph
Expansion in Pruned Recurrent Neural Network Layers Preserve Performance"), how well the
whole graph is connected (Laplacian and adjacency spectra), local structure (clustering,
assortativity), the shape of the layering and the number of input->output paths.

Every feature is computed from the layered DAG (``graphs.dag.layered_dag``) with numpy on
matrices of at most ``nodes x nodes``. Names never clash with the thesis' names;
``dead_end_nodes`` is shared with ``graphs.properties.PROPERTY_NAMES`` and has the same value
there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx
import numpy as np

from core.errors import SparseNASError
from graphs.dag import LayeredDAG, layered_dag

_BIPARTITE = ("bipartite_s1", "bipartite_s2", "bipartite_gap", "ramanujan_gap")

EXTENDED_FEATURES: tuple[str, ...] = (
    *(f"{name}_{agg}" for name in _BIPARTITE for agg in ("min", "mean")),
    "algebraic_connectivity",
    "adjacency_spectral_gap",
    "average_clustering",
    "degree_assortativity",
    "layer_width_mean",
    "layer_width_max",
    "layer_width_std",
    "dead_end_nodes",
    "log_io_paths",
)
"""Every feature ``spectral_features`` returns, in a stable order."""


def spectral_features(graph: nx.Graph, dag: LayeredDAG | None = None) -> dict[str, float]:
    """The features in ``EXTENDED_FEATURES`` of a graph (independent of the cell).

    Parameters
    ----------
    graph : undirected graph with integer node labels and at least one edge.
    dag : ``layered_dag(graph)``, if the caller already has it.

    Returns
    -------
    dict mapping each name of ``EXTENDED_FEATURES`` to a float, in that order:

    - Layer expansion. For each pair of consecutive layers ``l, l + 1`` take the bipartite
      mask ``M`` (``n_l x n_{l+1}``, 1 where an edge joins the two layers; skip edges to
      later layers are left out). ``s1 >= s2`` are its two largest singular values
      (``s2 = 0`` when a side has one node); ``bipartite_gap = s1 - s2``;
      ``ramanujan_gap = bound - s2`` with the irregular Ramanujan bound
      ``bound = sqrt(max(d_left - 1, 0)) + sqrt(max(d_right - 1, 0))``, where
      ``d_left = edges / n_l`` and ``d_right = edges / n_{l+1}`` are the average degrees
      inside the pair. A positive ``ramanujan_gap`` means the pair is at least as good an
      expander as a Ramanujan graph of those degrees. Each of ``bipartite_s1``,
      ``bipartite_s2``, ``bipartite_gap`` and ``ramanujan_gap`` is aggregated over the
      ``layers - 1`` pairs by ``_min`` and ``_mean``. A pair without edges cannot occur: by
      the layering rule every node of layer ``l + 1`` has a predecessor in layer ``l``.
      For complete bipartite layers of sizes a and b, ``s1 = sqrt(a b)`` and ``s2 = 0``.
    - ``algebraic_connectivity``: second-smallest eigenvalue of the Laplacian ``D - A`` of
      the undirected graph (0 when disconnected; ``networkx.algebraic_connectivity``).
    - ``adjacency_spectral_gap``: ``lambda_1 - lambda_2`` of the undirected adjacency matrix.
    - ``average_clustering``: mean local clustering coefficient, nodes of degree < 2
      counting as 0 (``networkx.average_clustering``).
    - ``degree_assortativity``: Pearson correlation of the degrees at the two ends of each
      edge (``networkx.degree_assortativity_coefficient``). When all edge ends have one
      degree (a regular graph, where networkx gives NaN) it is 0: no preference either way,
      and a regressor never sees NaN.
    - ``layer_width_mean``, ``layer_width_max``, ``layer_width_std``: statistics of the layer
      sizes (sample standard deviation, ddof = 1, as in ``graphs.properties``; a graph with
      an edge has at least two layers).
    - ``dead_end_nodes``: sinks outside the last layer (as in ``graphs.properties``).
    - ``log_io_paths``: natural log of the number of directed paths from a layer-0 node to a
      last-layer node, counted exactly (Python integers) by dynamic programming over the
      topological (label) order; at least one such path exists, so the log is >= 0.

    Raises
    ------
    SparseNASError
        If the graph has no edge, a self-loop or non-integer labels.

    References
    ----------
    .. [1] S. A. Kalra, A. Biswas, P. Mitra, B. Basu, Graph Expansion in Pruned Recurrent
       Neural Network Layers Preserve Performance, Tiny Papers @ ICLR 2024 (arXiv 2403.11100).
    .. [2] M. Fiedler, Algebraic connectivity of graphs, Czech. Math. J. 23, 298-305, 1973.
    .. [3] M. E. J. Newman, Assortative mixing in networks, Phys. Rev. Lett. 89, 208701, 2002.
    .. [4] S. Hoory, N. Linial, A. Wigderson, Expander graphs and their applications,
       Bull. AMS 43, 439-561, 2006 (Ramanujan graphs and the irregular bound).
    """
    dag = _checked_dag(graph, dag)
    n = dag.n_nodes
    adjacency = np.zeros((n, n))
    u, v = np.asarray(dag.edges).T  # the ends of each edge (there is at least one)
    adjacency[u, v] = adjacency[v, u] = 1.0
    degree = adjacency.sum(axis=1)
    values = {
        **_layer_expansion(dag, adjacency),
        **_spectra(adjacency, degree),
        "average_clustering": _average_clustering(adjacency, degree),
        "degree_assortativity": _degree_assortativity(u, v, degree),
        **_layer_widths(dag),
        "dead_end_nodes": float(len(dag.dead_ends)),
        "log_io_paths": math.log(io_path_count(dag)),
    }
    return {name: values[name] for name in EXTENDED_FEATURES}


def io_path_count(dag: LayeredDAG) -> int:
    """Exact number of directed paths from a layer-0 node to a node of the last layer.

    Examples
    --------
    >>> g = nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)])
    >>> io_path_count(layered_dag(g))
    5
    """
    paths = [1 if layer == 0 else 0 for layer in dag.layer_of]
    # Edges go from lower to higher index, so index order is a topological order and an edge
    # list sorted by source finishes every node's count before it is read.
    for u, v in sorted(dag.edges):
        paths[v] += paths[u]
    return sum(paths[node] for node in dag.layers[-1])


# -- pieces ------------------------------------------------------------------------------------


def _checked_dag(graph: nx.Graph, dag: LayeredDAG | None) -> LayeredDAG:
    if nx.is_empty(graph):  # no edge (cheaper than counting them)
        raise SparseNASError(
            f"graph features need at least one edge (got {graph.number_of_nodes()} nodes "
            "and no edges)"
        )
    if dag is None:
        return layered_dag(graph)
    if dag.n_nodes != graph.number_of_nodes() or len(dag.edges) != len(graph.edges):
        raise ValueError(
            f"dag does not belong to graph ({dag.n_nodes} nodes and {len(dag.edges)} edges, "
            f"graph has {graph.number_of_nodes()} and {graph.number_of_edges()})"
        )
    return dag


def bipartite_spectrum(biadjacency: np.ndarray) -> dict[str, float]:
    """Expansion of one bipartite graph, given its 0/1 biadjacency matrix (left x right).

    ``s1 >= s2`` are the two largest singular values (``s2 = 0`` when a side has one node),
    ``gap = s1 - s2``, ``ramanujan_bound = sqrt(max(d_left - 1, 0)) + sqrt(max(d_right - 1,
    0))`` with the average degrees ``d_left = edges / left`` and ``d_right = edges / right``,
    and ``ramanujan_gap = ramanujan_bound - s2`` (positive: at least as good an expander as
    a Ramanujan graph of those degrees). Used for a Sparse-RNN's consecutive layers here and
    for pruned weight matrices in ``models.expansion``.
    """
    return {key: float(values[0]) for key, values in bipartite_spectra([biadjacency]).items()}


def bipartite_spectra(biadjacencies: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """``bipartite_spectrum`` of several bipartite graphs at once: each measure as an array,
    one value per graph. The masks are zero-padded to one shape and decomposed in one batched
    SVD (padding adds only zero singular values), where one call per mask cost more in
    numpy's per-call overhead than in the decompositions."""
    shapes = np.array([np.shape(mask) for mask in biadjacencies])
    batch = np.zeros((len(shapes), *shapes.max(axis=0)))
    for index, mask in enumerate(biadjacencies):
        batch[index, : mask.shape[0], : mask.shape[1]] = mask
    singular = np.linalg.svd(batch, compute_uv=False)  # descending, per graph
    s1 = singular[:, 0]
    s2 = singular[:, 1] if singular.shape[1] > 1 else np.zeros(len(shapes))
    s2 = np.where(shapes.min(axis=1) > 1, s2, 0.0)
    edges = batch.sum(axis=(1, 2))
    d_left, d_right = edges / shapes[:, 0], edges / shapes[:, 1]
    bound = np.sqrt(np.maximum(d_left - 1.0, 0.0)) + np.sqrt(np.maximum(d_right - 1.0, 0.0))
    return {
        "s1": s1,
        "s2": s2,
        "gap": s1 - s2,
        "ramanujan_bound": bound,
        "ramanujan_gap": bound - s2,
    }


def _layer_expansion(dag: LayeredDAG, adjacency: np.ndarray) -> dict[str, float]:
    # Nodes regrouped layer by layer: each consecutive pair is a block beside the diagonal.
    order = np.concatenate(dag.layers)
    by_layer = adjacency[np.ix_(order, order)]
    bounds = np.cumsum((0, *dag.layer_sizes)).tolist()
    spectra = bipartite_spectra(
        [
            by_layer[low:middle, middle:high]
            for low, middle, high in zip(bounds, bounds[1:], bounds[2:], strict=False)
        ]
    )
    out: dict[str, float] = {}
    for name, key in zip(_BIPARTITE, ("s1", "s2", "gap", "ramanujan_gap"), strict=True):
        out[f"{name}_min"] = float(spectra[key].min())
        out[f"{name}_mean"] = float(spectra[key].mean())
    return out


def _spectra(adjacency: np.ndarray, degree: np.ndarray) -> dict[str, float]:
    laplacian = np.diag(degree) - adjacency
    lap = np.linalg.eigvalsh(laplacian)  # ascending
    adj = np.linalg.eigvalsh(adjacency)
    return {
        "algebraic_connectivity": float(max(lap[1], 0.0)),
        "adjacency_spectral_gap": float(adj[-1] - adj[-2]),
    }


def _average_clustering(adjacency: np.ndarray, degree: np.ndarray) -> float:
    # Triangles through node i: (A^3)_ii / 2 = sum_j (A^2)_ij A_ij / 2.
    triangles = ((adjacency @ adjacency) * adjacency).sum(axis=1) / 2.0
    pairs = degree * (degree - 1.0) / 2.0
    local = np.divide(triangles, pairs, out=np.zeros_like(triangles), where=pairs > 0)
    return float(local.mean())


def _degree_assortativity(u: np.ndarray, v: np.ndarray, degree: np.ndarray) -> float:
    # Both orientations of every edge (u[i], v[i]), as networkx counts an undirected graph.
    x = np.concatenate([degree[u], degree[v]])
    y = np.concatenate([degree[v], degree[u]])
    x, y = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float(x @ x) * float(y @ y))
    if denominator == 0.0:
        return 0.0
    return float(x @ y) / denominator


def _layer_widths(dag: LayeredDAG) -> dict[str, float]:
    sizes = np.asarray(dag.layer_sizes, dtype=float)
    return {
        "layer_width_mean": float(sizes.mean()),
        "layer_width_max": float(sizes.max()),
        "layer_width_std": float(sizes.std(ddof=1)),
    }
