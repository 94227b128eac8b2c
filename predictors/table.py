"""Evaluations tables: read, clean and turn into a feature matrix and a target.

Two layouts load as they are:

- **ours** (``nas evaluate --json`` records, the search's export): ``cell, family,
  train_seed, status, test_acc, test_loss, train_seconds, params_nonzero, edge_list`` and
  every graph property, possibly the extended features too;
- **the thesis' published tables**: ``mode, graph, graph_nr, layers, nodes, ..., test_acc,
  test_loss, time``, one row per graph; ``mode`` holds the cell (``GRU``, ``RNN_TANH``...),
  ``graph`` the family (``barabasi_albert``) and ``graph_nr`` the graph's number in it.

Unknown columns are ignored. Features the table lacks are computed from the ``edge_list``
column when there is one (the graph properties, the extended and wiring features and, with
a known cell, ``params_nonzero``); the rest are skipped with a warning, and a table left without a
usable feature is an error.

``params_nonzero`` as a feature means ``predictors.features.params_feature``: the
Sparse-RNN's nonzero weights without the embedding table (whose size depends on the task's
vocabulary, not on the graph). When a table has ``edge_list`` and a cell, the column is
recomputed that way, so a predictor trained on ``nas evaluate`` records (whose
``params_nonzero`` includes the embedding) sees the same numbers as ``feature_row`` gives
during a search; without ``edge_list`` the column is used as it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from core.checks import check_fraction
from core.errors import SparseNASError, existing_file
from core.status import TrialStatus
from graphs.dag import layered_dag
from graphs.io import edges_from_string
from graphs.properties import PROPERTY_NAMES, graph_properties
from graphs.spectral import EXTENDED_FEATURES, spectral_features
from graphs.wiring import WIRING_FEATURES, wiring_features
from models.cells import CELLS, check_cell
from predictors.checks import PARQUET_SUFFIXES, check_needed_features
from predictors.features import FEATURE_SETS, PARAMS_FEATURE, params_feature
from predictors.names import MAX_NAN_SHARE, check_feature_set

TARGET = "test_acc"

_THESIS_MODES = set(CELLS)


@dataclass(frozen=True)
class EvaluationTable:
    """A cleaned evaluations table: the rows kept, the features used and the target.

    Attributes
    ----------
    frame : the rows kept (index reset), with every original column plus computed features.
    features : the feature columns used, in the order of the requested set.
    target : name of the target column, or None for a table to predict on.
    cell : the table's cell (lower case), or None when neither the table nor the caller
        named one.
    groups : one label per row naming the graph (from ``edge_list``, else ``graph`` and
        ``graph_nr``, else ``graph``), or None when the table identifies no graph. Rows of
        one graph must stay in one fold.
    dropped : rows dropped, by reason (``cell``, ``status``, ``target``, ``features``).
    missing : requested features the table lacked and that could not be computed.
    source : where the table came from (a file name or ``"<frame>"``).
    """

    frame: pd.DataFrame
    features: tuple[str, ...]
    target: str | None
    cell: str | None
    groups: np.ndarray | None
    dropped: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    source: str = "<frame>"
    run_icc: float | None = None
    """ICC(1) of the single runs behind per-graph means (set by
    :func:`predictors.validation.average_over_seeds`), else None."""

    @property
    def X(self) -> pd.DataFrame:  # noqa: N802 (scikit-learn's name)
        """The feature matrix as floats, columns named by ``features``."""
        return self.frame.loc[:, list(self.features)].astype(float)

    @property
    def y(self) -> np.ndarray:
        if self.target is None:
            raise SparseNASError(f"table {self.source} was loaded without a target column")
        return self.frame[self.target].to_numpy(dtype=float)

    @property
    def has_repeats(self) -> bool:
        """Whether some graph was evaluated more than once."""
        if self.groups is None:
            return False
        return bool(pd.Series(self.groups).duplicated().any())

    def __len__(self) -> int:
        return len(self.frame)


def read_table(source: str | PathLike[str] | pd.DataFrame) -> pd.DataFrame:
    """A CSV or Parquet (``.parquet``, ``.pq``) file as a DataFrame; a DataFrame is copied.

    Raises
    ------
    SparseNASError
        If the file is missing, unreadable, not a table or has no rows.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        name = "<frame>"
    else:
        path = existing_file(source, "evaluations table")
        name = f"'{path}'"
        try:
            if path.suffix.lower() in PARQUET_SUFFIXES:
                frame = pd.read_parquet(path)
            else:
                frame = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            raise SparseNASError(f"evaluations table {name} is empty") from None
        except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
            raise SparseNASError(f"cannot read evaluations table {name} ({reason})") from None
    if frame.empty:
        raise SparseNASError(f"evaluations table {name} has no rows")
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def resolve_features(features: str | Sequence[str]) -> tuple[str, ...]:
    """A feature set's name (``all``, ``thesis``, ``size``) or a list of names -> the names."""
    if isinstance(features, str):
        return FEATURE_SETS[check_feature_set(features)]
    names = tuple(str(name) for name in features)
    if not names:
        raise SparseNASError("the feature list is empty")
    return names


