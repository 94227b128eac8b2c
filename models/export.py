"""A trained Sparse-RNN as a folder anyone can load: its graph, its weights and a card.

``save_exported`` writes, and ``load_exported`` reads back:

- ``graph.graphml`` and ``graph.edges``: the topology (``graphs.io``; the GraphML file is
  the one the network is rebuilt from, the edge list is for people and other tools);
- ``weights.pt``: the trained ``state_dict`` (graph masks included);
- ``card.json``: how to rebuild and use the network (cell, classes, the input: token
  vocabulary and tokenisation, or float features; embedding width; ``readout``, the neurons
  the read-out sees, ``last`` when a card made before it was recorded lacks it) and what it
  is (task, accuracy, graph properties, seeds, versions), plus the SHA-256 of both files, so a
  corrupt or swapped file is refused instead of giving wrong answers.

Rebuilt from the same files on the same machine, the network computes exactly what it
computed before export.

An export may come from someone else, so nothing in it is trusted: ``card.json`` is checked
against ``check_card``'s schema (types, ranges, and sizes that the weights file can hold)
before anything is built (``models.export_card``, which needs no torch), and the weights
are read with ``torch.load(weights_only=True)`` (tensors and plain containers only; no
code), every failure one ``SparseNASError``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import networkx as nx
import torch

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.io import read_graph, write_graph
from models.cells import DEFAULT_EMBEDDING_DIM
from models.export_card import (
    CARD,
    EDGES,
    FORMAT,
    GRAPHML,
    OLD_READOUT,
    WEIGHTS,
    check_card,
    checked_export,
    sha256_of,
)
from models.networks import SparseRNNClassifier, parameter_counts


@dataclass(frozen=True)
class ExportedNetwork:
    """A loaded export: the network (in eval mode), its graph and its card."""

    model: SparseRNNClassifier
    graph: nx.Graph
    card: dict[str, Any]


def build_network(graph: nx.Graph, card: dict[str, Any]) -> SparseRNNClassifier:
    """The (untrained) classifier the card describes, wired by ``graph``."""
    check_card(card, "the card", received=False)
    source = card["input"]
    if source["kind"] == "tokens":
        shape = {"vocab_size": source["vocab_size"]}
    else:
        shape = {"n_features": source["n_features"]}
    return SparseRNNClassifier(
        layered_dag(graph),
        card["cell"],
        card["n_classes"],
        embedding_dim=card.get("embedding_dim", DEFAULT_EMBEDDING_DIM),
        readout=card.get("readout", OLD_READOUT),
        **shape,
    )


def save_exported(
    model: SparseRNNClassifier,
    graph: nx.Graph,
    card: dict[str, Any],
    folder: str | PathLike[str],
) -> list[Path]:
    """Write ``model`` (trained, wired by ``graph``) and ``card`` into ``folder``; the card
    gets the format, the parameter counts and the files' SHA-256. Returns the files.

    Raises
    ------
    SparseNASError
        If the folder cannot be written, or the card does not describe ``model``.
    """
    out = Path(folder)
    expected = {k: v.shape for k, v in build_network(graph, card).state_dict().items()}
    if expected != {k: v.shape for k, v in model.state_dict().items()}:
        raise SparseNASError(
            "the card does not describe the network's shape (cell, input, classes, read-out)"
        )
    if card.get("readout", OLD_READOUT) != model.rnn.readout_kind:  # same shape, other neurons
        raise SparseNASError(
            f"the card's readout {card.get('readout', OLD_READOUT)!r} is not the network's "
            f"({model.rnn.readout_kind!r})"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_graph(graph, out / GRAPHML)
        write_graph(graph, out / EDGES)
        torch.save(model.state_dict(), out / WEIGHTS)
        full = {
            "format": FORMAT,
            **card,
            **parameter_counts(model),
            "files": {name: sha256_of(out / name) for name in (GRAPHML, EDGES, WEIGHTS)},
        }
        (out / CARD).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SparseNASError(f"cannot write into '{out}': {exc.strerror or exc}") from None
    return [out / name for name in (CARD, GRAPHML, EDGES, WEIGHTS)]


def load_exported(folder: str | PathLike[str]) -> ExportedNetwork:
    """The trained network of an export folder, rebuilt and in eval mode.

    Raises
    ------
    SparseNASError
        If the folder is missing, a file is missing, unreadable or does not match the
        card's checksum, or the weights do not fit the network the card describes.
    """
    path, card = checked_export(folder)
    graph = read_graph(path / GRAPHML)
    model = build_network(graph, card)
    load_weights(model, path / WEIGHTS, "into the network")
    model.eval()
    return ExportedNetwork(model=model, graph=graph, card=card)


def load_weights(model: torch.nn.Module, path: Path, purpose: str = "") -> None:
    """Load the ``state_dict`` in ``path`` into ``model``, reading tensors only
    (``weights_only=True``). Any failure (not a weights file, truncated, an object that is
    not a tensor, shapes of another network) is one SparseNASError."""
    where = f"'{path}' {purpose}".rstrip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols: not for users
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (a crafted or damaged file raises anything)
        raise SparseNASError(f"cannot load {where}: {_unreadable(exc, path)}") from None
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise SparseNASError(f"cannot load {where}: it does not hold a state_dict of tensors")
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, TypeError) as exc:
        # torch lists one problem per "\n\t" line: name the first, count the others.
        problems = [" ".join(p.split()) for p in str(exc).split("\n\t")[1:] if p.strip()]
        reason = problems[0][:200] if problems else " ".join(str(exc).split())[:200]
        more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise SparseNASError(f"cannot load {where}: it does not fit ({reason}{more})") from None


def _unreadable(exc: Exception, path: Path) -> str:
    """Why torch could not read a weights file, without torch's advice to unpickle it."""
    if isinstance(exc, (PermissionError, FileNotFoundError, IsADirectoryError)):
        return f"it cannot be read ({exc.strerror})"
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
    if found:
        return (
            f"it refers to {found.group(1)}, which a weights file never holds (it holds "
            "tensors only; the file is not loaded)"
        )
    if isinstance(exc, EOFError):
        return "it is empty or truncated"
    with open(path, "rb") as stream:
        zipped = stream.read(4) == b"PK\x03\x04"
    if zipped:
        return f"it is a damaged or truncated PyTorch zip file ({type(exc).__name__})"
    return f"it is not a PyTorch weights file ({type(exc).__name__})"
