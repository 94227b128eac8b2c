"""What a report reads: one search (a run dir, or an Optuna storage and study) or any
evaluations table, as a ``RunData``: one row per trial plus what is known about the run.

A run dir's study (``study.db`` beside ``config.json``) is the record and is read first;
``evaluations.csv`` (exported from it) is the fallback when the study is gone. A bare table
(``--data``, e.g. the thesis-style ``benchmarks/data/evaluations_*.csv``) has no study: its
rows are numbered in file order and there is no wall time or predictor column.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from core.errors import SparseNASError
from nas.reports.sources import check_run_dir, check_sources
from nas.search.records import TrialStatus, selection_accuracy
from nas.search.results import (
    EVALUATIONS,
    STUDY_DB,
    evaluations_frame,
    read_config,
    read_study,
    run_study,
    study_config,
)
from nas.search.urls import shown_url
from predictors import read_table

NUMERIC = (
    "valid_acc", "test_acc", "params_nonzero", "nodes", "edges", "layers", "epochs",
    "predicted_acc", "predicted_std", "train_seconds",
)  # fmt: skip


@dataclass
class RunData:
    """One search (or table) as the report sees it.

    label : a short name (the study's, or the file's stem).
    frame : one row per trial, by trial number (``nas.search.results.trial_row`` columns
        where known), with ``datetime_start`` / ``datetime_complete`` for a study.
    config : the search settings (``config.json`` / the study's ``search_config``; empty for
        a bare table).
    source : where it was read from.
    study : the Optuna study, when there is one.
    """

    label: str
    frame: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    study: optuna.Study | None = None

    @property
    def finished(self) -> pd.DataFrame:
        """Rows whose network trained to the end (status ``ok``, a measured accuracy)."""
        return self.frame[self.frame["status"].eq(TrialStatus.OK) & self.frame["test_acc"].notna()]

    def wall_seconds(self) -> float | None:
        """From the first trial's start to the last one's end (None without timestamps)."""
        if "datetime_start" not in self.frame or self.frame["datetime_start"].isna().all():
            return None
        start = self.frame["datetime_start"].min()
        end = self.frame["datetime_complete"].max()
        return None if pd.isna(start) or pd.isna(end) else float((end - start).total_seconds())


def load_run(run_dir: str | Path) -> RunData:
    """A search's out dir: its study when it has ``study.db`` (``nas.search.results.run_study``;
    a storage ``config.json`` names elsewhere is never connected to), else its
    ``evaluations.csv``.

    Raises
    ------
    SparseNASError
        If the folder is missing, holds neither a study nor an evaluations table, or holds a
        ``study.db`` that is no study.
    """
    folder = check_run_dir(run_dir)
    config = read_config(folder)
    found = run_study(folder, config)
    if found is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                run = _study_run(*found)
            except SparseNASError:
                run = None
        if run is not None:
            run.config = {**run.config, **config}
            run.source = str(folder)
            return run
    table = folder / f"{EVALUATIONS}.csv"
    if not table.is_file():
        raise SparseNASError(
            f"'{folder}' is not a search's out dir (no {STUDY_DB} and no {EVALUATIONS}.csv)"
        )
    run = load_table_run(table)
    run.label = str(config.get("study") or folder.name)
    run.config = config
    run.source = str(folder)
    return run


def load_study(storage: str, study_name: str) -> RunData:
    """The trials of ``study_name`` in ``storage`` (an Optuna URL), read-only.

    Raises
    ------
    SparseNASError
        If the storage cannot be opened or holds no such study.
    """
    return _study_run(read_study(storage, study_name), storage)


def _study_run(study: optuna.Study, storage: str) -> RunData:
    """A study's ``RunData``; a SparseNASError when it has no trials yet."""
    study_name = study.study_name
    frame = evaluations_frame(study)
    if frame.empty:
        raise SparseNASError(f"study {study_name!r} in {shown_url(storage)} has no trials yet")
    times = {
        t.number: (t.datetime_start, t.datetime_complete) for t in study.get_trials(deepcopy=False)
    }
    frame["datetime_start"] = pd.to_datetime([times[n][0] for n in frame["trial"]])
    frame["datetime_complete"] = pd.to_datetime([times[n][1] for n in frame["trial"]])
    return RunData(
        label=study_name,
        frame=_typed(frame),
        config=study_config(study),
        source=f"{shown_url(storage)} (study {study_name})",  # never its password
        study=study,
    )


def load_table_run(path: str | Path) -> RunData:
    """Any evaluations table (ours or the thesis'): rows numbered as trials in file order
    when it has no ``trial`` column."""
    frame = read_table(path)
    if "test_acc" not in frame:
        raise SparseNASError(f"evaluations table '{path}' has no test_acc column")
    frame = frame.copy()
    if "trial" not in frame:
        frame.insert(0, "trial", np.arange(len(frame)))
    if "status" not in frame:
        frame["status"] = np.where(frame["test_acc"].notna(), TrialStatus.OK.value, "failed")
    config = {}
    for key in ("cell", "task"):
        if key in frame and frame[key].nunique() == 1:
            config[key] = str(frame[key].iloc[0])
    return RunData(label=Path(path).stem, frame=_typed(frame), config=config, source=str(path))


def load_sources(
    run_dirs: list[Path] | None = None,
    storage: str | None = None,
    studies: list[str] | None = None,
    tables: list[Path] | None = None,
) -> list[RunData]:
    """Every run a ``nas report`` / ``nas rank`` call names, in the order given.

    Raises
    ------
    SparseNASError
        If nothing is named, ``--study`` comes without ``--storage`` (or the reverse), or
        a source cannot be read.
    """
    check_sources(run_dirs, storage, studies, tables)
    runs = [load_run(path) for path in run_dirs or []]
    runs += [load_study(storage, name) for name in studies or []]  # type: ignore[arg-type]
    runs += [load_table_run(path) for path in tables or []]
    seen: dict[str, int] = {}
    for run in runs:  # two runs with one label would share a legend entry
        seen[run.label] = seen.get(run.label, 0) + 1
        if seen[run.label] > 1:
            run.label = f"{run.label} ({seen[run.label]})"
    return runs


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as floats; columns a report reads and a table lacks, as missing."""
    for column in NUMERIC:
        values = frame.get(column, np.nan)
        frame[column] = pd.to_numeric(pd.Series(values, index=frame.index), errors="coerce")
    for column in ("family", "edge_list", "layer_sizes"):
        if column not in frame:
            frame[column] = None
    frame["status"] = frame["status"].fillna("unknown").astype(str)
    frame["selection_acc"] = selection_accuracy(frame)
    return frame.sort_values("trial", kind="stable").reset_index(drop=True)
