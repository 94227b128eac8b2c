"""The ``nas`` command line: options -> one library call -> rich tables or JSON.

Bad input raises SparseNASError anywhere below; only this module catches it, prints
``error: <message>`` on one line and exits with code 2.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from graphs.errors import SparseNASError
from graphs.generators import FAMILIES, GraphSpec
from graphs.io import read_graph
from models.cells import CELLS, check_cell
from models.training import EpochMetrics, TrainSpec
from nas.console import console, progress_bar, run_or_exit, save_csv
from nas.evaluation import evaluate_many
from nas.predictor_cli import predictor_app
from nas.prune_cli import prune_command
from nas.search_cli import search_command
from nas.tasks import TASK_NAMES, load_task
from nas.topologies import describe_files, graph_files, parse_families, sample_topologies

app = typer.Typer(
    help="Search for sparse recurrent networks wired by random graphs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
TASK_HELP = f"Task: {', '.join(TASK_NAMES)} or csv:PATH (columns `sequence`, `label`)."
app.add_typer(predictor_app, name="predictor", help="Learn accuracy from graph properties.")
app.command("search")(search_command)
app.command("prune")(prune_command)


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
        list[Path] | None,
        typer.Option(
            help="Graph file (edge list or GraphML) or folder of them, instead of a family; "
            "repeat it to train several graphs together."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the graph, the weights and batch order.")] = 0,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 15,
    task: Annotated[str, typer.Option(help=TASK_HELP)] = "reber",
    task_seed: Annotated[int, typer.Option(help="Seed of the generated task data.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    batch_candidates: Annotated[
        int | None,
        typer.Option(help="Networks trained together (default: chosen from memory)."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu or cuda.")] = "auto",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: an object, or a list for several graphs.")
    ] = False,
) -> None:
    """Train the Sparse-RNN wired by each graph and report accuracy and graph properties.

    Several graphs (repeated --graph, or a folder) train together in one batched program,
    each exactly as it would alone with the same --seed.
    """

    def prepare():
        check_cell(cell)
        spec = TrainSpec(epochs=epochs, batch_size=batch_size, lr=lr, device=device).validate()
        if batch_candidates is not None and batch_candidates < 1:
            raise SparseNASError(f"--batch-candidates must be at least 1 (got {batch_candidates})")
        if graph:
            files = graph_files(graph)
            topologies = {str(path): read_graph(path) for path in files}
        else:
            topologies = {f"{family}:{nodes}": GraphSpec(family, nodes, k, p, m).build(seed)}
        return spec, topologies, load_task(task, seed=task_seed)

    train_spec, topologies, data = run_or_exit(prepare)
    count = len(topologies)
    with progress_bar(not as_json) as bar:
        job = bar.add_task(f"training {cell}", total=train_spec.epochs * count, status="")

        def show(index: int, metrics: EpochMetrics) -> None:
            status = f"test acc {metrics.test_acc:.4f}  loss {metrics.test_loss:.4f}"
            bar.update(job, advance=1, status=status if count == 1 else "")

        started = time.perf_counter()
        records, _ = run_or_exit(
            lambda: evaluate_many(
                list(topologies.values()),
                cell,
                data,
                train_spec,
                seeds=[seed] * count,
                slots=batch_candidates,
                on_epoch=show,
            )
        )
        elapsed = time.perf_counter() - started
    records = [{"graph": name, **r} for name, r in zip(topologies, records, strict=True)]
    if as_json:
        print(json.dumps(records[0] if count == 1 else records))
    elif count == 1:
        _print_evaluation(records[0])
    else:
        columns = ["graph", "nodes", "edges", "layers", "params_nonzero", "status", "test_acc"]
        console.print(_properties_table(records, columns, f"{cell} Sparse-RNNs on {data.name}"))
        console.print(f"{count} networks trained together in {elapsed:.1f} s")


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
        table = run_or_exit(lambda: describe_files(graph_files(files), lambda: bar.advance(job)))
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
            keep = ["graph", "family", "nodes", "edges", "layers", "source_nodes", "sink_nodes"]
            keep += ["diameter", "density", "average_shortest_path_length", "dead_end_nodes"]
            columns = [c for c in keep if c in table.columns]
        console.print(_properties_table(table.to_dict("records")[:50], columns, title))
        if len(table) > 50 or len(columns) < len(table.columns):
            console.print("(first 50 rows and main columns shown; use --out or --json for all)")


if __name__ == "__main__":
    app()
