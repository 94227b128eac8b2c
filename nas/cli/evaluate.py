"""``nas evaluate``: train the Sparse-RNN wired by each graph; accuracy beside its properties."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from core.checks import check_int
from core.status import TrialStatus
from graphs.families import FAMILIES
from graphs.generators import MAX_NODES, GraphSpec
from models.cells import CELLS, check_cell
from models.train_spec import TrainSpec
from nas.cli.console import (
    HEADERS,
    console,
    pairs_table,
    progress_bar,
    records_table,
    run_or_exit,
)
from nas.tasks import TASK_HELP, TEST_DATA_HELP, readout_help, train_settings, train_settings_help

SINGLE = [
    "graph", "nodes", "edges", "layers", "layer_sizes", "dead_end_nodes", "params_total",
    "params_nonzero", "status", "valid_acc", "test_acc", "test_loss", "epochs", "train_seconds",
]  # fmt: skip
SEVERAL = ["graph", "nodes", "edges", "layers", "params_nonzero", "status", "valid_acc", "test_acc"]


def evaluate_command(
    cell: Annotated[str, typer.Option(help=f"Recurrent cell: {', '.join(CELLS)}.")] = "gru",
    family: Annotated[str, typer.Option(help=f"Graph family: {', '.join(FAMILIES)}.")] = "ws",
    nodes: Annotated[
        int, typer.Option(help=f"Number of nodes (neurons), at most {MAX_NODES}.")
    ] = 30,
    k: Annotated[int | None, typer.Option(help=FAMILIES.option_help("k"))] = None,
    p: Annotated[float | None, typer.Option(help=FAMILIES.option_help("p"))] = None,
    m: Annotated[int | None, typer.Option(help=FAMILIES.option_help("m"))] = None,
    graph: Annotated[
        list[Path] | None,
        typer.Option(
            help="Graph file (edge list or GraphML) or folder of them, instead of a family; "
            "repeat it to train several graphs together."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the graph, the weights and batch order.")] = 0,
    epochs: Annotated[
        int | None, typer.Option(help=f"Training epochs ({train_settings_help('epochs')}).")
    ] = None,
    task: Annotated[str, typer.Option(help=TASK_HELP)] = "reber",
    task_seed: Annotated[int, typer.Option(help="Seed of the generated task data.")] = 0,
    test_data: Annotated[Path | None, typer.Option(help=TEST_DATA_HELP)] = None,
    batch_size: Annotated[
        int | None, typer.Option(help=f"Mini-batch size ({train_settings_help('batch_size')}).")
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help=f"Adam learning rate ({train_settings_help('lr')}).")
    ] = None,
    readout: Annotated[str | None, typer.Option(help=readout_help())] = None,
    batch_candidates: Annotated[
        int | None,
        typer.Option(help="Networks trained together (default: chosen from memory)."),
    ] = None,
    device: Annotated[
        str, typer.Option(help="auto (CUDA if present), cpu or cuda.")
    ] = TrainSpec.device,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: an object, or a list for several graphs.")
    ] = False,
) -> None:
    """Train the Sparse-RNN wired by each graph and report accuracy and graph properties.

    Several graphs (repeated --graph, or a folder) train together in one batched program,
    each exactly as it would alone with the same --seed.
    """
    _, _, _, train, _, _ = run_or_exit(
        lambda: (
            check_cell(cell),
            check_int(seed, "seed", low=0),  # numpy's SeedSequence takes no negative seed
            check_int(task_seed, "task_seed", low=0),
            TrainSpec(
                **train_settings(
                    task, epochs=epochs, batch_size=batch_size, lr=lr, readout=readout
                ),  # type: ignore[arg-type]
                device=device,
            ),
            # the graph's settings (nodes <= MAX_NODES), before torch is imported
            None if graph else GraphSpec(family, nodes, k, p, m),
            # models.evaluation checks it again, but only once the bar is drawn
            None
            if batch_candidates is None
            else check_int(batch_candidates, "batch_candidates", low=1),
        )
    )
    # After the cheap checks: these imports (torch, igraph, pandas) take seconds.
    from models.evaluation import evaluate_many
    from models.training import resolve_device
    from nas.experiments.topologies import topologies_to_evaluate
    from nas.tasks import load_task

    _, topologies, data = run_or_exit(
        lambda: (
            resolve_device(device),  # cuda on a machine without CUDA: refused before training
            topologies_to_evaluate(graph, family, nodes, k, p, m, seed),
            load_task(task, seed=task_seed, test_data=test_data),
        )
    )
    count = len(topologies)
    with progress_bar(not as_json) as bar:
        job = bar.add_task(f"training {cell}", total=train.epochs * count, status="")

        def show(index: int, metrics: Any) -> None:  # a models.training.EpochMetrics
            status = f"valid acc {metrics.valid_acc:.4f}  loss {metrics.valid_loss:.4f}"
            bar.update(job, advance=1, status=status if count == 1 else "")

        started = time.perf_counter()
        records, _ = run_or_exit(
            lambda: evaluate_many(
                list(topologies.values()),
                cell,
                data,
                train,
                seeds=[seed] * count,
                slots=batch_candidates,
                on_epoch=show,
            )  # fmt: skip
        )
        elapsed = time.perf_counter() - started
    records = [{"graph": name, **r} for name, r in zip(topologies, records, strict=True)]
    if as_json:
        print(json.dumps(records[0] if count == 1 else records))
    elif count == 1:
        record = records[0]
        title = f"{record['cell']} Sparse-RNN on {record['task']}"
        console.print(pairs_table([(name, record[name]) for name in SINGLE], title))
        if record["status"] != TrialStatus.OK:
            console.print(f"[yellow]{record['status']}[/]: {record['reason']}")
    else:
        console.print(several_table(records, f"{cell} Sparse-RNNs on {data.name}"))
        console.print(f"{count} networks trained together in {elapsed:.1f} s")


def several_table(records: list[dict[str, Any]], title: str) -> Table:
    """The table of several graphs trained together, one row each (fits 80 columns)."""
    return records_table(records, {key: HEADERS.get(key, key) for key in SEVERAL}, title)
