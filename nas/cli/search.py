"""``nas search``: options -> ``SearchSpec`` -> ``run_search`` -> progress, a ranked table.

Bad input exits with code 2 after one ``error:`` line (``nas.cli.console.run_or_exit``);
Ctrl-C keeps every finished trial, says how to resume and exits with code 130.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer._click.core import ParameterSource

from core.errors import existing_file
from graphs.families import FAMILIES
from graphs.generators import MAX_NODES
from models.cells import CELLS
from nas.cli.console import HEADERS, console, err_console, records_table, run_or_exit
from nas.search.spec import OBJECTIVES, SearchSpec, resumed
from nas.search.strategies import strategies_help
from nas.search.study_file import CONFIG, check_out_owner, check_storage_file
from nas.search.urls import check_storage_url, shown_url
from nas.search.workers import check_workers
from nas.tasks import (
    TASK_CHOICES,
    TEST_DATA_HELP,
    check_task,
    check_task_files,
    readout_help,
    train_settings,
    train_settings_help,
)

D = SearchSpec  # option defaults are the spec's
DEFAULT = ParameterSource.DEFAULT
COLUMNS = (
    "rank", "trial", "family", "nodes", "edges", "layers", "params_nonzero", "predicted_acc",
    "valid_acc", "test_acc",
)  # fmt: skip


def search_command(
    ctx: typer.Context,
    budget: Annotated[
        int,
        typer.Option(
            help="Number of networks whose training starts (finished, stopped early, diverged "
            "or crashed: all count).",
            show_default=False,
        ),
    ],
    cell: Annotated[str, typer.Option(help=f"Recurrent cell: {', '.join(CELLS)}.")] = D.cell,
    task: Annotated[str, typer.Option(help=f"Task: {TASK_CHOICES}.")] = D.task,
    test_data: Annotated[Path | None, typer.Option(help=TEST_DATA_HELP)] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            help=f"Training epochs of a network not stopped ({train_settings_help('epochs')}; "
            "the task's own batch size and learning rate too)."
        ),
    ] = None,
    readout: Annotated[str | None, typer.Option(help=readout_help())] = None,
    strategy: Annotated[
        str, typer.Option(help=f"Search strategy. {strategies_help()}.")
    ] = D.strategy,
    objective: Annotated[
        str,
        typer.Option(
            help=f"{' or '.join(OBJECTIVES)}: accuracy alone, or accuracy against nonzero "
            "parameters (prints the Pareto front)."
        ),
    ] = D.objective,
    nodes: Annotated[
        str, typer.Option(help=f"Node range LOW:HIGH (3 <= low <= high <= {MAX_NODES}).")
    ] = ":".join(map(str, D.nodes)),
    families: Annotated[
        str, typer.Option(help=f"Graph families: a comma list of {', '.join(FAMILIES)}, or all.")
    ] = ",".join(D.families),
    storage: Annotated[
        str | None,
        typer.Option(help="Optuna storage URL (default: sqlite:///<out>/study.db)."),
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name (default: <cell>-<task>).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: runs/<study>).")] = None,
    seed: Annotated[int, typer.Option(help="Seeds sampling, the predictor and training.")] = (
        D.seed
    ),
    warm_start: Annotated[
        Path | None,
        typer.Option(help="Evaluations table (CSV/Parquet) whose rows also train the predictor."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Processes on this machine that share the study, one thread each (worker i "
            "uses --seed S+i; logs in <out>/workers/). 2 on a 2-core machine is fastest."
        ),
    ] = 1,
    grace: Annotated[
        float,
        typer.Option(
            help="Seconds without a heartbeat after which a running network's worker is taken "
            "for dead and the network is trained again by another worker."
        ),
    ] = D.grace,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Search for the best Sparse-RNN topologies; everything is kept in an Optuna study.

    The budget is the number of networks whose training starts: those finished, stopped
    early by the pruner, diverged or crashed all count. The predictor strategy draws random
    topologies first, then trains, round by round, the candidates that a predictor retrained
    on every result scores best (plus local moves around the best graphs); tpe and random are
    Optuna's samplers. Running the same command again resumes the study (a larger --budget
    adds networks); finished trials are never trained again. Writes evaluations.csv and
    .parquet, the best topologies (GraphML and checkpoint) and config.json to the out dir.
    """
    spec = run_or_exit(
        lambda: SearchSpec(
            cell=cell, budget=budget, task=task,
            **train_settings(task, epochs=epochs, readout=readout),  # type: ignore[arg-type]
            strategy=strategy,
            objective=objective, nodes=nodes, families=families, storage=storage,  # type: ignore[arg-type]
            study=study, out=None if out is None else str(out), seed=seed,
            warm_start=None if warm_start is None else str(warm_start), grace=grace,
            test_data=None if test_data is None else str(test_data),
        ).resolved()
    )  # fmt: skip
    run_or_exit(lambda: check_workers(workers, spec.storage))  # type: ignore[arg-type]
    run_or_exit(lambda: check_task(spec.task, spec.test_data))
    run_or_exit(lambda: check_task_files(spec.task, spec.test_data))  # pandas for a CSV task
    run_or_exit(lambda: check_storage_url(spec.storage))  # type: ignore[arg-type]
    if spec.warm_start is not None:  # read by predictors.table.load_table, which says the same
        run_or_exit(lambda: existing_file(spec.warm_start, "evaluations table"))  # type: ignore[arg-type]
    if (Path(spec.out) / CONFIG).is_file():  # type: ignore[arg-type]
        run_or_exit(lambda: check_out_owner(Path(spec.out), spec.study, spec.storage))  # type: ignore[arg-type]
        spec = _resumed(ctx, spec)  # open_storage checks the study file
    else:  # a new run: an empty or junk study file is refused before Optuna loads
        run_or_exit(lambda: check_storage_file(spec.storage))  # type: ignore[arg-type]
    import optuna  # after the options are checked: these imports take seconds

    from nas.search.loop import SearchInterrupted, run_search
    from nas.search.results import search_summary

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # tell() logs at INFO
    try:
        with _progress(spec, enabled=not as_json) as show:
            result = run_or_exit(lambda: run_search(spec, progress=show, workers=workers))
    except SearchInterrupted as stop:
        err_console.print(
            f"interrupted: {stop.done} of {spec.budget} networks are kept in study "
            f"'{spec.study}' ({shown_url(spec.storage)}); run the same command again to resume.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=130) from None
    summary = search_summary(result, spec)
    if as_json:
        print(json.dumps(summary))
    else:
        _print_summary(summary, spec)


def _resumed(ctx: typer.Context, spec: SearchSpec) -> SearchSpec:
    """``spec`` resuming the run in its out dir: the options left out take the run's recorded
    settings, and one given with another value is one error line (``nas.search.spec``)."""
    from nas.search.results import recorded_run

    given = {name for name in ctx.params if ctx.get_parameter_source(name) != DEFAULT}
    return run_or_exit(lambda: resumed(spec, recorded_run(Path(spec.out)), given))  # type: ignore[arg-type]


@contextmanager
def _progress(spec: SearchSpec, enabled: bool) -> Iterator[Any]:
    """A progress bar with ETA, shown from the search's ``start`` event (so a bad setting
    prints its error alone); yields the callback that ``run_search`` reports to."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
    )
    bar = Progress(*columns, console=err_console, disable=not enabled, speed_estimate_period=3600)
    job = bar.add_task(f"search {spec.study}", total=spec.budget, best="-", status="")

    def show(event: Any) -> None:  # a nas.search.loop.SearchEvent
        best = "-" if event.best is None else f"{event.best:.4f}"
        if event.kind == "start":
            bar.reset(job, total=event.budget, completed=event.done)
            bar.start()
            shown.append(True)
        if event.kind in ("round", "epoch", "wait"):
            bar.update(job, best=best, status=event.message)
        else:
            bar.update(job, completed=event.done, best=best)

    shown: list[bool] = []
    try:
        yield show
    finally:
        if shown:  # stopping a bar never shown would print an empty line after an error
            bar.stop()


def _print_summary(summary: dict[str, Any], spec: SearchSpec) -> None:
    pareto = spec.objective == "pareto"
    rows = summary["pareto_front" if pareto else "best"]
    title = (
        f"Pareto front: accuracy vs nonzero parameters ({spec.cell}, {spec.task})"
        if pareto
        else f"best {len(rows)} topologies ({spec.cell}, {spec.task})"
    )
    table = records_table(rows, {key: HEADERS[key] for key in COLUMNS}, title)
    console.print(table)
    counts = ", ".join(f"{n} {status}" for status, n in summary["trials"].items())
    console.print(f"study '{spec.study}' in {shown_url(spec.storage)}: {counts or 'no trials'}")
    out = Path(spec.out)  # type: ignore[arg-type]
    console.print(
        f"wrote {out / 'evaluations.csv'} (and .parquet), {out / 'best'}/ and {out / CONFIG}"
    )
    if not rows:
        console.print("[yellow]no network completed training[/]")


# Typer keeps the line breaks of every paragraph but the first: unwrap them for the help.
search_command.__doc__ = "\n\n".join(
    " ".join(paragraph.split())
    for paragraph in inspect.cleandoc(search_command.__doc__ or "").split("\n\n")
)
