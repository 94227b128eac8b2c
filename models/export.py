"""A trained Sparse-RNN as a folder anyone can load: its graph, its weights and a card.

``save_exported`` writes, and ``load_exported`` reads back:

- ``graph.graphml`` and ``graph.edges``: the topology (``graphs.io``; the GraphML file is
  the one the network is rebuilt from, the edge list is for people and other tools);
- ``weights.pt``: the trained ``state_dict`` (graph masks included);
- ``card.json``: how to rebuild and use the network (cell, classes, the input: token
  vocabulary and tokenisation, or float features; embedding width; ``readout``, the neurons
  the read-out sees, ``last`` when a card made before it was recorded lacks it) and what
  it is (task,
  accuracy, graph properties, seeds, versions), plus the SHA-256 of both files, so a
  corrupt or swapped file is refused instead of giving wrong answers.

Rebuilt from the same files on the same machine, the network computes exactly what it
computed before export.

An export may come from someone else, so nothing in it is trusted: ``card.json`` is checked
against ``check_card``'s schema (types, ranges, and sizes that the weights file can hold)
before anything is built, and the weights are read with ``torch.load(weights_only=True)``
(tensors and plain containers only; no code), every failure one ``SparseNASError``.
"""

from __future__ import annotations

import hashlib
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

from core.checks import check_choice, check_int
from core.errors import SparseNASError, existing_folder
from graphs.dag import check_readout, layered_dag
from graphs.io import read_graph, write_graph
from models.cells import CELLS, DEFAULT_EMBEDDING_DIM
from models.networks import SparseRNNClassifier, parameter_counts

CARD = "card.json"
GRAPHML = "graph.graphml"
EDGES = "graph.edges"
WEIGHTS = "weights.pt"
FORMAT = "sparse-rnn-nas/export/1"
_REQUIRED = ("format", "cell", "n_classes", "input", "files")
# The card's sizes, bounded before any network is built (far above any task of this project).
MAX_VOCAB = 1_000_000
MAX_FEATURES = 100_000
MAX_CLASSES = 100_000
MAX_EMBEDDING = 4096
MAX_LENGTH = 100_000
"""Largest ``input.longest_trained`` a card may state (tokens of one training sequence)."""
_LEAST_BYTES_PER_WEIGHT = 2  # half precision: a weights file holds at least this per weight
_SHA256 = re.compile(r"[0-9a-f]{64}")
OLD_READOUT = "last"
"""The read-out of a card without ``readout``: every export made before it was recorded."""


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
    path = existing_folder(folder, "export folder")
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
    least, size = _least_weights(card) * _LEAST_BYTES_PER_WEIGHT, (path / WEIGHTS).stat().st_size
    if size < least:
        raise SparseNASError(
            f"'{path / WEIGHTS}' holds {size} bytes, fewer than the network of {CARD} needs "
            f"(at least {least}): it is truncated, or the card is not the one of these weights"
        )
    graph = read_graph(path / GRAPHML)
    model = build_network(graph, card)
    load_weights(model, path / WEIGHTS, "into the network")
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
    return check_card(card, f"'{file}'")


def check_card(card: Mapping[str, Any], source: str, *, received: bool = True) -> dict[str, Any]:
    """``card`` (as a dict) if its fields have the types and ranges loading relies on: the
    cell and read-out; ``n_classes``, ``embedding_dim`` and the input's sizes within
    ``MAX_*``; the vocabulary's ids in ``[1, vocab_size)``; and, for a ``received`` card
    (read from an export), one class name per class and a SHA-256 per file. Other fields (accuracy,
    seeds, versions...) are for people and are not read."""
    try:
        _check_network(card)
        if received:
            _check_received(card)
    except SparseNASError as exc:
        raise SparseNASError(f"{source} is invalid: {exc}") from None
    return dict(card)


def _check_received(card: Mapping[str, Any]) -> None:
    names, files = card.get("class_names"), card.get("files")
    if names is not None and (not _strings(names) or len(names) != card["n_classes"]):
        raise SparseNASError(
            f"class_names must be a list of {card['n_classes']} strings (one per class)"
        )
    if not isinstance(files, Mapping) or not all(
        isinstance(v, str) and _SHA256.fullmatch(v) for v in files.values()
    ):
        raise SparseNASError("files must map each file name to its SHA-256 (64 hex digits)")


def _check_network(card: Mapping[str, Any]) -> None:
    if not isinstance(card, Mapping):
        raise SparseNASError("it is not a JSON object")
    for key in ("cell", "n_classes", "input"):
        if key not in card:
            raise SparseNASError(f"it lacks {key}")
    check_choice(card["cell"], "cell", CELLS)
    check_int(card["n_classes"], "n_classes", low=2, high=MAX_CLASSES)
    check_int(card.get("embedding_dim", 1), "embedding_dim", low=1, high=MAX_EMBEDDING)
    check_readout(card.get("readout", OLD_READOUT))
    source = card["input"]
    if not isinstance(source, Mapping):
        raise SparseNASError("input must be an object")
    kind = check_choice(source.get("kind"), "input kind", ("tokens", "features"))
    if kind == "features":
        check_int(source.get("n_features"), "input.n_features", low=1, high=MAX_FEATURES)
        return
    size = check_int(source.get("vocab_size"), "input.vocab_size", low=2, high=MAX_VOCAB)
    if "longest_trained" in source:  # exports made before it was recorded lack it
        check_int(source["longest_trained"], "input.longest_trained", low=1, high=MAX_LENGTH)
    vocabulary = source.get("vocabulary")
    if not isinstance(vocabulary, Mapping) or not vocabulary:
        raise SparseNASError("input.vocabulary must map each token to its id")
    for token, number in vocabulary.items():
        if not token or isinstance(number, bool) or not isinstance(number, int):
            raise SparseNASError(f"input.vocabulary must map tokens to integer ids (got {token!r})")
        if not 1 <= number < size:
            raise SparseNASError(
                f"input.vocabulary's id of {token!r} must be in [1, {size - 1}] (got {number})"
            )


def _strings(values: object) -> bool:
    return isinstance(values, list) and all(isinstance(v, str) for v in values)


def _least_weights(card: Mapping[str, Any]) -> int:
    """Weights the card's network has at least: its embedding (or one per input feature)
    and one per class in the readout."""
    source = card["input"]
    if source["kind"] == "tokens":
        inputs = source["vocab_size"] * card.get("embedding_dim", DEFAULT_EMBEDDING_DIM)
    else:
        inputs = source["n_features"]
    return inputs + card["n_classes"]


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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
