"""A predictor file's ``card.json``, read with the standard library alone.

``nas predictor predict`` reads the feature columns and the cell a predictor needs from it,
and checks the table against them, before scikit-learn and XGBoost are imported to load the
model (``predictors.persistence.load_predictor``, which validates the whole file).
"""

from __future__ import annotations

import json
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from core.errors import SparseNASError

CARD = "card.json"
_MAX_CARD_BYTES = 1 << 20
# Pickle protocol 2+, then the compressors joblib may wrap it in (gzip, bz2, xz, lzma, lz4).
_PICKLE_HEADS = (b"\x80", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")


def read_card(archive: zipfile.ZipFile, source: str) -> dict[str, Any]:
    """The archive's card.json as a dict (a SparseNASError when absent or not JSON)."""
    if CARD not in archive.namelist():
        raise SparseNASError(f"{source} is not a predictor saved by `nas predictor train`")
    if archive.getinfo(CARD).file_size > _MAX_CARD_BYTES:
        raise SparseNASError(f"{source} has a {CARD} larger than {_MAX_CARD_BYTES} bytes")
    try:
        card = json.loads(archive.read(CARD).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SparseNASError(f"{source} has a {CARD} that is not JSON ({exc})") from None
    if not isinstance(card, dict):
        raise SparseNASError(f"{source} has a {CARD} that is not a JSON object")
    return card


def card_columns(path: str | PathLike[str]) -> tuple[tuple[str, ...], str | None] | None:
    """The feature names and the cell a predictor file's card names, or None when the file
    is no predictor zip with a readable card (``load_predictor`` then says what is wrong)."""
    try:
        with zipfile.ZipFile(path) as zipped:
            card = read_card(zipped, "")
    except (SparseNASError, zipfile.BadZipFile, OSError, EOFError, ValueError):
        return None
    features, cell = card.get("features"), card.get("cell")
    if (
        not isinstance(features, list)
        or not features
        or not all(isinstance(name, str) for name in features)
    ):
        return None
    return tuple(features), cell if isinstance(cell, str) else None


def predictor_source(path: str | PathLike[str]) -> str:
    """How messages name a predictor file."""
    return f"predictor file '{path}'"


def predictor_kind(path: Path, *, trust_pickle: bool = False) -> Literal["zip", "pickle"]:
    """Whether a predictor file is a zip (this format) or, with ``trust_pickle``, a pickle
    of format 1; anything else is refused here, from its first bytes (no library loaded).

    Raises
    ------
    SparseNASError
        For a pickle without ``trust_pickle`` (saying how to fix it), or a file that is
        neither a zip nor a pickle.
    """
    source = predictor_source(path)
    if zipfile.is_zipfile(path):
        return "zip"
    if not _looks_pickled(path):
        raise SparseNASError(f"{source} is corrupt or not a predictor file")
    if not trust_pickle:
        raise SparseNASError(
            f"{source} is an old-format predictor (a pickle, which can run code when "
            "loaded): train it again with `nas predictor train`, or pass --trust-pickle "
            "if you made the file yourself"
        )
    return "pickle"


def _looks_pickled(path: Path) -> bool:
    """Whether ``path`` starts like a pickle or a compressed joblib file (format 1)."""
    with open(path, "rb") as stream:
        head = stream.read(8)
    if head.startswith(_PICKLE_HEADS):
        return True
    # zlib (joblib's default compressor): CMF 8 (deflate) and a header divisible by 31.
    return len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] * 256 + head[1]) % 31 == 0
