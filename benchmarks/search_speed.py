"""Seconds per network-epoch of the search, against its engine on the very same graphs.

Setting (the speed issue's "done when": at most 1.5x): run ``nas search --cell gru --budget 24
--epochs 5 --seed 0 --workers 1`` into a temporary folder, timing its wall clock; then, in a
fresh process, train the very graphs the search trained with the function ``nas evaluate``
uses for many graphs (``models.evaluation.evaluate_many``: all stacked, the search's
task, TrainSpec and training seed, every graph for the full epochs), timed the same way; then,
in a third process, the search's very work without the search: the same graphs through the
search's continuous batching (``evaluate_stream``, ``round_size`` slots, trial order), each
stopped after the epochs the search trained it.

* network-epochs: for the search, the epochs each trial trained (the length of its per-epoch
  validation history, ``acc_by_epoch``), summed over trials; for the engine, the same sum
  over its records (epochs x graphs unless one diverges);
* seconds per network-epoch = wall seconds / network-epochs, and their ratio (the issue's
  figure). It charges the search for the engine's own cost of early stopping: fewer
  network-epochs to spread the fixed start-up over, and stacks that empty at the end;
* the same-work ratio, search wall / engine wall on the same work: what the search itself
  (Optuna, its storage, proposing, bookkeeping) adds to training;
* where the search's wall time goes, from the study's timestamps only (so it holds however the
  loop batches): startup (process start to the first trial's start), training (the union of
  the trials' start-to-complete intervals), between (the gaps inside that span: proposing,
  exports, bookkeeping) and the end (the last completion to process exit).

The compiled kernel is built (``fused_kernel()``) before anything is timed. Each side runs in
its own process, one after the other; ``--repeat N`` goes round the three N times and shows
medians, ranges in brackets (these shared machines drift within minutes, so one round proves
little; docs/figures.md has the figures). Not a test: run it by hand and read the figures.
``--count-statements`` runs the search once more and counts the SQL statements and commits it
sends its storage: its round trips without a clock, which a busy machine cannot blur.

    python benchmarks/search_speed.py [--budget 24] [--epochs 5] [--repeat 5] [--json]
        [--count-statements]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def trained_trials(out: Path) -> tuple[Any, list[Any]]:
    """The search's spec (from ``config.json``) and its trials that trained at least one
    epoch, by trial number."""
    import optuna

    from nas.search.records import attr
    from nas.search.results import read_config, run_study
    from nas.search.spec import SearchSpec

    config = read_config(out)
    spec = SearchSpec.from_json(config).resolved()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # config.json names the study's file relative to the run dir: read it through the run dir
    study, _ = run_study(out, config)
    trials = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get("edge_list") and attr(t, "acc_by_epoch")
    ]
    return spec, sorted(trials, key=lambda t: t.number)


def network_epochs_by_trial(trials: list[Any]) -> list[int]:
    """Epochs the search trained each trial, in the order of ``trials``."""
    from nas.search.records import attr

    return [len(attr(t, "acc_by_epoch") or []) for t in trials]


def network_epochs(trials: list[Any]) -> int:
    """Epochs trained, summed over trials (each trial's per-epoch validation history)."""
    return sum(network_epochs_by_trial(trials))


def breakdown(trials: list[Any], started: float, ended: float) -> dict[str, float]:
    """The search's wall time split by the trials' timestamps (seconds).

    ``started`` / ``ended``: the process's start and end (``time.time()``); Optuna stores
    naive local datetimes, compared here as such.
    """
    spans = sorted(
        (t.datetime_start.timestamp(), t.datetime_complete.timestamp())
        for t in trials
        if t.datetime_start is not None and t.datetime_complete is not None
    )
    if not spans:
        return {"startup": float("nan"), "training": 0.0, "between": 0.0, "end": float("nan")}
    gaps, (low, high) = 0, spans[0]
    merged = []
    for start, end in spans[1:]:
        if start > high:
            merged.append((low, high))
            low, high = start, end
            gaps += 1
        else:
            high = max(high, end)
    merged.append((low, high))
    training = sum(end - start for start, end in merged)
    first, last = spans[0][0], max(end for _, end in spans)
    return {
        "startup": first - started,
        "training": training,
        "between": (last - first) - training,
        "end": ended - last,
        "gaps": float(gaps),
    }


def search_args(args: argparse.Namespace, out: Path) -> list[str]:
    """The ``nas`` command's arguments for the search this script measures."""
    return [
        "search", "--cell", args.cell, "--task", args.task, "--budget", str(args.budget),
        "--epochs", str(args.epochs), "--seed", str(args.seed), "--workers", str(args.workers),
        "--out", str(out), *shlex.split(args.search_args),
    ]  # fmt: skip


# ``python -c`` then the counts' file, then the ``nas`` command's arguments: every statement
# SQLAlchemy sends in that process (by its first word) and every commit, written at exit.
COUNTER = """\
import atexit, collections, json, runpy, sys
import sqlalchemy
seen = collections.Counter()
sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute",
                        lambda *a: seen.update([a[2].split()[0].upper()]))
sqlalchemy.event.listen(sqlalchemy.engine.Engine, "commit", lambda _c: seen.update(["COMMIT"]))
counts = sys.argv.pop(1)
atexit.register(lambda: open(counts, "w").write(json.dumps(dict(sorted(seen.items())))))
sys.argv[0] = "nas"
runpy.run_module("nas.cli", run_name="__main__", alter_sys=True)
"""


def count_statements(args: argparse.Namespace, out: Path) -> dict[str, int]:
    """The SQL statements (by kind) and commits the search sends its storage, in a
    subprocess: the storage round trips without a clock, so they hold on a busy machine (the
    heartbeat thread's few grow with the run's length)."""
    counts = out.parent / "statements.json"
    command = [sys.executable, "-c", COUNTER, str(counts), *search_args(args, out)]
    ran = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True)
    if ran.returncode != 0:
        sys.exit(f"the counted search failed (exit {ran.returncode}):\n{ran.stderr[-3000:]}")
    return json.loads(counts.read_text(encoding="utf-8"))


