"""The topology ranking as ``nas rank`` and the reports show it: the order of
``nas.search.records.rank`` (validation accuracy; ties: fewer nonzero parameters, then the
earlier trial), with the test accuracy beside it, reported and never used to rank (older
runs and tables without a validation accuracy rank on their test accuracy).

Only networks that trained to the end are ranked: a network stopped early by the pruner
has the accuracy of fewer epochs, which is not comparable.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.checks import check_int
from core.jsonsafe import json_safe
from nas.reports.data import RunData, load_sources
from nas.reports.sources import check_sources
from nas.search.records import rank

RANK_COLUMNS: tuple[str, ...] = (
    "rank", "trial", "family", "nodes", "edges", "layers", "params_nonzero", "predicted_acc",
    "predicted_std", "valid_acc", "test_acc", "epochs", "status",
)  # fmt: skip
"""Columns of the ranking, in order (``nas rank``, the reports)."""

COUNT_COLUMNS = ("rank", "trial", "nodes", "edges", "layers", "params_nonzero", "epochs")
"""Columns that hold counts: integers in JSON."""

WITHIN_POINTS = 0.5
"""The summary's "smallest network within 0.5 points of the best" (accuracy points, %)."""


def ranking(frame: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """The ``top`` best finished networks of an evaluations frame (all with None), with
    ``RANK_COLUMNS`` (missing ones as NaN) plus ``edge_list`` when known."""
    if top is not None:
        check_int(top, "top", low=1)
    done = rank(frame)
    done = done.head(top) if top is not None else done
    columns = [*RANK_COLUMNS, "selection_acc", *(["edge_list"] if "edge_list" in done else [])]
    return done.reindex(columns=columns).reset_index(drop=True)


def smallest_within(frame: pd.DataFrame, points: float = WITHIN_POINTS) -> dict[str, Any] | None:
    """The finished network with the fewest nonzero parameters whose (validation) accuracy is
    within ``points`` accuracy points (percent) of the best one; None without a finished network
    or parameter counts."""
    ranked = ranking(frame)
    if ranked.empty or ranked["params_nonzero"].isna().all():
        return None
    best = float(ranked["selection_acc"].iloc[0])
    close = ranked[ranked["selection_acc"] >= best - points / 100.0 - 1e-12]
    close = close[close["params_nonzero"].notna()]
    row = close.sort_values(["params_nonzero", "rank"]).iloc[0]
    return row.to_dict()


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values (``core.jsonsafe.json_safe``; counts as integers)."""
    out = []
    for row in table.to_dict("records"):
        clean = {key: json_safe(value) for key, value in row.items()}
        for key in COUNT_COLUMNS:
            if clean.get(key) is not None:
                clean[key] = int(clean[key])
        out.append(clean)
    return out


def rank_source(
    run_dir: str | None = None,
    storage: str | None = None,
    study: str | None = None,
    data: str | None = None,
    top: int | None = 20,
) -> tuple[RunData, pd.DataFrame]:
    """The ``RunData`` of exactly one source (a run dir, a storage and study, or a table)
    and its ranking (``nas rank``).

    Raises
    ------
    SparseNASError
        If no source or more than one is named, or it cannot be read.
    """
    check_sources(
        [run_dir] if run_dir else None, storage, [study] if study else None,
        [data] if data else None, one=True,
    )  # fmt: skip
    (run,) = load_sources(
        [run_dir] if run_dir else None,
        storage,
        [study] if study else None,
        [data] if data else None,
    )
    return run, ranking(run.frame, top)
