"""An export folder's ``card.json`` and files, checked without torch (``models.export``
builds and loads the network): ``nas infer`` refuses a folder that is no export, a card
that fails the schema and a file that does not match its checksum before torch is imported.

Nothing in a received export is trusted: ``check_card`` holds the card to a schema (types,
ranges, and sizes that the weights file can hold) before anything is built.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from core.checks import check_choice, check_int
from core.errors import SparseNASError, existing_folder
from graphs.dag import check_readout
from models.cells import CELLS, DEFAULT_EMBEDDING_DIM

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


def checked_export(folder: str | PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """An export folder and its card, once the card passes ``check_card``, the graph and
    weights files are there and match their checksums, and the weights file is large
    enough for the network the card describes.

    Raises
    ------
    SparseNASError
        If the folder is missing, a file is missing, unreadable or does not match the
        card's checksum, or the card is invalid.
    """
    path = existing_folder(folder, "export folder")
    card = read_card(path)
    for name in (GRAPHML, WEIGHTS):
        file = path / name
        if not file.is_file():
            raise SparseNASError(f"export folder '{path}' is incomplete: {name} is missing")
        expected = card["files"].get(name)
        if expected != sha256_of(file):
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
    return path, card


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
    cell and read-out; ``n_classes``, ``embedding_dim`` and the input's sizes within ``MAX_*``; the
    vocabulary's ids in ``[1, vocab_size)``; and, for a ``received`` card (read from an
    export), one class name per class and a SHA-256 per file. Other fields (accuracy,
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
    check_readout(card.get("readout", OLD_READOUT))
    check_int(card["n_classes"], "n_classes", low=2, high=MAX_CLASSES)
    check_int(card.get("embedding_dim", 1), "embedding_dim", low=1, high=MAX_EMBEDDING)
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


def sha256_of(path: Path) -> str:
    """The SHA-256 (hex) a card records for each file of its export."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