def run_search(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """``nas search`` in a subprocess; its wall time, network-epochs and breakdown."""
    command = [sys.executable, "-m", "nas.cli", *search_args(args, out)]
    started = time.time()
    ran = subprocess.run(
        command, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ended = time.time()
    if ran.returncode != 0:  # its progress bar is on stderr: shown only when it failed
        sys.exit(f"the search failed (exit {ran.returncode}):\n{ran.stderr[-3000:]}")
    _, trials = trained_trials(out)
    return {
        "wall": ended - started,
        "networks": len(trials),
        "network_epochs": network_epochs(trials),
        "breakdown": breakdown(trials, started, ended),
        # the temporary folder as TMP: a machine's path is no part of the figure
        "command": shlex.join(["nas", *command[3:]]).replace(str(out.parent), "TMP"),
    }


def evaluate_child(out: Path, same_work: bool) -> dict[str, Any]:
    """In this fresh process: train the search's graphs with the engine alone.

    Without ``same_work``: all stacked with ``evaluate_many``, every graph for the full
    epochs. With it: the search's very work without the search, i.e. continuous batching
    (``evaluate_stream``, the search's ``round_size`` slots, graphs fed in trial order) where
    each graph stops after the epochs the search trained it."""
    begun = time.perf_counter()
    from graphs.io import edges_from_string
    from models.evaluation import evaluate_many, evaluate_stream
    from models.fused import fused_kernel
    from nas.tasks import load_task

    spec, trials = trained_trials(out)
    task = load_task(spec.task, seed=spec.task_seed, n_strings=spec.n_strings,
                     test_data=spec.test_data)  # fmt: skip
    graphs = [edges_from_string(t.user_attrs["edge_list"]) for t in trials]
    fused_kernel()
    training = time.perf_counter()
    if same_work:
        trained = network_epochs_by_trial(trials)
        queue = list(enumerate(graphs))
        records: list[dict[str, Any]] = []

        def feed(free: int) -> list[tuple[int, Any, int]]:
            taken, queue[:free] = queue[:free], []
            return [(key, graph, spec.train_seed) for key, graph in taken]

        scheduler = SimpleNamespace(
            ask=feed,
            report=lambda key, metrics: metrics.epoch >= trained[key],
            tell=lambda _key, record, _model: records.append(record),
        )
        evaluate_stream(scheduler, spec.cell, task, spec.train_spec(), slots=spec.round_size)
    else:
        records, _ = evaluate_many(
            graphs, spec.cell, task, spec.train_spec(), seeds=[spec.train_seed] * len(graphs)
        )
    done = time.perf_counter()
    return {
        "networks": len(records),
        "network_epochs": sum(len(r["history"]) for r in records),
        "before_training": training - begun,
        "training": done - training,
    }


def run_evaluate(out: Path, same_work: bool) -> dict[str, Any]:
    """``evaluate_child`` in a subprocess, its wall time measured like the search's."""
    started = time.time()
    mode = "--same-work-child" if same_work else "--evaluate-child"
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), mode, str(out)],
        check=True,
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    )
    wall = time.time() - started
    return {"wall": wall, **json.loads(result.stdout.strip().splitlines()[-1])}