def load_table(
    source: str | PathLike[str] | pd.DataFrame,
    *,
    features: str | Sequence[str] = "all",
    cell: str | None = None,
    target: str | None = TARGET,
    require_all: bool = False,
    max_nan_share: float = MAX_NAN_SHARE,
) -> EvaluationTable:
    """Read an evaluations table and prepare it for training, validation or prediction.

    Parameters
    ----------
    source : a CSV or Parquet file, or a DataFrame.
    features : ``"all"``, ``"thesis"``, ``"size"`` or a list of feature names.
    cell : keep only this cell's rows (``cell`` column, or the thesis' ``mode``). Without it
        a table holding a single cell uses that one, and one holding several is an error.
    target : the target column; None for a table to predict on (no target, no status
        filter).
    require_all : every requested feature must be present or computable (prediction with a
        fitted model); otherwise missing features are skipped with a warning.
    max_nan_share : rows with a NaN or infinite feature are dropped with a warning, up to
        this share of the rows left after the cell, status and target filters; more is an
        error (``MAX_NAN_SHARE``; 1 drops any number).

    Returns
    -------
    EvaluationTable

    Raises
    ------
    SparseNASError
        For a missing or unreadable file, an unknown cell, a missing target column, no rows
        left, no usable feature, more than ``max_nan_share`` of the rows with a non-finite
        feature, or (``require_all``) a missing feature.

    Warns
    -----
    UserWarning
        Naming the features skipped and the number of rows dropped, by reason.
    """
    check_fraction(max_nan_share, "max_nan_share")
    requested = resolve_features(features)
    frame = read_table(source)
    name = "<frame>" if isinstance(source, pd.DataFrame) else f"'{Path(source)}'"
    dropped: dict[str, int] = {}

    frame, cell = _select_cell(frame, cell, name, dropped)
    if target is not None:
        frame = _clean_target(frame, target, name, dropped)
    frame = _complete_features(frame, requested, cell)

    present, missing = [], []
    for feature in requested:
        if feature in frame.columns:
            values = pd.to_numeric(frame[feature], errors="coerce")
            if values.notna().any():
                frame[feature] = values.astype(float)
                present.append(feature)
                continue
        missing.append(feature)
    if require_all:
        check_needed_features(name, missing)
    if not present:
        raise SparseNASError(
            f"table {name} has no usable feature column (looked for {_shorten(requested)})"
        )
    if missing:
        warnings.warn(
            f"{len(missing)} feature(s) missing from table {name}, skipped: {_shorten(missing)}",
            UserWarning,
            stacklevel=2,
        )

    values = frame[present].to_numpy(dtype=float)
    finite = np.isfinite(values).all(axis=1)
    where = ""
    if not finite.all():
        bad, rows = int((~finite).sum()), len(frame)
        _check_nan_share(bad, rows, max_nan_share, name)
        whole = np.isfinite(values).all(axis=0)
        columns = [c for c, ok in zip(present, whole, strict=True) if not ok]
        where = f" ({bad} of {rows}, {bad / rows:.0%}; NaN or inf in {_shorten(columns)})"
        dropped["features"] = bad
        frame = frame.loc[finite]
    if frame.empty:
        raise SparseNASError(f"table {name} has no row left to use ({_reasons(dropped)})")
    if any(dropped.values()):
        warnings.warn(
            f"dropped {sum(dropped.values())} row(s) of table {name}: {_reasons(dropped)}" + where,
            UserWarning,
            stacklevel=2,
        )
    frame = frame.reset_index(drop=True)
    return EvaluationTable(
        frame=frame,
        features=tuple(present),
        target=target,
        cell=cell,
        groups=graph_groups(frame),
        dropped={k: v for k, v in dropped.items() if v},
        missing=tuple(missing),
        source=name,
    )


# -- steps ---------------------------------------------------------------------------------------


