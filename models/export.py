"""A trained Sparse-RNN as a folder anyone can load: its graph, its weights and a card.

``save_exported`` writes, and ``load_exported`` reads back:

- ``graph.graphml`` and ``graph.edges``: the topology (``graphs.io``; the GraphML file is
  the one the network is rebuilt from, the edge list is for people and other tools);
- ``weights.pt``: the trained ``state_dict`` (graph masks included);
- ``card.json``: how to rebuild and use the network (cell, classes, the input: token
  vocabulary and tokenisation, or float features; embedding width) and what it is (task,
  accuracy, graph properties, seeds, versions), plus the SHA-256 of both files, so a
  corrupt or swapped file is refused instead of giving wrong answers.

Rebuilt from the same files on the same machine, the network computes exactly what it
computed before export.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import networkx as nx
import torch

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.io import read_graph, write_graph
from models.cells import DEFAULT_EMBEDDING_DIM, check_cell
from models.networks import SparseRNNClassifier, parameter_counts

CARD = "card.json"
GRAPHML = "graph.graphml"
EDGES = "graph.edges"
WEIGHTS = "weights.pt"
FORMAT = "sparse-rnn-nas/export/1"
_REQUIRED = ("format", "cell", "n_classes", "input", "files")


@dataclass(frozen=True)
class ExportedNetwork:
    """A loaded export: the network (in eval mode), its graph and its card."""

    model: SparseRNNClassifier
    graph: nx.Graph
    card: dict[str, Any]


def build_network(graph: nx.Graph, card: dict[str, Any]) -> SparseRNNClassifier:
    """The (untrained) classifier the card describes, wired by ``graph``."""
    source = card.get("input") or {}
    kind = source.get("kind")
    if kind == "tokens":
        shape = {"vocab_size": int(source["vocab_size"])}
    elif kind == "features":
        shape = {"n_features": int(source["n_features"])}
    else:
        raise SparseNASError(f"the card's input kind must be tokens or features (got {kind!r})")
    return SparseRNNClassifier(
        layered_dag(graph),
        check_cell(card["cell"]),
        int(card["n_classes"]),
        embedding_dim=int(card.get("embedding_dim", DEFAULT_EMBEDDING_DIM)),
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
            "the card does not describe the network's shape (cell, input, classes)"
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
            "files": {name: _sha256(out / name) for name in (GRAPHML, EDGES, WEIGHTS)},
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
    path = Path(folder)
    if not path.is_dir():
        raise SparseNASError(f"export folder '{path}' does not exist or is not a folder")
    card = read_card(path)
    for name in (GRAPHML, WEIGHTS):
        file = path / name
        if not file.is_file():
            raise SparseNASError(f"export folder '{path}' is incomplete: {name} is missing")
        expected = card["files"].get(name)
        if expected != _sha256(file):
            raise SparseNASError(
                f"'{file}' does not match its checksum in {CARD}: the file is corrupt or "
                "from another export"
            )
    graph = read_graph(path / GRAPHML)
    model = build_network(graph, card)
    try:
        state = torch.load(path / WEIGHTS, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, OSError, ValueError, TypeError, AttributeError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise SparseNASError(
            f"cannot load '{path / WEIGHTS}' into the network ({reason})"
        ) from None
    model.eval()
    return ExportedNetwork(model=model, graph=graph, card=card)


def read_card(folder: Path) -> dict[str, Any]:
    """The export's ``card.json``, checked to hold what loading needs."""
    file = folder / CARD
    if not file.is_file():
        raise SparseNASError(f"'{folder}' is not an export folder ({CARD} is missing)")
    try:
        card = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SparseNASError(f"cannot read '{file}': {exc}") from None
    if not isinstance(card, dict):
        raise SparseNASError(f"'{file}' does not hold a JSON object")
    missing = [key for key in _REQUIRED if key not in card]
    if missing:
        raise SparseNASError(f"'{file}' is incomplete: it lacks {', '.join(missing)}")
    if card["format"] != FORMAT:
        raise SparseNASError(f"'{file}' has format {card['format']!r}; this version reads {FORMAT}")
    if not isinstance(card["files"], dict) or not isinstance(card["input"], dict):
        raise SparseNASError(f"'{file}' is malformed: files and input must be objects")
    return card


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
