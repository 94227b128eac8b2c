"""``nas prune``: the magnitude-pruning baseline.

Options -> ``nas.experiments.prune_spec.PruneSpec`` (checked before torch is imported) ->
one ``run_prune`` call -> a rich table (or JSON), CSV tables and PNG plots in ``--out``. Bad
input exits with code 2 after one ``error:`` line (``nas.cli.console.run_or_exit``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from core.checks import check_int
from models.cells import CELLS, DEFAULT_EMBEDDING_DIM
from models.pruning import TARGETS
from nas.cli.console import (
    check_out_dir,
    console,
    err_console,
    fmt,
    progress_bar,
    run_or_exit,
)
from nas.experiments.prune_spec import (
    DEFAULT_BASE_EPOCHS,
    DEFAULT_PERCENTS,
    DEFAULT_RETRAIN_EPOCHS,
    METHODS,
    PruneSpec,
    parse_percents,
    parse_targets,
    planned_epochs,
    resolve_match,
)
from nas.tasks import TASK_HELP, TEST_DATA_HELP, check_task, check_task_files

if TYPE_CHECKING:
    import networkx as nx

    from models.training import EpochMetrics
    from nas.experiments.prune import PruneOutcome

TARGET_HELP = (
    f"What to prune ({', '.join(TARGETS)}, or a comma list): i2h / h2h are the input- / "
    "hidden-to-hidden matrices of every recurrent layer, both is both under one threshold, "
    "all adds the embedding and the readout."
)
PERCENT_HELP = (
    "Comma list of percents to prune (default 10,20,...,100; with --match, none unless given)."
)


def prune_command(
    cell: Annotated[str, typer.Option(help=f"Recurrent cell: {', '.join(CELLS)}.")] = "gru",
    target: Annotated[str, typer.Option(help=TARGET_HELP)] = "both",
    percent: Annotated[str | None, typer.Option(help=PERCENT_HELP)] = None,
    retrain_epochs: Annotated[
        int, typer.Option(help="Retraining epochs after pruning (masks fixed).")
    ] = DEFAULT_RETRAIN_EPOCHS,
    method: Annotated[
        str,
        typer.Option(
            help=f"{', '.join(METHODS)}: global magnitude threshold at once; the same along "
            "Zhu & Gupta's cubic schedule in the first half of retraining; or masks of a set "
            "structure at once (uniformly random; near-biregular expanders; two dense blocks on "
            "few neurons; the expanders' degrees in two disjoint blocks), the same share of "
            "every matrix; or Kalra et al.'s steps of 10 % by magnitude with a retraining "
            "epoch between, each matrix stopped at the Ramanujan bound (docs/expansion.md)."
        ),
    ] = "magnitude",
    match: Annotated[
        Path | None,
        typer.Option(
            help="A Sparse-RNN graph file (edge list or GraphML), or a search's out dir "
            "(see --rank): prune the dense model to the Sparse-RNN's number of nonzero "
            "recurrent weights and compare both after the same budget."
        ),
    ] = None,
    rank: Annotated[
        int,
        typer.Option(
            help="With --match DIR: the search's RANK-th best network (1 = best accuracy)."
        ),
    ] = 1,
    task: Annotated[str, typer.Option(help=TASK_HELP)] = "reber",
    task_seed: Annotated[int, typer.Option(help="Seed of the generated task data.")] = 0,
    test_data: Annotated[Path | None, typer.Option(help=TEST_DATA_HELP)] = None,
    epochs: Annotated[
        int, typer.Option(help="Training epochs of the dense base model (the thesis: 50).")
    ] = DEFAULT_BASE_EPOCHS,
    batch_size: Annotated[int, typer.Option(help="Mini-batch size.")] = 32,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    hidden_size: Annotated[int, typer.Option(help="Units per dense recurrent layer.")] = 50,
    layers: Annotated[int, typer.Option(help="Dense recurrent layers.")] = 3,
    embedding_dim: Annotated[
        int,
        typer.Option(
            help="Token embedding width (the Sparse-RNNs' default; the thesis' dense model: 50)."
        ),
    ] = DEFAULT_EMBEDDING_DIM,
    seed: Annotated[int, typer.Option(help="Seeds the weights and the batch order.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu or cuda.")] = "auto",
    out: Annotated[
        Path | None, typer.Option(help="Write CSV tables and PNG plots into this folder.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Magnitude-prune the dense base model, retrain it, and compare with a Sparse-RNN.

    The dense model (embedding, LAYERS x HIDDEN-SIZE recurrent layers, linear readout) is
    trained once; then for each target and percent a copy is pruned with one global
    magnitude threshold over all recurrent layers, its accuracy measured right away and
    after every retraining epoch, and the epochs to regain the base accuracy (within 0.5
    points) counted. The expansion of each pruned matrix (spectral gap, gap to the
    Ramanujan bound, isolated neurons) is recorded beside it.
    """

    def check_options() -> tuple[PruneSpec, nx.Graph | None, str]:
        check_int(seed, "seed", low=0)  # numpy's SeedSequence takes no negative seed
        check_int(task_seed, "task_seed", low=0)
        check_task(task, test_data)
        check_task_files(task, test_data)  # a CSV task's files (pandas)
        percents = parse_percents(percent) if percent is not None else None
        if percents is None:
            percents = () if match is not None else DEFAULT_PERCENTS
        spec = PruneSpec(
            cell=cell,
            targets=parse_targets(target),
            percents=percents,
            method=method,
            epochs=epochs,
            retrain_epochs=retrain_epochs,
            batch_size=batch_size,
            lr=lr,
            hidden_size=hidden_size,
            num_layers=layers,
            embedding_dim=embedding_dim,
            seed=seed,
            device=device,
        )
        graph, label = resolve_match(match, rank, cell)  # a run's ranking: pandas, Optuna
        if out is not None:
            check_out_dir(out)
        return spec, graph, label

    spec, graph, label = run_or_exit(check_options)
    # After the checks: these imports (torch, igraph) take seconds.
    from nas.experiments.prune import check_match, run_prune
    from nas.tasks import load_task

    def prepare():
        data = load_task(task, seed=task_seed, test_data=test_data)
        if graph is not None:
            check_match(graph, spec, data)
        return data

    data = run_or_exit(prepare)
    with progress_bar(not as_json) as bar:
        job = bar.add_task("dense base", total=planned_epochs(spec, graph is not None), status="")

        def show(stage: str, metrics: EpochMetrics) -> None:
            status = f"epoch {metrics.epoch}  valid acc {metrics.valid_acc:.4f}"
            bar.update(job, advance=1, description=stage, status=status)

        outcome = run_or_exit(lambda: run_prune(spec, data, graph=graph, on_epoch=show))
    if out is not None:
        files = run_or_exit(lambda: outcome.write(out), writes=out)
        for path in files:
            err_console.print(f"wrote {path}")
    if as_json:
        print(json.dumps(outcome.to_dict()))
        return
    _print_outcome(outcome, label)


