"""``nas rank``: a search's topology ranking as a table, JSON or CSV.

Heavy modules (pandas, Optuna, nas.reports) are imported inside the command, so ``nas
--help`` and bad options answer at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nas.cli.console import (
    HEADERS,
    console,
    fmt_pm,
    records_table,
    run_or_exit,
    unwrapped_help,
)

KEYS = (
    "rank", "trial", "family", "nodes", "edges", "layers", "params_nonzero", "predicted",
    "valid_acc", "test_acc", "epochs",
)  # fmt: skip
"""The table's columns (every ranked network is ``ok``: JSON and CSV keep the status)."""


@unwrapped_help
def rank_command(
    run_dir: Annotated[
        Path | None, typer.Argument(help="A search's out dir (its study.db or evaluations.csv).")
    ] = None,
    top: Annotated[int, typer.Option(help="Networks shown.")] = 20,
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL (with --study).")] = None,
    study: Annotated[str | None, typer.Option(help="Study name in --storage.")] = None,
    data: Annotated[
        Path | None, typer.Option(help="Any evaluations table (CSV/Parquet) instead of a run.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Rank a search's finished networks by validation accuracy (ties: fewer parameters).

    Ties in accuracy go to fewer nonzero parameters, then to the earlier trial; networks
    stopped early or failed are not ranked.
    """

    def rank():
        from core.checks import check_int
        from core.errors import SparseNASError
        from nas.reports.sources import check_sources

        if as_json and as_csv:
            raise SparseNASError("choose one of --json and --csv")
        check_int(top, "top", low=1)
        check_sources(
            [run_dir] if run_dir else None,
            storage,
            [study] if study else None,
            [data] if data else None,
            one=True,
        )  # fmt: skip: before pandas and Optuna are imported
        from nas.reports.ranking import rank_source

        return rank_source(
            None if run_dir is None else str(run_dir),
            storage,
            study,
            None if data is None else str(data),
            top,
        )

    run, table = run_or_exit(rank)
    from nas.reports.ranking import records

    rows = records(table)
    if as_json:
        print(json.dumps(rows))
        return
    if as_csv:
        print(table.to_csv(index=False), end="")
        return
    for row in rows:
        row["predicted"] = fmt_pm(row.get("predicted_acc"), row.get("predicted_std"), tight=True)
    done = int(run.finished.shape[0])
    title = f"{run.label}: top {len(rows)} of {done} finished networks"
    console.print(records_table(rows, {k: HEADERS[k] for k in KEYS}, title, left=("family",)))
