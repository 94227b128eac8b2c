"""The sources a report or ranking names, checked without reading them: no pandas, Optuna
or plotly is imported here, so ``nas rank``, ``nas report`` and ``nas export`` refuse a
missing folder or a bad combination of options at once (``nas.reports.data`` reads them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.errors import SparseNASError, existing_file, existing_folder
from nas.search.study_file import STUDY_DB, check_study_file


def check_run_dir(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path if it is a folder whose ``study.db``, when it has one, is a
    SQLite database; else the one-line error every reader gives (an empty or junk study
    file is refused, as ``nas search`` refuses it, never passed over for evaluations.csv)."""
    folder = existing_folder(run_dir, "run dir")
    db = folder / STUDY_DB
    if db.is_file():
        check_study_file(f"sqlite:///{db}", db)
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
    together, and every run dir and table exists."""
    if one and sum(bool(x) for x in (run_dirs, studies or storage, tables)) != 1:
        raise SparseNASError("name one source: a run dir, --storage with --study, or --data")
    if bool(storage) != bool(studies):
        raise SparseNASError("--storage and --study go together: give both")
    if not (run_dirs or studies or tables):
        raise SparseNASError("name a run dir, --storage with --study, or --data TABLE")
    for folder in run_dirs or ():
        check_run_dir(folder)
    for table in tables or ():
        existing_file(table, "evaluations table")
