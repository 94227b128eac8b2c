"""Topology tables: sample many graphs with their properties, or describe graph files.

Both produce the property columns of the evaluations table, so a sampled pool, a folder of
GraphML files and a finished search can be compared row for row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from core.checks import check_int
from core.errors import SparseNASError
from core.seeds import child_seeds
from graphs.families import FAMILIES
from graphs.generators import GraphSpec, sample_thesis
from graphs.io import edges_to_string, read_graph
from graphs.properties import graph_properties

if TYPE_CHECKING:  # pandas costs ~0.4 s of imports; `nas evaluate` needs none of it
    import pandas as pd

Progress = Callable[[], None]

MAX_COUNT = 1_000_000
"""Most graphs per family ``sample_topologies`` draws: a row takes about 0.8 kB in the table
and 1.5 ms to draw (thesis preset), so a million rows per family (three families: about
2.3 GB, over an hour) is the most a table on a usual machine holds; the thesis drew
hundreds. Checked before the first draw."""


def check_count(count: object) -> int:
    """``count`` if it is a number of graphs per family ``sample_topologies`` draws: an
    integer in [1, MAX_COUNT]."""
    check_int(count, "count", low=1)
    return check_int(count, "count", high=MAX_COUNT)


def sample_topologies(
    families: Sequence[str], count: int, seed: int, advance: Progress | None = None
) -> pd.DataFrame:
    """``count`` graphs of each family from the thesis preset, one row each.

    Graph i of a family uses the i-th child seed of (seed, family), so adding families keeps
    the rows already drawn.
    """
    check_count(count)
    rows = []
    for family in families:
        for graph_seed in child_seeds([seed, FAMILIES.index(family)], count):
            spec, graph = sample_thesis(family, graph_seed)
            rows.append(
                {
                    **asdict(spec),
                    "graph_seed": graph_seed,
                    **graph_properties(graph),
                    "edge_list": edges_to_string(graph),
                }
            )
            if advance is not None:
                advance()
    import pandas as pd

    return pd.DataFrame(rows)


GRAPH_SUFFIXES = (".graphml", ".xml", ".txt", ".edgelist", ".edges")


def graph_files(paths: Iterable[Path]) -> list[Path]:
    """The given files, with each folder replaced by its graph files (sorted by name)."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in GRAPH_SUFFIXES)
            if not found:
                raise SparseNASError(
                    f"folder {path} holds no graph files ({', '.join(GRAPH_SUFFIXES)})"
                )
            files.extend(found)
        else:
            files.append(path)
    return files


def topologies_to_evaluate(
    paths: Iterable[Path] | None,
    family: str,
    nodes: int,
    k: int | None,
    p: float | None,
    m: int | None,
    seed: int,
) -> dict[str, nx.Graph]:
    """The graphs ``nas evaluate`` trains, by name: those read from ``paths`` (files, or
    folders of them), or else one graph of ``family`` drawn with ``seed``."""
    if paths:
        return {str(path): read_graph(path) for path in graph_files(paths)}
    return {f"{family}:{nodes}": GraphSpec(family, nodes, k, p, m).build(seed)}


def describe_files(paths: Iterable[Path], advance: Progress | None = None) -> pd.DataFrame:
    """Properties of graph files, one row per file; first column ``graph`` is the file name."""
    rows = []
    for path in paths:
        rows.append({"graph": Path(path).name, **graph_properties(read_graph(path))})
        if advance is not None:
            advance()
    if not rows:
        raise SparseNASError("no graph files given")
    import pandas as pd

    return pd.DataFrame(rows)
