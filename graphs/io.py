"""Read and write graph files, and pack a graph into one CSV cell.

Two file formats, chosen by extension: GraphML (``.graphml``, ``.xml``) and, for everything
else, an edge list (one ``u v`` pair of integer labels per line, ``#`` starts a comment,
blank lines are ignored). Node labels are integers, since their order orients the edges
(``graphs.dag``); GraphML ids are strings and are converted with ``int``, so "10" sorts
after "9". A graph is accepted only if it has an edge, no self-loop and is connected, on
reading and on writing alike, so whatever we write can be read back.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import networkx as nx

from core.errors import SparseNASError, existing_file
from graphs.dag import sorted_edges, sorted_integer_labels

GRAPHML_SUFFIXES: tuple[str, ...] = (".graphml", ".xml")

_EDGE_TOKEN = re.compile(r"([0-9]+)-([0-9]+)")


def read_graph(path: str | PathLike[str]) -> nx.Graph:
    """Read a GraphML file or an edge list into a graph with integer node labels.

    Raises
    ------
    SparseNASError
        If the file is missing, empty, not a graph (malformed GraphML, a line that is not two
        integers), has non-integer labels, no edges, a self-loop or is disconnected.
    """
    path = existing_file(path, "graph file")
    source = f"graph file '{path}'"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SparseNASError(f"cannot read {source}: {exc.strerror}") from None
    if not data.strip():
        raise SparseNASError(f"{source} is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SparseNASError(f"{source} is not a UTF-8 text file") from None
    parse = _parse_graphml if _is_graphml(path) else _parse_edge_list
    graph = parse(text, source)
    _check_graph(graph, source)
    return graph


def write_graph(graph: nx.Graph, path: str | PathLike[str]) -> None:
    """Write ``graph`` as GraphML or as an edge list, by the extension of ``path``.

    Only nodes and edges are written (attributes are dropped), edges as ``u < v`` in label
    order, so the same graph always gives the same file.

    Raises
    ------
    SparseNASError
        If the graph could not be read back (see ``read_graph``) or the file cannot be written.
    """
    path = Path(path)
    _check_graph(graph, f"graph for '{path}'")
    edges = sorted_edges(graph)
    try:
        if _is_graphml(path):
            clean = nx.Graph()
            clean.add_nodes_from(sorted_integer_labels(graph))
            clean.add_edges_from(edges)
            nx.write_graphml(clean, path)
        else:
            lines = [f"# {graph.number_of_nodes()} nodes, {len(edges)} edges"]
            lines += [f"{u} {v}" for u, v in edges]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SparseNASError(f"cannot write graph file '{path}': {exc.strerror}") from None


def edges_to_string(graph: nx.Graph) -> str:
    """The edge list of ``graph`` in one line, e.g. ``"0-2 1-2 1-3"`` (for one CSV cell).

    Labels must be non-negative integers, since ``-`` separates the two ends of an edge.
    """
    _check_graph(graph, "graph")
    edges = sorted_edges(graph)
    negative = [u for u, _ in edges if u < 0]
    if negative:
        raise SparseNASError(f"an edge string needs non-negative node labels (got {negative[0]})")
    return " ".join(f"{u}-{v}" for u, v in edges)


def edges_from_string(text: str) -> nx.Graph:
    """The graph of an edge string written by ``edges_to_string``."""
    if not isinstance(text, str):
        raise SparseNASError(f"an edge string must be text (got {text!r})")
    edges = []
    for token in text.split():
        match = _EDGE_TOKEN.fullmatch(token)
        if match is None:
            raise SparseNASError(
                f"edge {token!r} in the edge string is not of the form u-v with integer labels"
            )
        edges.append((int(match[1]), int(match[2])))
    graph = _graph_from_edges(edges)
    _check_graph(graph, "edge string")
    return graph


def _is_graphml(path: Path) -> bool:
    return path.suffix.lower() in GRAPHML_SUFFIXES


def _parse_edge_list(text: str, source: str) -> nx.Graph:
    edges = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            u, v = (int(field) for field in fields)
        except ValueError:
            raise SparseNASError(
                f"{source} line {number} is not two integer node labels: {line.strip()!r}"
            ) from None
        if u == v:
            raise SparseNASError(f"{source} has a self-loop at node {u} (line {number})")
        edges.append((u, v))
    return _graph_from_edges(edges)


def _parse_graphml(text: str, source: str) -> nx.Graph:
    try:
        parsed = nx.parse_graphml(text)
    except (ET.ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        # KeyError, ValueError: an unknown attribute type or a data value not of its type.
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise SparseNASError(f"{source} is not valid GraphML ({reason})") from None
    labels: dict[object, int] = {}
    for node in parsed.nodes:
        try:
            labels[node] = int(node)
        except (TypeError, ValueError):
            raise SparseNASError(
                f"{source} has node id {node!r}; node ids must be integers, since their "
                "order orients the edges"
            ) from None
    edges = [(labels[u], labels[v]) for u, v in parsed.edges()]
    return _graph_from_edges(edges, nodes=labels.values())


def _graph_from_edges(edges: Iterable[tuple[int, int]], nodes: Iterable[int] = ()) -> nx.Graph:
    """A graph whose nodes are in ascending label order, so files read deterministically."""
    edges = list(edges)
    graph = nx.Graph()
    graph.add_nodes_from(sorted({*nodes, *(x for edge in edges for x in edge)}))
    graph.add_edges_from(edges)
    return graph


def _check_graph(graph: nx.Graph, source: str) -> None:
    """Raise unless ``graph`` has an edge, no self-loop, no negative label (edge strings,
    and so the study and the exported tables, hold labels >= 0) and is connected."""
    if graph.number_of_edges() == 0:
        raise SparseNASError(f"{source} has no edges")
    negative = [node for node in graph.nodes if isinstance(node, int) and node < 0]
    if negative:
        raise SparseNASError(
            f"{source} has a negative node label ({min(negative)}); labels must be non-negative"
        )
    loops = list(nx.nodes_with_selfloops(graph))
    if loops:
        raise SparseNASError(f"{source} has a self-loop at node {loops[0]!r}")
    if not nx.is_connected(graph):
        parts = nx.number_connected_components(graph)
        raise SparseNASError(f"{source} is disconnected ({parts} components)")
