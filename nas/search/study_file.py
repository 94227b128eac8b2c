"""A run dir's SQLite study file and its owner, checked with the standard library alone.

``nas search`` opens it through Optuna (``nas.search.storage``), and ``nas rank``, ``nas
report`` and ``nas export`` read it; all of them refuse an empty or junk ``study.db`` with
this module's one check, and the readers do it before Optuna, pandas or torch are imported,
so the error comes at once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from core.errors import SparseNASError
from nas.search.urls import shown_url, sqlite_path, stored_url

STUDY_DB = "study.db"
"""The study file in a search's out dir."""
CONFIG = "config.json"
"""A run's settings in its out dir."""
EVALUATIONS = "evaluations"
"""The stem of a search's exported tables (``evaluations.csv``, ``.parquet``)."""
SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""
FILLING_SECONDS = 2.0
"""A file modified this recently may be one another process is creating right now."""
FILL_WAIT = 1.0
"""How long such a file is given to become a database (it takes milliseconds)."""


def check_storage_file(url: str) -> None:
    """``check_study_file`` for the file of a ``sqlite:///`` storage URL; other storages are
    opened (and refused) by ``nas.search.storage.open_storage``."""
    path = sqlite_path(url)
    if path is not None:
        check_study_file(shown_url(url), path)


def check_study_file(shown: str, path: Path) -> None:
    """Refuse an existing ``path`` that is no SQLite database (empty or junk), or a path
    under a file; a missing file is a new study, and is left to whoever creates it.
    ``shown`` is the storage URL as messages show it (without a password).

    A file modified within ``FILLING_SECONDS`` may belong to a process that is creating the
    study right now (two commands started on one fresh storage): it gets ``FILL_WAIT``
    seconds to become a database. An older one is refused at once.
    """
    for folder in path.parents:  # the study's folder cannot be made where a file is
        if folder.exists() and not folder.is_dir():
            raise SparseNASError(f"cannot open storage {shown!r}: {folder} is a file, not a folder")
    reason = _not_a_database(path)
    if reason is None:
        return
    if time.time() - path.stat().st_mtime < FILLING_SECONDS:
        waited = time.monotonic() + FILL_WAIT
        while reason is not None and time.monotonic() < waited:
            time.sleep(0.05)
            reason = _not_a_database(path)
        if reason is None:
            return
    raise SparseNASError(
        f"cannot open storage {shown!r}: {path} is {reason}; remove it to start a new study there"
    )


def _not_a_database(path: Path) -> str | None:
    """Why ``path`` is no SQLite database, or None (also when it is no file: a new study, or
    a path whoever opens it refuses)."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as stream:
            head = stream.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc}), not a study"
    if not head:
        return "an empty file, not a study"
    if head != SQLITE_HEADER:
        return "not a SQLite database, not a study"
    return None


def check_out_owner(out: Path, study: str, storage: str) -> None:
    """Refuse an out dir whose ``config.json`` belongs to another study (another name or
    storage): its exports (tables, ``best/``, ``config.json``) would be overwritten."""
    try:
        config = json.loads((out / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no exports yet (or none readable: nothing of another study to protect)
    if not isinstance(config, dict):
        return
    base = out if config.get("storage_relative_to") == RUN_DIR else None
    owner = (config.get("study"), _same_storage(stored_url(config.get("storage")), base))
    if owner != (study, _same_storage(stored_url(storage))):
        raise SparseNASError(
            f"{out} holds the exports of study {owner[0]!r} "
            f"({shown_url(config.get('storage'))}); "
            f"choose another --out for study {study!r} ({shown_url(storage)})"
        )


RUN_DIR = "run dir"
"""``config.json``'s ``storage_relative_to`` when its SQLite path is relative to the run dir."""


def _same_storage(url: Any, base: Path | None = None) -> Any:
    """A SQLite URL with its path made absolute (a relative one against ``base``, else the
    working folder), so two spellings of one file compare equal."""
    path = sqlite_path(url)
    if path is None:
        return url
    return "sqlite:///" + str(((base / path) if base is not None else path).resolve())
