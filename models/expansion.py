"""Do pruned layers stay expanders? Bipartite expansion measures of pruned weight matrices.

Each weight matrix ``W`` (outputs x inputs) is read as a bipartite graph: an edge joins input
``j`` and output ``i`` where ``W[i, j]`` survives pruning (its mask is 1). The spectral
measures are those of ``graphs.spectral.bipartite_spectrum``, as for a pair of consecutive
Sparse-RNN layers (the same code computes them), so pruned dense layers and graph-wired
layers are directly comparable:

* ``s1 >= s2``: the two largest singular values of the 0/1 biadjacency matrix;
* ``spectral_gap = s1 - s2``;
* ``ramanujan_bound = sqrt(max(d_in - 1, 0)) + sqrt(max(d_out - 1, 0))`` with the average
  degrees ``d_in = edges / inputs`` and ``d_out = edges / outputs``;
* ``ramanujan_gap = ramanujan_bound - s2``: positive when the layer expands at least as well
  as a Ramanujan graph of those degrees; ``expander`` is ``ramanujan_gap > 0``;
* connectivity: ``components`` of the bipartite graph (isolated nodes included), and the
  ``isolated_inputs`` (read by no output) and ``isolated_outputs`` (reading no input);
* degrees: ``min_input_degree`` (outputs the least-read input feeds), ``min_output_degree``
  (inputs the poorest output reads), and the means ``mean_input_degree = edges / inputs``
  and ``mean_output_degree = edges / outputs``.

The unnormalised ``spectral_gap`` rewards uneven degrees (``s1`` grows with them), and when
every output reads at most one input the graph is a forest of stars whose ``s1`` and ``s2``
are the square roots of the two largest stars (0 gap for equal stars, whatever the layout);
at a fixed sparsity the ``ramanujan_gap`` is the fairer expansion measure.

References
----------
.. [1] S. A. Kalra, A. Biswas, P. Mitra, B. Basu, Graph Expansion in Pruned Recurrent Neural
   Network Layers Preserve Performance, Tiny Papers @ ICLR 2024 (arXiv 2403.11100).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from torch import nn

from graphs.spectral import bipartite_spectrum
from models.pruning import prunable_weights, weight_mask

EXPANSION_MEASURES: tuple[str, ...] = (
    "inputs",
    "outputs",
    "edges",
    "density",
    "s1",
    "s2",
    "spectral_gap",
    "ramanujan_bound",
    "ramanujan_gap",
    "expander",
    "components",
    "isolated_inputs",
    "isolated_outputs",
    "min_input_degree",
    "min_output_degree",
    "mean_input_degree",
    "mean_output_degree",
)

#: Gate blocks of the stacked torch weights, in PyTorch's order.
GATE_NAMES: dict[type, tuple[str, ...]] = {
    nn.RNN: ("h",),
    nn.GRU: ("r", "z", "n"),
    nn.LSTM: ("i", "f", "g", "o"),
}


def bipartite_expansion(mask: torch.Tensor | np.ndarray) -> dict[str, float]:
    """The ``EXPANSION_MEASURES`` of a 2-d 0/1 mask (outputs x inputs; nonzero = edge)."""
    biadjacency = (np.asarray(mask.detach().cpu() if torch.is_tensor(mask) else mask) != 0).T
    n_in, n_out = biadjacency.shape
    spectrum = bipartite_spectrum(biadjacency)
    adjacency = np.zeros((n_in + n_out, n_in + n_out))
    adjacency[:n_in, n_in:] = biadjacency
    adjacency[n_in:, :n_in] = biadjacency.T
    edges = int(biadjacency.sum())
    rows, cols = np.nonzero(adjacency)
    graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=adjacency.shape)
    components = int(connected_components(graph, directed=False)[0])
    input_degrees, output_degrees = biadjacency.sum(axis=1), biadjacency.sum(axis=0)
    return {
        "inputs": float(n_in),
        "outputs": float(n_out),
        "edges": float(edges),
        "density": edges / (n_in * n_out),
        "s1": spectrum["s1"],
        "s2": spectrum["s2"],
        "spectral_gap": spectrum["gap"],
        "ramanujan_bound": spectrum["ramanujan_bound"],
        "ramanujan_gap": spectrum["ramanujan_gap"],
        "expander": float(edges > 0 and spectrum["ramanujan_gap"] > 0),
        "components": float(components),
        "isolated_inputs": float((input_degrees == 0).sum()),
        "isolated_outputs": float((output_degrees == 0).sum()),
        "min_input_degree": float(input_degrees.min()),
        "min_output_degree": float(output_degrees.min()),
        "mean_input_degree": edges / n_in,
        "mean_output_degree": edges / n_out,
    }


def layer_expansion(
    model: nn.Module, target: str = "both", *, per_gate: bool = False
) -> list[dict[str, object]]:
    """One row per weight matrix of ``target`` (per gate block with ``per_gate``): ``name``,
    ``kind``, ``layer``, ``gate`` (``all``, or the gate's letter) and the
    ``EXPANSION_MEASURES`` of its mask (an unpruned matrix is complete bipartite)."""
    rows = []
    gate_names = next(
        (names for kind, names in GATE_NAMES.items() if isinstance(model.rnn, kind)), ("h",)
    )
    for weight in prunable_weights(model, target):
        mask = weight_mask(weight)
        blocks = [("all", mask)]
        if per_gate and weight.kind in ("i2h", "h2h"):
            blocks = list(zip(gate_names, mask.chunk(len(gate_names), dim=0), strict=True))
        for gate, block in blocks:
            rows.append(
                {
                    "name": weight.name,
                    "kind": weight.kind,
                    "layer": weight.layer,
                    "gate": gate,
                    **bipartite_expansion(block),
                }
            )
    return rows


def expansion_summary(rows: list[dict[str, object]]) -> dict[str, float]:
    """Aggregate :func:`layer_expansion` rows: min and mean of ``spectral_gap`` and
    ``ramanujan_gap``, the fraction of matrices that are ``expander``s, the totals of
    isolated inputs and outputs, and the smallest input and output degree."""
    if not rows:
        return {}
    spectral = np.asarray([r["spectral_gap"] for r in rows], dtype=float)
    ramanujan = np.asarray([r["ramanujan_gap"] for r in rows], dtype=float)
    return {
        "spectral_gap_min": float(spectral.min()),
        "spectral_gap_mean": float(spectral.mean()),
        "ramanujan_gap_min": float(ramanujan.min()),
        "ramanujan_gap_mean": float(ramanujan.mean()),
        "expander_fraction": float(np.mean([r["expander"] for r in rows])),
        "isolated_inputs": float(sum(r["isolated_inputs"] for r in rows)),
        "isolated_outputs": float(sum(r["isolated_outputs"] for r in rows)),
        "min_input_degree": float(min(r["min_input_degree"] for r in rows)),
        "min_output_degree": float(min(r["min_output_degree"] for r in rows)),
    }
