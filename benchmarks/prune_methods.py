"""Does expansion keep pruned RNNs accurate? The grid of pruning methods (docs/expansion.md).

For every task, cell and seed one dense base model is trained (``nas.experiments.prune``),
then pruned by every method at every sparsity, each copy retrained with the same budget and
the same mini-batch order (``prune_once``), and its accuracy right after pruning, after
retraining and the expansion of each pruned matrix recorded. One base serves all methods and
sparsities of its (task, cell, seed).

Resumable: rows are appended to ``<out>/prune_methods_results.csv`` (one per pruned network)
and ``<out>/prune_methods_expansion.csv`` (one per pruned matrix) as they finish; a rerun skips
the (task, cell, seed) groups that are complete and redoes the others (training is
deterministic on one CPU thread, so a retrained base is the same). Progress, with the time
per unit and an estimate of what is left, goes to stderr.

    OMP_NUM_THREADS=1 nice -n 15 python benchmarks/prune_methods.py \\
        --out benchmarks/data/prune_methods
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from models.pruning import MASK_METHODS
from nas.experiments.prune import PruneSpec, parse_percents, prune_once, train_base
from nas.tasks import load_task

RESULTS = "prune_methods_results.csv"
EXPANSION = "prune_methods_expansion.csv"
KEY = ("task", "cell", "seed", "method", "percent")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--methods", default=",".join(MASK_METHODS))
    parser.add_argument("--percents", default="50,80,90,95,98")
    parser.add_argument("--cells", default="rnn_tanh,lstm,gru")
    parser.add_argument("--seeds", default="0,1,2,3")
    parser.add_argument("--tasks", default="digits,reber")
    parser.add_argument("--reber-strings", type=int, default=3000)
    parser.add_argument(
        "--base-epochs", default="digits=20,reber=5", help="per task: TASK=EPOCHS,..."
    )
    parser.add_argument(
        "--retrain-epochs", default="digits=8,reber=4", help="per task: TASK=EPOCHS,..."
    )
    parser.add_argument("--hidden-size", type=int, default=50)
    parser.add_argument("--layers", type=int, default=3)
    return parser.parse_args(argv)


def per_task(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in (item.split("=") for item in text.split(",") if item)}


def done_keys(path: Path) -> set[tuple[str, ...]]:
    if not path.exists():
        return set()
    with path.open() as handle:
        return {tuple(str(row[k]) for k in KEY) for row in csv.DictReader(handle)}


def append(path: Path, rows: list[dict[str, object]]) -> None:
    """Append ``rows`` to the CSV ``path`` under its header (the first row's keys if the file
    is new); a row with keys the header lacks is an error, missing ones are left empty."""
    if not rows:
        return
    fields = list(rows[0])
    if path.exists():
        with path.open() as handle:
            fields = next(csv.reader(handle))
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="", extrasaction="raise")
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerows(rows)


def epoch_columns(row: dict[str, object], most: int) -> dict[str, object]:
    """``row`` with ``acc_epoch_1 .. acc_epoch_<most>`` (empty past its own epochs) moved to
    its end, so tasks with different retraining budgets share one header."""
    rest = {k: v for k, v in row.items() if not k.startswith("acc_epoch_")}
    return {**rest, **{f"acc_epoch_{e}": row.get(f"acc_epoch_{e}", "") for e in range(1, most + 1)}}


def key_of(task: str, cell: str, seed: int, method: str, percent: float) -> tuple[str, ...]:
    return (task, cell, str(seed), method, str(float(percent)))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    percents = parse_percents(args.percents)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    base_epochs, retrain_epochs = per_task(args.base_epochs), per_task(args.retrain_epochs)
    args.out.mkdir(parents=True, exist_ok=True)
    results, expansion = args.out / RESULTS, args.out / EXPANSION
    done = done_keys(results)
    total = len(tasks) * len(cells) * len(seeds) * len(methods) * len(percents)
    finished, started, timed = len(done), time.perf_counter(), 0
    print(f"{finished} of {total} units already done", file=sys.stderr, flush=True)
    for task_name in tasks:
        task = load_task(task_name, seed=0, n_strings=args.reber_strings)
        for cell in cells:
            for seed in seeds:
                todo = [
                    (m, p)
                    for m in methods
                    for p in percents
                    if key_of(task.name, cell, seed, m, p) not in done
                ]
                if not todo:
                    continue
                spec = PruneSpec(
                    cell=cell,
                    percents=percents,
                    epochs=base_epochs[task_name],
                    retrain_epochs=retrain_epochs[task_name],
                    hidden_size=args.hidden_size,
                    num_layers=args.layers,
                    seed=seed,
                    device="cpu",
                )
                clock = time.perf_counter()
                base = train_base(spec, task)
                print(
                    f"base {task.name} {cell} seed {seed}: test acc {base.test_acc:.4f} "
                    f"({time.perf_counter() - clock:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
                for method, percent in todo:
                    clock = time.perf_counter()
                    row, _, matrices = prune_once(
                        base, replace(spec, method=method), task, "both", percent
                    )
                    seconds = time.perf_counter() - clock
                    extra = {
                        "seed": seed,
                        "base_epochs": spec.epochs,
                        "retrain_epochs": spec.retrain_epochs,
                    }
                    row = {**extra, **row, "seconds": round(seconds, 2)}
                    append(results, [epoch_columns(row, max(retrain_epochs.values()))])
                    append(
                        expansion,
                        [{"task": task.name, "cell": cell, **extra, **r} for r in matrices],
                    )
                    finished, timed = finished + 1, timed + 1
                    rate = (time.perf_counter() - started) / timed
                    print(
                        f"[{finished}/{total}] {task.name} {cell} seed {seed} {method} "
                        f"{percent:g}%: {row['acc_pruned']:.3f} -> {row['acc_retrained']:.3f} "
                        f"(base {base.test_acc:.3f}; Ram. gap mean "
                        f"{row['ramanujan_gap_mean']:.2f}; {seconds:.1f} s; "
                        f"~{rate * (total - finished) / 60:.0f} min left)",
                        file=sys.stderr,
                        flush=True,
                    )


if __name__ == "__main__":
    main()