def _select_cell(
    frame: pd.DataFrame, cell: str | None, name: str, dropped: dict[str, int]
) -> tuple[pd.DataFrame, str | None]:
    if cell is not None:
        cell = str(cell).strip().lower()
        check_cell(cell)
    column = "cell" if "cell" in frame.columns else "mode" if "mode" in frame.columns else None
    if column is None:
        return frame, cell
    cells = frame[column].astype(str).str.strip().str.lower()
    present = sorted(set(cells))
    if cell is None:
        if len(present) > 1:
            raise SparseNASError(
                f"table {name} holds several cells ({', '.join(present)}); choose one"
            )
        cell = present[0]
        return frame, cell if cell in CELLS else None
    keep = (cells == cell).to_numpy()
    if not keep.any():
        raise SparseNASError(
            f"table {name} has no rows for cell {cell!r} (it holds {', '.join(present)})"
        )
    dropped["cell"] = int((~keep).sum())
    return frame.loc[keep], cell


def _clean_target(
    frame: pd.DataFrame, target: str, name: str, dropped: dict[str, int]
) -> pd.DataFrame:
    if target not in frame.columns:
        raise SparseNASError(f"table {name} has no target column {target!r}")
    if "status" in frame.columns:
        ok = (frame["status"].astype(str).str.strip().str.lower() == TrialStatus.OK).to_numpy()
        dropped["status"] = int((~ok).sum())
        frame = frame.loc[ok]
    values = pd.to_numeric(frame[target], errors="coerce")
    finite = np.isfinite(values.to_numpy(dtype=float))
    dropped["target"] = int((~finite).sum())
    frame = frame.loc[finite].copy()
    frame[target] = values[finite].astype(float)
    if frame.empty:
        raise SparseNASError(f"table {name} has no row with status ok and a {target} value")
    return frame


def _complete_features(
    frame: pd.DataFrame, requested: Sequence[str], cell: str | None
) -> pd.DataFrame:
    """Compute the requested features the table lacks from its ``edge_list`` column."""
    if "edge_list" not in frame.columns:
        return frame
    wanted_props = [f for f in requested if f in PROPERTY_NAMES and f not in frame.columns]
    wanted_ext = [
        f
        for f in requested
        if f in EXTENDED_FEATURES and f not in frame.columns and f not in wanted_props
    ]
    wanted_wiring = [f for f in requested if f in WIRING_FEATURES and f not in frame.columns]
    wanted_params = PARAMS_FEATURE in requested and cell in CELLS
    if not (wanted_props or wanted_ext or wanted_wiring or wanted_params):
        return frame
    cache: dict[str, dict[str, float]] = {}
    rows = []
    for text in frame["edge_list"]:
        key = str(text)
        if key not in cache:
            graph = edges_from_string(key)
            dag = layered_dag(graph)
            values: dict[str, float] = {}
            if wanted_props:
                values |= graph_properties(graph, dag)
            if wanted_ext:
                values |= spectral_features(graph, dag)
            if wanted_wiring:
                values |= wiring_features(dag)
            if wanted_params:
                values[PARAMS_FEATURE] = params_feature(dag, cell)  # type: ignore[arg-type]
            cache[key] = values
        rows.append(cache[key])
    computed = pd.DataFrame(rows, index=frame.index)
    columns = [
        *wanted_props,
        *wanted_ext,
        *wanted_wiring,
        *([PARAMS_FEATURE] if wanted_params else []),
    ]
    frame = frame.drop(columns=[c for c in columns if c in frame.columns])
    return pd.concat([frame, computed[columns]], axis=1)


def _check_nan_share(bad: int, rows: int, limit: float, name: str) -> None:
    share = bad / rows
    if share > limit:
        raise SparseNASError(
            f"{bad} of {rows} rows ({share:.0%}) of table {name} have a NaN or infinite "
            f"feature, more than the {limit:.0%} dropped by default; fix the table, or drop "
            "them anyway with max_nan_share=1 (--max-nan-share 1)"
        )


def graph_groups(frame: pd.DataFrame) -> np.ndarray | None:
    """One label per row naming its graph (see EvaluationTable.groups), or None."""
    if "edge_list" in frame.columns:
        return frame["edge_list"].astype(str).to_numpy()
    if "graph" in frame.columns and "graph_nr" in frame.columns:
        return (frame["graph"].astype(str) + "#" + frame["graph_nr"].astype(str)).to_numpy()
    if "graph" in frame.columns:
        return frame["graph"].astype(str).to_numpy()
    return None


def _reasons(dropped: dict[str, int]) -> str:
    labels = {
        "cell": "other cells",
        "status": "status other than ok",
        "target": "no target value",
        "features": "non-finite features",
    }
    parts = [f"{count} {labels[reason]}" for reason, count in dropped.items() if count]
    return ", ".join(parts) or "none dropped"


def _shorten(names: Sequence[str], limit: int = 8) -> str:
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
