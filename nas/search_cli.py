"""``nas search``: options -> ``SearchSpec`` -> ``run_search`` -> progress, a ranked table.

``nas.cli`` registers it with ``app.command("search")(search_command)``. Bad input exits with
code 2 after one ``error:`` line (``nas.console.run_or_exit``); Ctrl-C keeps every finished
trial, says how to resume and exits with code 130.
"""

from __future__ import annotations

import inspect
import json
import math
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import optuna
import torch
import typer
from rich import box
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from models.cells import CELLS
from nas.console import console, err_console, run_or_exit
from nas.search import (
    OBJECTIVES,
    SearchEvent,
    SearchInterrupted,
    SearchSpec,
    export_results,
    run_search,
)
from nas.strategies import STRATEGIES
from nas.study_io import (
    best_trials,
    networks_done,
    study_config,
    summary_rows,
    trial_status,
)
from nas.tasks import TASK_NAMES
from nas.workers import check_workers, start_workers, wait_workers

STOP_GRACE = 30
"""Seconds a worker gets to end by itself (on Ctrl-C the terminal signals every worker)."""


def search_command(
    budget: Annotated[
        int,
        typer.Option(
            help="Number of networks whose training starts (finished, pruned early, diverged "
            "or crashed: all count).",
            show_default=False,
        ),
    ],
    cell: Annotated[str, typer.Option(help=f"Recurrent cell: {', '.join(CELLS)}.")] = "gru",
    task: Annotated[
        str, typer.Option(help=f"Task: {', '.join(TASK_NAMES)} or csv:PATH.")
    ] = "reber",
    epochs: Annotated[int, typer.Option(help="Training epochs of a network not pruned.")] = 15,
    strategy: Annotated[
        str, typer.Option(help=f"Search strategy: {', '.join(STRATEGIES)}.")
    ] = "predictor",
    objective: Annotated[
        str,
        typer.Option(
            help=f"{' or '.join(OBJECTIVES)}: accuracy alone, or accuracy against nonzero "
            "parameters (prints the Pareto front)."
        ),
    ] = "accuracy",
    nodes: Annotated[str, typer.Option(help="Node range LOW:HIGH (low >= 3).")] = "10:50",
    families: Annotated[
        str, typer.Option(help="Graph families: a comma list of ws, ba, er, or all.")
    ] = "ws,ba,er",
    storage: Annotated[
        str | None,
        typer.Option(help="Optuna storage URL (default: sqlite:///<out>/study.db)."),
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name (default: <cell>-<task>).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: runs/<study>).")] = None,
    seed: Annotated[int, typer.Option(help="Seeds sampling, the predictor and training.")] = 0,
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
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # tell() logs at INFO
    spec = run_or_exit(
        lambda: SearchSpec(
            cell=cell,
            budget=budget,
            task=task,
            epochs=epochs,
            strategy=strategy,
            objective=objective,
            nodes=nodes,  # type: ignore[arg-type]
            families=families,  # type: ignore[arg-type]
            storage=storage,
            study=study,
            out=None if out is None else str(out),
            seed=seed,
            warm_start=None if warm_start is None else str(warm_start),
        ).resolved()
    )
    run_or_exit(lambda: check_workers(workers, spec.storage))  # type: ignore[arg-type]
    if workers > 1:
        torch.set_num_threads(1)
    helpers: list[subprocess.Popen] = []
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
    bar = Progress(*columns, console=err_console, disable=as_json, speed_estimate_period=3600.0)
    job = bar.add_task(f"search {spec.study}", total=spec.budget, best="-", status="")

    shown: list[bool] = []

    def show(event: SearchEvent) -> None:
        best = "-" if event.best is None else f"{event.best:.4f}"
        if event.kind == "start":  # the settings were good: show the bar from now on
            bar.reset(job, total=event.budget, completed=event.done)
            bar.start()
            shown.append(True)
            if workers > 1 and not helpers:  # the study exists now: the others can join
                helpers.extend(start_workers(spec, workers - 1))
        if event.kind in ("round", "epoch"):
            bar.update(job, best=best, status=event.message)
        else:
            bar.update(job, completed=event.done, best=best)

    try:
        result = run_or_exit(lambda: run_search(spec, progress=show))
        if helpers:
            bar.update(job, status=f"waiting for {len(helpers)} worker(s) to end their round")
            try:
                codes = wait_workers(helpers)
            except KeyboardInterrupt:
                done = networks_done(result.get_trials(deepcopy=False))
                raise SearchInterrupted(result, spec, done) from None
            _check_helpers(codes, spec)
            export_results(result, spec, {})
    except SearchInterrupted as stop:
        if shown:
            bar.stop()
            shown.clear()
        _stop_helpers(helpers)
        err_console.print(
            f"interrupted: {stop.done} of {spec.budget} networks are kept in study "
            f"'{spec.study}' ({spec.storage}); run the same command again to resume.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(code=130) from None
    finally:
        if shown:
            bar.stop()
        _stop_helpers(helpers)
    _report(result, spec, as_json)


def _check_helpers(codes: list[int], spec: SearchSpec) -> None:
    failed = [str(i) for i, code in enumerate(codes, start=1) if code != 0]
    if failed:
        err_console.print(
            f"warning: worker(s) {', '.join(failed)} failed; see {spec.out}/workers/",
            markup=False,
            highlight=False,
        )


def _stop_helpers(helpers: list[subprocess.Popen]) -> None:
    """Let workers still running end as after Ctrl-C (theirs, or ours sent now)."""
    for proc in helpers:
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            proc.wait()


# Typer keeps the line breaks of every paragraph but the first: unwrap them for the help.
search_command.__doc__ = "\n\n".join(
    " ".join(paragraph.split())
    for paragraph in inspect.cleandoc(search_command.__doc__ or "").split("\n\n")
)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _report(study: optuna.Study, spec: SearchSpec, as_json: bool) -> None:
    trials = study.get_trials(deepcopy=False)
    statuses = Counter(trial_status(t) for t in trials if t.state.name != "WAITING")
    best = best_trials(study, spec.objective, spec.keep_best)
    rows = summary_rows(best)
    if as_json:
        payload = {
            "study": spec.study,
            "storage": spec.storage,
            "out": spec.out,
            "budget": spec.budget,
            "objective": spec.objective,
            "config": study_config(study),
            "trials": dict(sorted(statuses.items())),
            "pareto_front" if spec.objective == "pareto" else "best": rows,
        }
        print(json.dumps(payload))
        return
    title = (
        f"Pareto front: accuracy vs nonzero parameters ({spec.cell}, {spec.task})"
        if spec.objective == "pareto"
        else f"best {len(rows)} topologies ({spec.cell}, {spec.task})"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    headers = [
        ("rank", "#"),
        ("trial", "trial"),
        ("family", "family"),
        ("nodes", "nodes"),
        ("edges", "edges"),
        ("layers", "layers"),
        ("params_nonzero", "nonzero"),
        ("predicted_acc", "predicted"),
        ("test_acc", "measured"),
    ]
    for key, label in headers:
        justify = "left" if key == "family" else "right"
        table.add_column(label, justify=justify, no_wrap=True, min_width=len(label))
    for row in rows:
        table.add_row(*(_fmt(row[key]) for key, _ in headers))
    console.print(table)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    console.print(f"study '{spec.study}' in {spec.storage}: {counts or 'no trials'}")
    console.print(
        f"wrote {Path(spec.out) / 'evaluations.csv'} (and .parquet), "  # type: ignore[arg-type]
        f"{Path(spec.out) / 'best'}/ and {Path(spec.out) / 'config.json'}"  # type: ignore[arg-type]
    )
    if not rows:
        console.print("[yellow]no network completed training[/]")
