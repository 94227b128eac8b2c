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

Time-unfolded (:func:`unfolded_expansion`). Unfolded over time, recurrent layer ``l`` is a
chain of bipartite layers, one per step: its inputs at step ``t`` (``x_t`` for the first
layer, ``h^{l-1}_t`` above it) together with ``h^l_{t-1}`` on one side, ``h^l_t`` on the
other; the weights are shared over time, so every step's bipartite layer is the same graph,
the masks of ``W_ih`` and ``W_hh`` side by side (``step``). Across ``k`` steps the paths of
the unfolded graph join ``h_{t-k}`` to ``h_t`` (``h->h``: the boolean ``k``-th power of the
hidden-to-hidden graph) and ``x_{t-k+1}`` to ``h_t`` (``x->h``: ``k - 1`` hidden steps after
the input one); ``k = 1`` gives the two matrices themselves. These are unit graphs: a unit
reads an input when any of its gates does.

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

from core.checks import check_int
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


def _gate_count(model: nn.Module) -> int:
    return len(next((g for kind, g in GATE_NAMES.items() if isinstance(model.rnn, kind)), ("h",)))


def _units(mask: np.ndarray, gates: int) -> np.ndarray:
    """A stacked-gates mask (gates * units x inputs) as a unit graph: a unit reads an input
    when any of its gates does."""
    return mask.reshape(gates, -1, mask.shape[1]).any(axis=0)


def _reach(first: np.ndarray, hidden: np.ndarray, hops: int) -> np.ndarray:
    """Paths of ``hops`` further hidden steps after ``first`` (boolean matrix powers)."""
    result = first.astype(bool)
    for _ in range(hops):
        result = (hidden.astype(np.int64) @ result.astype(np.int64)) > 0
    return result


def unfolded_expansion(model: nn.Module, spans: tuple[int, ...] = (1,)) -> list[dict[str, object]]:
    """The time-unfolded network's bipartite layers (module doc), one row each: ``layer``,
    ``kind`` (``step``: inputs and previous hidden state to the next hidden state, gates
    stacked; ``x->h`` and ``h->h``: unit graphs across ``span`` steps), ``span`` and the
    ``EXPANSION_MEASURES``."""
    for span in spans:
        check_int(span, "span", low=1)
    gates = _gate_count(model)
    masks = {
        (w.layer, w.kind): weight_mask(w).detach().cpu().numpy() != 0
        for w in prunable_weights(model, "both")
    }
    rows = []
    for layer in sorted({layer for layer, _ in masks}):
        ih, hh = masks[(layer, "i2h")], masks[(layer, "h2h")]
        step = np.concatenate([ih, hh], axis=1)
        rows.append({"layer": layer, "kind": "step", "span": 1, **bipartite_expansion(step)})
        unit_ih, unit_hh = _units(ih, gates), _units(hh, gates)
        for span in spans:
            for kind, first in (("x->h", unit_ih), ("h->h", unit_hh)):
                graph = _reach(first, unit_hh, span - 1)
                rows.append(
                    {"layer": layer, "kind": kind, "span": span, **bipartite_expansion(graph)}
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
