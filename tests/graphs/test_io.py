"""Reading and writing graph files and edge strings (graphs/io.py)."""

import networkx as nx
import pytest

from core.errors import SparseNASError
from graphs.generators import FAMILIES, GraphSpec
from graphs.io import edges_from_string, edges_to_string, read_graph, write_graph

WORKED_EDGES = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]
SUFFIXES = ["txt", "edges", "graphml", "xml"]


def edges(graph: nx.Graph) -> list[tuple[int, int]]:
    return sorted(tuple(sorted(edge)) for edge in graph.edges)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("family", FAMILIES)
def test_round_trip(tmp_path, family, suffix):
    graph = GraphSpec(family, 20).build(seed=0)
    path = tmp_path / f"graph.{suffix}"
    write_graph(graph, path)
    back = read_graph(path)
    assert edges(back) == edges(graph)
    assert list(back.nodes) == list(range(20))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_labels_come_back_as_integers_in_order(tmp_path, suffix):
    graph = nx.Graph([(10, 2), (9, 10), (2, 9)])
    path = tmp_path / f"graph.{suffix}"
    write_graph(graph, str(path))
    back = read_graph(str(path))
    assert list(back.nodes) == [2, 9, 10]
    assert all(type(node) is int for node in back.nodes)


def test_write_is_deterministic(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_graph(nx.Graph(WORKED_EDGES), a)
    write_graph(nx.Graph(list(reversed(WORKED_EDGES))), b)
    assert a.read_text() == b.read_text()


def test_edge_list_comments_and_blank_lines(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("# the worked example\n\n0 2\n1 2  # inline comment\n 1\t3 \n2 3\n2 4\n3 4\n")
    assert edges(read_graph(path)) == WORKED_EDGES


def test_graphml_string_ids(tmp_path):
    # Ids "10", "9", "2": ordered as integers, not as strings.
    path = tmp_path / "g.graphml"
    path.write_text(
        '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
        '<graph edgedefault="undirected"><node id="10"/><node id="9"/><node id="2"/>'
        '<edge source="10" target="2"/><edge source="9" target="10"/></graph></graphml>\n'
    )
    graph = read_graph(path)
    assert list(graph.nodes) == [2, 9, 10]
    assert edges(graph) == [(2, 10), (9, 10)]


def graphml(body: str) -> str:
    return (
        '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        f'<graph edgedefault="undirected">{body}</graph></graphml>\n'
    )


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("g.txt", "", "is empty"),
        ("g.txt", "\n  \n", "is empty"),
        ("g.txt", "# only a comment\n", "has no edges"),
        ("g.txt", "0 1\n1 1\n", "self-loop at node 1 \\(line 2\\)"),
        ("g.txt", "0 1\n2 3\n", "disconnected \\(2 components\\)"),
        ("g.txt", "0 1\nhello world\n", "line 2 is not two integer node labels: 'hello world'"),
        ("g.txt", "0 1 2\n", "line 1 is not two integer"),
        ("g.txt", "0\n", "line 1 is not two integer"),
        ("g.txt", "a b\n", "line 1 is not two integer"),
        ("g.graphml", "", "is empty"),
        ("g.graphml", "<graphml><graph>", "not valid GraphML"),
        ("g.graphml", "0 1\n", "not valid GraphML"),
        ("g.xml", "<root/>", "not valid GraphML"),
        ("g.graphml", graphml(""), "has no edges"),
        (
            "g.graphml",
            graphml('<node id="a"/><node id="b"/><edge source="a" target="b"/>'),
            "node id 'a'",
        ),
        ("g.graphml", graphml('<node id="1"/><edge source="1" target="1"/>'), "self-loop"),
        ("g.graphml", graphml('<edge source="0" target="1"/><node id="2"/>'), "disconnected"),
    ],
    ids=[
        "empty",
        "blank",
        "no-edges",
        "self-loop",
        "disconnected",
        "garbage",
        "three-fields",
        "one-field",
        "non-integer",
        "graphml-empty",
        "graphml-malformed",
        "graphml-not-xml",
        "graphml-not-graphml",
        "graphml-no-edges",
        "graphml-non-integer",
        "graphml-self-loop",
        "graphml-disconnected",
    ],
)
def test_read_errors_name_the_file(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SparseNASError, match=match) as info:
        read_graph(path)
    message = str(info.value)
    assert name in message and "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(SparseNASError, match="missing.txt' does not exist"):
        read_graph(tmp_path / "missing.txt")


def test_directory_is_not_a_graph_file(tmp_path):
    with pytest.raises(SparseNASError, match="is not a file"):
        read_graph(tmp_path)


def test_binary_file(tmp_path):
    path = tmp_path / "g.txt"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SparseNASError, match="not a UTF-8 text file"):
        read_graph(path)


@pytest.mark.parametrize(
    "graph, match",
    [
        (nx.Graph([(0, 1), (2, 3)]), "disconnected"),
        (nx.Graph([(0, 1), (1, 1)]), "self-loop"),
        (nx.empty_graph(2), "no edges"),
        (nx.Graph([("a", "b")]), "integers"),
    ],
    ids=["disconnected", "self-loop", "no-edges", "non-integer"],
)
def test_write_refuses_what_read_would_refuse(tmp_path, graph, match):
    path = tmp_path / "g.txt"
    with pytest.raises(SparseNASError, match=match):
        write_graph(graph, path)
    assert not path.exists()


def test_write_into_missing_directory(tmp_path):
    with pytest.raises(SparseNASError, match="cannot write graph file"):
        write_graph(nx.path_graph(3), tmp_path / "nowhere" / "g.txt")


def test_edge_string():
    graph = nx.Graph(WORKED_EDGES)
    assert edges_to_string(graph) == "0-2 1-2 1-3 2-3 2-4 3-4"
    assert edges(edges_from_string("0-2 1-2 1-3 2-3 2-4 3-4")) == WORKED_EDGES


@pytest.mark.parametrize("family", FAMILIES)
def test_edge_string_round_trip(family):
    graph = GraphSpec(family, 30).build(seed=2)
    text = edges_to_string(graph)
    assert edges(edges_from_string(text)) == edges(graph)
    assert edges_to_string(edges_from_string(text)) == text


def test_edge_string_orders_labels_as_integers():
    assert edges_to_string(nx.Graph([(10, 9), (2, 10)])) == "2-10 9-10"
    assert list(edges_from_string("9-10 10-2").nodes) == [2, 9, 10]


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "has no edges"),
        ("0-1 1-1", "self-loop"),
        ("0-1 2-3", "disconnected"),
        ("0-1,1-2", "'0-1,1-2'"),
        ("0-1 a-b", "'a-b'"),
        ("0-1 1-2-3", "'1-2-3'"),
        (float("nan"), "must be text"),
    ],
    ids=["empty", "self-loop", "disconnected", "commas", "non-integer", "three-ends", "nan"],
)
def test_edge_string_errors(text, match):
    with pytest.raises(SparseNASError, match=match):
        edges_from_string(text)


def test_edge_string_needs_non_negative_labels():
    with pytest.raises(SparseNASError, match="non-negative"):
        edges_to_string(nx.Graph([(-1, 0)]))
