"""The feature row of a graph wired into a cell: everything a predictor may use.

The graph-only features come from ``graphs`` (the thesis' 23 properties, the extended
spectral ones); the one feature that depends on the cell, ``params_nonzero``, comes from the
cell's parameter formula in ``models.cells``, for the default embedding width and a binary
readout. It leaves out the embedding table, whose size depends on the task's vocabulary, not
on the graph.
"""

from __future__ import annotations

import networkx as nx

from graphs.dag import LayeredDAG, layered_dag
from graphs.properties import THESIS_PROPERTIES, graph_properties
from graphs.spectral import EXTENDED_FEATURES, spectral_features
from graphs.wiring import WIRING_FEATURES
from models.cells import DEFAULT_EMBEDDING_DIM, check_cell, nonzero_params
from predictors.names import FEATURE_SET_NAMES

PARAMS_FEATURE = "params_nonzero"
"""The cell-dependent feature: the Sparse-RNN's nonzero parameters without the embedding."""

N_CLASSES = 2
"""Classes of the readout the feature assumes: the Reber tasks are binary."""

THESIS: tuple[str, ...] = THESIS_PROPERTIES
"""The 23 properties of the thesis' tables."""

ALL: tuple[str, ...] = (*THESIS, *EXTENDED_FEATURES, PARAMS_FEATURE)
"""The thesis' properties, the extended features (``dead_end_nodes`` among them) and the
Sparse-RNN's nonzero parameter count."""

SIZE_ONLY: tuple[str, ...] = ("nodes", "edges")
"""The size-only baseline's features."""

PROXY_FEATURES: tuple[str, ...] = ("proxy_grad_norm", "proxy_snip", "proxy_synflow", "proxy_jacov")
"""Zero-cost proxies of the untrained network (``models.proxies``), as table columns; a
table has them when ``nas.experiments.proxies`` added them (they need the task, so they
are never computed here)."""

WIRING: tuple[str, ...] = WIRING_FEATURES
"""How the layered DAG carries the input to the read-out (``graphs.wiring``); not in
``ALL`` (which the search describes every candidate by), computed from a table's
``edge_list`` when a feature set asks for them."""

FEATURE_SETS: dict[str, tuple[str, ...]] = dict(
    zip(
        FEATURE_SET_NAMES,
        (
            ALL,
            THESIS,
            SIZE_ONLY,
            PROXY_FEATURES,
            (*ALL, *PROXY_FEATURES),
            (*ALL, *WIRING),
            (*ALL, *WIRING, *PROXY_FEATURES),
        ),
        strict=True,
    )
)


def params_feature(dag: LayeredDAG, cell: str) -> float:
    """``params_nonzero`` of the ``cell`` Sparse-RNN wired by ``dag``, as a feature."""
    return float(nonzero_params(dag, cell, DEFAULT_EMBEDDING_DIM, N_CLASSES))


def feature_row(graph: nx.Graph, cell: str) -> dict[str, float]:
    """Every feature in ``ALL`` for ``graph`` wired into a ``cell`` Sparse-RNN:
    ``graph_properties``, then ``spectral_features`` (``dead_end_nodes`` appears once), then
    ``params_nonzero``.

    Raises
    ------
    SparseNASError
        For an unknown cell, or a graph ``graph_properties`` rejects (no edge, disconnected,
        self-loop, non-integer labels).
    """
    check_cell(cell)
    dag = layered_dag(graph)
    row = {**graph_properties(graph, dag), **spectral_features(graph, dag)}
    row[PARAMS_FEATURE] = params_feature(dag, cell)
    return row
