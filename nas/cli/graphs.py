"""``nas sample`` and ``nas properties``: tables of topologies and their graph properties."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.checks import check_choices, check_int
from graphs.families import FAMILIES
from nas.cli.console import (
    check_out_file,
    console,
    progress_bar,
    records_table,
    run_or_exit,
    save_csv,
)
from nas.experiments.topologies import MAX_COUNT, check_count

MAIN_COLUMNS = (
    "graph", "family", "nodes", "edges", "layers", "source_nodes", "sink_nodes", "diameter",
    "density", "average_shortest_path_length", "dead_end_nodes",
)  # fmt: skip
SHOWN_ROWS = 50


def sample_command(
    family: Annotated[
        str, typer.Option(help=f"Families: {', '.join(FAMILIES)}, a comma list, or all.")
    ] = "ws",
    count: Annotated[int, typer.Option(help=f"Graphs per family (at most {MAX_COUNT:,}).")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the draw.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the table here (CSV).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """Draw topologies from the thesis preset (nodes uniform in [10, 50]) with their properties.

    The `edge_list` column holds each graph as space-separated `u-v` pairs.
    """
    _, _, _, families = run_or_exit(
        lambda: (
            check_count(count),
            check_int(seed, "seed", low=0),  # numpy's SeedSequence takes no negative seed
            check_out_file(out),
            check_choices(family, "graph family", FAMILIES),
        )
    )
    from nas.experiments.topologies import sample_topologies  # after the checks: slow import

    with progress_bar(not as_json) as bar:
        job = bar.add_task("sampling", total=count * len(families), status="")
        table = run_or_exit(
            lambda: sample_topologies(families, count, seed, lambda: bar.advance(job))
        )
    _emit_table(table, out, as_json, title="sampled topologies")


def properties_command(
    files: Annotated[list[Path], typer.Argument(help="Graph files (edge list or GraphML).")],
    out: Annotated[Path | None, typer.Option(help="Write the table here (CSV).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """Graph properties of the given files, one row per file (first column `graph`)."""
    run_or_exit(lambda: check_out_file(out))
    from nas.experiments.topologies import describe_files, graph_files  # after the checks

    paths = run_or_exit(lambda: graph_files(files))  # a missing file: refused before the bar
    with progress_bar(not as_json and len(files) > 20) as bar:
        job = bar.add_task("reading", total=len(files), status="")
        table = run_or_exit(lambda: describe_files(paths, lambda: bar.advance(job)))
    _emit_table(table, out, as_json, title="graph properties")


def _emit_table(table, out: Path | None, as_json: bool, title: str) -> None:
    """CSV file, JSON records on stdout, or a rich table (of the most telling columns)."""
    if out is not None:
        save_csv(table, out)
    if as_json:
        print(table.to_json(orient="records"))
    elif out is None:
        columns = [c for c in table.columns if c != "edge_list"]
        if len(columns) > 12:
            columns = [c for c in MAIN_COLUMNS if c in table.columns]
        rows = table.to_dict("records")[:SHOWN_ROWS]
        console.print(records_table(rows, columns, title))
        if len(table) > SHOWN_ROWS or len(columns) < len(table.columns):
            console.print("(first 50 rows and main columns shown; use --out or --json for all)")
