"""The sources a report or ranking names, checked without reading them: no pandas, Optuna
or plotly is imported here, so ``nas rank``, ``nas report`` and ``nas export`` refuse a
missing folder or a bad combination of options at once (``nas.reports.data`` reads them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from core.errors import SparseNASError, existing_file, existing_folder


def check_run_dir(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path if it is a folder; else the one-line error every reader gives."""
    return existing_folder(run_dir, "run dir")


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
