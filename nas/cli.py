"""The ``nas`` command line: options -> one library call -> rich tables or JSON.

Bad input raises SparseNASError anywhere below; only this module catches it, prints
``error: <message>`` on one line and exits with code 2.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from graphs.generators import FAMILIES, GraphSpec
from graphs.io import read_graph
from models.cells import CELLS, check_cell
from models.training import EpochMetrics, TrainSpec
from nas.console import console, err_console, progress_bar, run_or_exit
from nas.evaluation import evaluate_graph
from nas.predictor_cli import predictor_app
from nas.tasks import TASK_NAMES, load_task
from nas.topologies import describe_files, parse_families, sample_topologies

app = typer.Typer(
    help="Search for sparse recurrent networks wired by random graphs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
TASK_HELP = f"Task: {', '.join(TASK_NAMES)} or csv:PATH (columns `sequence`, `label`)."
app.add_typer(predictor_app, name="predictor", help="Learn accuracy from graph properties.")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _properties_table(rows: list[dict[str, object]], columns: list[str], title: str) -> Table:
    table = Table(title=title)
    for column in columns:
        justify = "left" if column in ("graph", "family") else "right"
        table.add_column(column, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(*(_fmt(row[column]) for column in columns))
    return table


@app.command()
def evaluate(
    cell: Annotated[str, typer.Option(help=f"Recurrent cell: {', '.join(CELLS)}.")] = "gru",
    family: Annotated[str, typer.Option(help=f"Graph family: {', '.join(FAMILIES)}.")] = "ws",
    nodes: Annotated[int, typer.Option(help="Number of nodes (neurons).")] = 30,
    k: Annotated[int | None, typer.Option(help="WS ring degree (default: nodes // 5).")] = None,
    p: Annotated[
        float | None,
        typer.Option(help="WS rewiring or ER edge probability (default: 1, or 2 ln(n)/n for ER)."),
    ] = None,
    m: Annotated[
        int | None, typer.Option(help="BA edges per new node (default: max(1, nodes // 10)).")
    ] = None,
    graph: Annotated[
        Path | None, typer.Option(help="Use this graph file (edge list or GraphML) instead.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the graph, the weights and batch order.")] = 0,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 15,
    task: Annotated[str, typer.Option(help=TASK_HELP)] = "reber",
    task_seed: Annotated[int, typer.Option(help="Seed of the generated task data.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu or cuda.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train the Sparse-RNN wired by one graph and report its accuracy and graph properties."""

    def prepare():
        check_cell(cell)
        spec = TrainSpec(epochs=epochs, batch_size=batch_size, lr=lr, device=device).validate()
        topology = (
            read_graph(graph)
            if graph is not None
            else GraphSpec(family, nodes, k, p, m).build(seed)
        )
        return spec, topology, load_task(task, seed=task_seed)

    train_spec, topology, data = run_or_exit(prepare)
    with progress_bar(not as_json) as bar:
        job = bar.add_task(f"training {cell}", total=train_spec.epochs, status="")

        def show(metrics: EpochMetrics) -> None:
            status = f"test acc {metrics.test_acc:.4f}  loss {metrics.test_loss:.4f}"
            bar.update(job, advance=1, status=status)

        record = run_or_exit(
            lambda: evaluate_graph(topology, cell, data, train_spec, seed=seed, on_epoch=show)
        )
    record = {"graph": str(graph) if graph else f"{family}:{nodes}", **record}
    if as_json:
        print(json.dumps(record))
        return
    _print_evaluation(record)


def _print_evaluation(record: dict[str, object]) -> None:
    table = Table(title=f"{record['cell']} Sparse-RNN on {record['task']}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    shown = [
        "graph",
        "nodes",
        "edges",
        "layers",
        "layer_sizes",
        "dead_end_nodes",
        "params_total",
        "params_nonzero",
        "status",
        "test_acc",
        "test_loss",
        "epochs",
        "train_seconds",
    ]
    for name in shown:
        table.add_row(name, _fmt(record[name]))
    console.print(table)
    if record["status"] != "ok":
        console.print(f"[yellow]{record['status']}[/]: {record['reason']}")


@app.command()
def sample(
    family: Annotated[str, typer.Option(help="Families: ws, ba, er, a comma list, or all.")] = "ws",
    count: Annotated[int, typer.Option(help="Graphs per family.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the draw.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write the table here (CSV).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """Draw topologies from the thesis preset (nodes uniform in [10, 50]) with their properties.

    The `edge_list` column holds each graph as space-separated `u-v` pairs.
    """
    families = run_or_exit(lambda: parse_families(family))
    with progress_bar(not as_json) as bar:
        job = bar.add_task("sampling", total=count * len(families), status="")
        table = run_or_exit(
            lambda: sample_topologies(families, count, seed, lambda: bar.advance(job))
        )
    _emit_table(table, out, as_json, title="sampled topologies")


@app.command()
def properties(
    files: Annotated[list[Path], typer.Argument(help="Graph files (edge list or GraphML).")],
    out: Annotated[Path | None, typer.Option(help="Write the table here (CSV).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """Graph properties of the given files, one row per file (first column `graph`)."""
    with progress_bar(not as_json and len(files) > 20) as bar:
        job = bar.add_task("reading", total=len(files), status="")
        table = run_or_exit(lambda: describe_files(files, lambda: bar.advance(job)))
    _emit_table(table, out, as_json, title="graph properties")


def _emit_table(table, out: Path | None, as_json: bool, title: str) -> None:
    """CSV file, JSON records on stdout, or a rich table (of the most telling columns)."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        err_console.print(f"wrote {len(table)} rows to {out}")
    if as_json:
        print(table.to_json(orient="records"))
    elif out is None:
        columns = [c for c in table.columns if c != "edge_list"]
        if len(columns) > 12:
            keep = ["graph", "family", "nodes", "edges", "layers", "source_nodes", "sink_nodes"]
            keep += ["diameter", "density", "average_shortest_path_length", "dead_end_nodes"]
            columns = [c for c in keep if c in table.columns]
        console.print(_properties_table(table.to_dict("records")[:50], columns, title))
        if len(table) > 50 or len(columns) < len(table.columns):
            console.print("(first 50 rows and main columns shown; use --out or --json for all)")


if __name__ == "__main__":
    app()
