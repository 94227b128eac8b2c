"""``nas report``: the topology report of one or more searches (or evaluations tables) as
report.html (self-contained) and report.md with PNG figures.

Heavy modules (plotly, matplotlib, pandas, nas.reports) are imported inside the command, so
``nas --help`` and bad options answer at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nas.cli.console import (
    check_out_dir,
    check_out_path,
    err_console,
    run_or_exit,
    unwrapped_help,
)


@unwrapped_help
def report_command(
    run_dirs: Annotated[
        list[Path] | None,
        typer.Argument(help="Search out dirs (several are compared side by side)."),
    ] = None,
    storage: Annotated[str | None, typer.Option(help="Optuna storage URL (with --study).")] = None,
    study: Annotated[
        list[str] | None, typer.Option(help="Study name in --storage (repeat to compare).")
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Any evaluations table (CSV/Parquet), e.g. benchmarks/data/*.csv."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: RUN_DIR/report).")
    ] = None,
    top: Annotated[int, typer.Option(help="Networks in the ranking table.")] = 20,
    prune_match: Annotated[
        Path | None,
        typer.Option(
            help="A `nas prune --match` prune_match.csv to draw on the Pareto plot (default: "
            "RUN_DIR/prune_match.csv or RUN_DIR/prune/prune_match.csv when present)."
        ),
    ] = None,
) -> None:
    """Write a topology report: report.html (self-contained) and report.md with PNG figures.

    Sections: summary, ranking, search progress, analysis of the trials, the predictor, the
    Pareto front and drawings of the top networks (docs/reports.md).
    """

    def target() -> Path:  # every check that reads no file: before pandas, Optuna, plotly
        from core.checks import check_int
        from core.errors import SparseNASError
        from nas.reports.sources import check_prune_match, check_sources

        check_int(top, "top", low=1)
        check_sources(run_dirs, storage, study, data)
        if prune_match is not None:
            check_prune_match(prune_match)  # its header: read_prune_match reads the rest
        if out is not None:
            return check_out_path(out)
        if not run_dirs:
            raise SparseNASError("give --out (the default, RUN_DIR/report, needs a run dir)")
        return check_out_path(run_dirs[0] / "report")

    folder = run_or_exit(target)

    def build():
        from nas.reports.data import load_sources

        if prune_match is not None:
            from nas.reports.analysis import read_prune_match

            read_prune_match(prune_match)  # a bad file is refused before anything is read
        runs = load_sources(run_dirs, storage, study, data)
        check_out_dir(folder)
        from nas.reports.build import build_report  # plotly and matplotlib: for good input

        return build_report(runs, folder, top=top, prune_match=prune_match)

    report = run_or_exit(build, writes=folder)
    size = report.html.stat().st_size / 1e6
    err_console.print(
        f"wrote {report.html} ({size:.1f} MB), {report.markdown} and "
        f"{len(report.images)} PNG figures in {report.seconds:.1f} s",
        markup=False,
        highlight=False,
    )
