"""Wiring features: how the layered DAG carries the input to the read-out (graph-only).

The Sparse-RNN feeds its input into layer 0, reads out the last layer and keeps a dense
recurrence inside each layer (``models.cells.recurrent_weights``). These features describe
that route, where the thesis' properties (``graphs.properties``) and the extended ones
(``graphs.spectral``) describe distances, centralities and spectra: the narrowest layer and
where it sits, the read-out's width, the weights inside layers, the skip edges, the fewest
edges whose removal cuts the input off from the read-out, and the share of neurons that
reach the read-out at all. A narrow early layer or many neurons that never reach the
read-out throttle a network however large it is.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from graphs.dag import LayeredDAG

WIRING_FEATURES: tuple[str, ...] = (
    "readout_width",
    "second_layer_width",
    "readout_input_ratio",
    "bottleneck_width",
    "bottleneck_depth_share",
    "intra_layer_weights",
    "skip_edges",
    "skip_share",
    "edge_span_mean",
    "io_edge_cut",
    "readout_reach_share",
)
"""Every feature ``wiring_features`` returns, in a stable order."""

_SOURCE, _SINK = "input", "readout"


def wiring_features(dag: LayeredDAG) -> dict[str, float]:
    """The ``WIRING_FEATURES`` of ``dag`` (at least one edge, so at least two layers).

    - ``readout_width``, ``second_layer_width``: neurons of the last layer (what the "last"
      read-out sees) and of layer 1; ``readout_input_ratio``: last layer over layer 0.
    - ``bottleneck_width``: the smallest layer; ``bottleneck_depth_share``: its layer over
      the last layer's (the first smallest one; 0 = at the input, 1 = at the read-out).
    - ``intra_layer_weights``: sum of squared layer sizes, the dense recurrence inside layers.
    - ``skip_edges``, ``skip_share``: edges that bridge more than one layer, as a count and a
      share; ``edge_span_mean``: mean layers an edge bridges.
    - ``io_edge_cut``: the fewest DAG edges whose removal leaves no directed path from layer 0
      to the last layer (max-flow, unit capacities).
    - ``readout_reach_share``: share of neurons with a directed path to the last layer (the
      last layer included).

    Examples
    --------
    >>> from graphs.dag import layered_dag
    >>> dag = layered_dag(nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]))
    >>> wiring_features(dag)["io_edge_cut"], wiring_features(dag)["bottleneck_width"]
    (2.0, 1.0)
    """
    sizes = np.asarray(dag.layer_sizes, dtype=float)
    spans = np.array([dag.layer_of[v] - dag.layer_of[u] for u, v in dag.edges], dtype=float)
    flow = nx.DiGraph()
    flow.add_edges_from(dag.edges, capacity=1.0)
    flow.add_edges_from((_SOURCE, node) for node in dag.layers[0])  # no capacity: unbounded
    flow.add_edges_from((node, _SINK) for node in dag.layers[-1])
    reach = len(nx.ancestors(flow, _SINK)) - 1  # every ancestor but the input node
    narrowest = int(sizes.argmin())
    return {
        "readout_width": float(sizes[-1]),
        "second_layer_width": float(sizes[1]),
        "readout_input_ratio": float(sizes[-1] / sizes[0]),
        "bottleneck_width": float(sizes[narrowest]),
        "bottleneck_depth_share": narrowest / (len(sizes) - 1),
        "intra_layer_weights": float((sizes**2).sum()),
        "skip_edges": float((spans > 1).sum()),
        "skip_share": float((spans > 1).mean()),
        "edge_span_mean": float(spans.mean()),
        "io_edge_cut": float(nx.maximum_flow_value(flow, _SOURCE, _SINK)),
        "readout_reach_share": reach / dag.n_nodes,
    }
