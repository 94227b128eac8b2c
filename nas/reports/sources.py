"""The sources a report or ranking names, checked without reading them: no pandas, Optuna
or plotly is imported here, so ``nas rank``, ``nas report`` and ``nas export`` refuse a
missing folder or a bad combination of options at once (``nas.reports.data`` reads them)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from core.errors import SparseNASError, existing_file, existing_folder
from nas.search.study_file import EVALUATIONS, STUDY_DB, check_study_file
from nas.search.urls import check_storage_url


def check_run_dir(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path if it is a folder holding a study (``study.db``, a SQLite
    database) or an ``evaluations.csv``; else the one-line error every reader gives (an
    empty or junk study file is refused, as ``nas search`` refuses it, never passed over for
    evaluations.csv)."""
    folder = existing_folder(run_dir, "run dir")
    db = folder / STUDY_DB
    if db.is_file():
        check_study_file(f"sqlite:///{db}", db)
    elif not (folder / f"{EVALUATIONS}.csv").is_file():
        raise SparseNASError(
            f"'{folder}' is not a search's out dir (no {STUDY_DB} and no {EVALUATIONS}.csv)"
        )
    return folder


def check_sources(
    run_dirs: Sequence[str | Path] | None,
    storage: str | None,
    studies: Sequence[str] | None,
    tables: Sequence[str | Path] | None,
    *,
    one: bool = False,
) -> None:
    """Something is named (``one``: exactly one source), ``--storage`` and ``--study`` come
    together, the storage URL has a dialect, and every run dir and table exists."""
    if one and sum(bool(x) for x in (run_dirs, studies or storage, tables)) != 1:
        raise SparseNASError("name one source: a run dir, --storage with --study, or --data")
    if bool(storage) != bool(studies):
        raise SparseNASError("--storage and --study go together: give both")
    if not (run_dirs or studies or tables):
        raise SparseNASError("name a run dir, --storage with --study, or --data TABLE")
    if storage:
        check_storage_url(storage)
    for folder in run_dirs or ():
        check_run_dir(folder)
    for table in tables or ():
        existing_file(table, "evaluations table")


PRUNE_MATCH = "prune_match.csv"
PRUNE_MATCH_COLUMNS = (
    "nodes", "edges", "layer_sizes", "dense_retrained_acc", "sparse_rnn_acc", "sparsity",
)  # fmt: skip


def check_prune_match(path: str | Path) -> str:
    """How messages name a prune match file, once it exists, is UTF-8 text and its header
    has the columns the report places (``nas.reports.analysis.read_prune_match`` reads the
    rest); read with the csv module, so a wrong file is refused before pandas loads."""
    name = f"prune match file '{path}'"
    if not Path(path).is_file():
        raise SparseNASError(f"{name} does not exist")
    try:
        with open(path, encoding="utf-8", newline="") as stream:
            header = next((row for row in csv.reader(stream) if row), None)  # skips blanks
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        raise SparseNASError(f"cannot read {name} as a CSV table ({reason})") from None
    if header is None:
        raise SparseNASError(f"{name} is empty")
    missing = [c for c in PRUNE_MATCH_COLUMNS if c not in header]
    if missing:
        raise SparseNASError(
            f"{name} is not a `nas prune --match` result: it lacks {', '.join(missing)}"
        )
    return name