def _print_outcome(outcome: PruneOutcome, match: str) -> None:
    spec, base = outcome.spec, outcome.base
    console.print(
        f"dense {spec.cell} base model ({spec.num_layers} x {spec.hidden_size}, "
        f"{base['epochs']} epochs): test acc {fmt(base['test_acc'])}, "
        f"{base['recurrent_weights']} recurrent weights"
    )
    if len(outcome.table):
        table = Table(title=f"{spec.method} pruning, {spec.retrain_epochs} retraining epochs")
        columns = {
            "target": "target",
            "percent": "%",
            "recurrent_nonzero": "nonzero",
            "acc_pruned": "pruned acc",
            "acc_retrained": "retrained",
            "epochs_to_regain": "regain",
            "ramanujan_gap_min": "Ram. gap",
            "expander_fraction": "expanders",
            "status": "status",
        }
        for name, header in columns.items():
            table.add_column(header, justify="left" if name == "target" else "right")
        for row in outcome.table.to_dict("records"):
            table.add_row(*(fmt(row.get(name, math.nan)) for name in columns))
        console.print(table)
        console.print(
            "regain: retraining epochs until the test accuracy is within "
            f"{100 * spec.tolerance:g} points of the base; Ram. gap: smallest gap to the "
            "Ramanujan bound over the pruned matrices (> 0: expander); expanders: their share."
        )
    if outcome.match is not None:
        m = outcome.match
        grid = Table(title=f"equal sparsity: {match}", show_header=False)
        grid.add_column(style="bold")
        grid.add_column(justify="right")
        grid.add_row(
            "nonzero recurrent weights",
            f"{m['recurrent_nonzero']} of "
            f"{m['recurrent_total']} ({fmt(100 * float(m['sparsity']), 3)}% pruned)",
        )
        grid.add_row("training budget (epochs)", str(m["budget_epochs"]))
        grid.add_row(
            "Sparse-RNN test acc", f"{fmt(m['sparse_rnn_acc'])} ({m['sparse_rnn_status']})"
        )
        grid.add_row("pruned dense, before retraining", fmt(m["dense_pruned_acc"]))
        grid.add_row(
            "pruned dense test acc", f"{fmt(m['dense_retrained_acc'])} ({m['dense_status']})"
        )
        grid.add_row("dense base test acc", fmt(m["dense_base_acc"]))
        console.print(grid)