def per_epoch(side: dict[str, Any]) -> float:
    return side["wall"] / side["network_epochs"] if side["network_epochs"] else float("nan")


SIDES = {
    "search": "nas search",
    "evaluate": "evaluate_many, same graphs, all epochs",
    "same_work": "evaluate_stream, same graphs, same epochs",
}


def median_range(values: list[float], digits: int) -> str:
    """The median, and the range when there are several values."""
    from nas.cli.console import fmt

    middle = fmt(statistics.median(values), digits, fixed=True)
    if len(values) == 1:
        return middle
    return (
        f"{middle} ({fmt(min(values), digits, fixed=True)}-{fmt(max(values), digits, fixed=True)})"
    )


def show(result: dict[str, Any]) -> None:
    """The comparison and the search's breakdown as rich tables: medians over the rounds,
    ranges in brackets."""
    from rich.console import Console

    from nas.cli.console import records_table

    rounds = result["rounds"]
    rows = [
        {"run": name,
         "wall s": median_range([r[key]["wall"] for r in rounds], 1),
         "networks": rounds[-1][key]["networks"],
         "network-epochs": rounds[-1][key]["network_epochs"],
         "s / network-epoch": median_range([per_epoch(r[key]) for r in rounds], 3)}
        for key, name in SIDES.items()
    ]  # fmt: skip
    console = Console()
    title = f"search vs engine, {len(rounds)} round(s): {rounds[-1]['search']['command']}"
    console.print(records_table(rows, list(rows[0]), title))
    console.print(
        "ratio (search / evaluate_many, s per network-epoch): "
        + median_range([r["ratio"] for r in rounds], 2)
    )
    console.print(
        "ratio (search / evaluate_stream on the same work, wall s): "
        + median_range([r["ratio_same_work"] for r in rounds], 2)
    )
    labels = {
        "startup": "startup (process start to first trial)",
        "training": "training (union of trial intervals)",
        "between": "between trials (proposing, exports)",
        "end": "end (last trial to exit)",
    }
    split = [
        {"part": label, "s": median_range([r["search"]["breakdown"][key] for r in rounds], 1)}
        for key, label in labels.items()
    ]
    console.print(records_table(split, ["part", "s"], "the search's wall time"))
    if "statements" in result:
        counts = ", ".join(f"{n} {kind}" for kind, n in result["statements"].items())
        console.print(f"storage statements of one more search (no clock): {counts}")
    for key in ("evaluate", "same_work"):
        before = median_range([r[key]["before_training"] for r in rounds], 1)
        training = median_range([r[key]["training"] for r in rounds], 1)
        console.print(f"{SIDES[key]}: {before} s before training, {training} s training")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--task", default="reber")
    parser.add_argument("--budget", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--search-args", default="", help="more `nas search` options, quoted")
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="rounds of the three runs, one after the other; medians (and ranges) are shown",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="run the last search into this new folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--count-statements", action="store_true",
        help="run the search once more, counting its SQL statements and commits",
    )  # fmt: skip
    parser.add_argument("--evaluate-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--same-work-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate_child or args.same_work_child:
        child = args.evaluate_child or args.same_work_child
        print(json.dumps(evaluate_child(child, args.same_work_child is not None)), flush=True)
        gc.freeze()  # the quick exit of the ``nas`` command (nas.cli.run), as `nas evaluate` has
        return
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1 (got {args.repeat})")
    if args.keep is not None and args.keep.exists():
        parser.error(f"--keep {args.keep} exists (the search would resume it)")
    from models.fused import fused_kernel

    fused_kernel()  # a first build (about a minute) is nobody's search time
    rounds = []
    for index in range(args.repeat):  # each round runs the three sides one after the other
        with tempfile.TemporaryDirectory() as folder:
            last = index == args.repeat - 1
            out = args.keep if last and args.keep is not None else Path(folder) / "run"
            search = run_search(args, out)
            engine = run_evaluate(out, same_work=False)
            same = run_evaluate(out, same_work=True)
        rounds.append({
            "measured": datetime.now().isoformat(timespec="seconds"),
            "search": search,
            "evaluate": engine,
            "same_work": same,
            "ratio": per_epoch(search) / per_epoch(engine),
            "ratio_same_work": search["wall"] / same["wall"],
        })  # fmt: skip
    if args.count_statements:
        with tempfile.TemporaryDirectory() as folder:
            statements = count_statements(args, Path(folder) / "run")
    result = {
        "ratio": statistics.median(r["ratio"] for r in rounds),
        "ratio_same_work": statistics.median(r["ratio_same_work"] for r in rounds),
        "rounds": rounds,
        **({"statements": statements} if args.count_statements else {}),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        show(result)


if __name__ == "__main__":
    main()
