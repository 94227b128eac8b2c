"""Local moves: small edits of a topology, for searching around the best graphs found.

Each move returns a new connected graph with nodes labelled ``0..n-1`` (labels order the
DAG, see ``graphs.dag``) and a short description of what changed:

- ``rewire``: 1 to 3 edges each keep one end and move the other to a node not yet joined to it;
- ``add_edge`` / ``remove_edge``: one edge more, or one edge less (never a bridge);
- ``add_node``: a node inserted at a random position of the label order (later nodes shift
  up by one), joined to about half the mean degree of random nodes, before and after it;
- ``remove_node``: a node removed (later nodes shift down), if the rest stays connected.

Moves that would leave the node range or disconnect the graph are not drawn, or drawn again.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

MOVES: tuple[str, ...] = ("rewire", "add_edge", "remove_edge", "add_node", "remove_node")

_TRIES = 20


def mutate(
    graph: nx.Graph, rng: np.random.Generator, *, min_nodes: int, max_nodes: int
) -> tuple[nx.Graph, str] | None:
    """One random local move of ``graph``; None if no move applied (a tiny or complete graph).

    Parameters
    ----------
    graph : connected graph with integer labels ``0..n-1``.
    rng : draws the move and its details.
    min_nodes, max_nodes : the node range the result must stay in.
    """
    n = graph.number_of_nodes()
    moves = ["rewire", "add_edge", "remove_edge"]
    if n < max_nodes:
        moves.append("add_node")
    if n > min_nodes:
        moves.append("remove_node")
    for _ in range(_TRIES):
        move = moves[int(rng.integers(len(moves)))]
        result = _MOVES[move](graph, rng)
        if result is not None and nx.is_connected(result[0]):
            return result
    return None


def _rewire(graph: nx.Graph, rng: np.random.Generator) -> tuple[nx.Graph, str] | None:
    count = int(rng.integers(1, 4))
    new = graph.copy()
    nodes = sorted(new.nodes)
    done = 0
    for _ in range(count * _TRIES):
        if done == count:
            break
        edges = sorted(new.edges)
        u, v = edges[int(rng.integers(len(edges)))]
        if rng.random() < 0.5:
            u, v = v, u
        free = [w for w in nodes if w != u and not new.has_edge(u, w)]
        if not free:
            continue
        w = free[int(rng.integers(len(free)))]
        new.remove_edge(u, v)
        new.add_edge(u, w)
        if nx.is_connected(new):
            done += 1
        else:
            new.remove_edge(u, w)
            new.add_edge(u, v)
    if done == 0:
        return None
    return new, f"rewire {done} edge{'s' if done > 1 else ''}"


def _add_edge(graph: nx.Graph, rng: np.random.Generator) -> tuple[nx.Graph, str] | None:
    missing = sorted(nx.non_edges(graph))
    if not missing:
        return None
    u, v = missing[int(rng.integers(len(missing)))]
    new = graph.copy()
    new.add_edge(u, v)
    return new, f"add edge {min(u, v)}-{max(u, v)}"


def _remove_edge(graph: nx.Graph, rng: np.random.Generator) -> tuple[nx.Graph, str] | None:
    bridges = {frozenset(edge) for edge in nx.bridges(graph)}
    removable = [edge for edge in sorted(graph.edges) if frozenset(edge) not in bridges]
    if not removable:
        return None
    u, v = removable[int(rng.integers(len(removable)))]
    new = graph.copy()
    new.remove_edge(u, v)
    return new, f"remove edge {min(u, v)}-{max(u, v)}"


def _add_node(graph: nx.Graph, rng: np.random.Generator) -> tuple[nx.Graph, str] | None:
    n = graph.number_of_nodes()
    position = int(rng.integers(0, n + 1))
    mean_degree = 2 * graph.number_of_edges() / n
    degree = int(min(n, max(1, round(mean_degree / 2))))
    new = nx.relabel_nodes(graph, {u: u + 1 if u >= position else u for u in graph.nodes})
    new.add_node(position)
    others = [u for u in sorted(new.nodes) if u != position]
    for index in rng.choice(len(others), size=degree, replace=False):
        new.add_edge(position, others[int(index)])
    return _sorted(new), f"add node {position} ({degree} edge{'s' if degree > 1 else ''})"


def _remove_node(graph: nx.Graph, rng: np.random.Generator) -> tuple[nx.Graph, str] | None:
    nodes = sorted(graph.nodes)
    node = nodes[int(rng.integers(len(nodes)))]
    new = graph.copy()
    new.remove_node(node)
    if new.number_of_edges() == 0 or not nx.is_connected(new):
        return None
    new = nx.relabel_nodes(new, {u: u - 1 if u > node else u for u in new.nodes})
    return _sorted(new), f"remove node {node}"


def _sorted(graph: nx.Graph) -> nx.Graph:
    clean = nx.Graph()
    clean.add_nodes_from(sorted(graph.nodes))
    clean.add_edges_from(graph.edges)
    return clean


_MOVES = {
    "rewire": _rewire,
    "add_edge": _add_edge,
    "remove_edge": _remove_edge,
    "add_node": _add_node,
    "remove_node": _remove_node,
}
