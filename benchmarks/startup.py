"""Where the fixed cost of ``nas evaluate`` goes before (and around) its first epoch.

Setting (the startup bullet of the speed issue): ``nas evaluate --cell gru --family ws --nodes
30 --seed 1 --epochs 1``, the default Reber task (25,000 strings). Each run is a fresh
interpreter that does what the command does, phase by phase:

* imports - torch, then the modules the command imports (its own and the deferred ones);
* task    - ``load_task("reber")``: generated (cache off) or read from the task cache;
* kernel  - ``fused_kernel()``, already built (one untimed run builds it first);
* graph   - the 30-node graph;
* build   - ``evaluate_many`` minus its training epochs (DAG, properties, models, test pass);
* epoch   - the training epoch itself.

Variants, run alternately so machine load hits each alike: this tree with the task cache off
(``cold``) and warm (``cached``), and with ``--baseline DIR`` another checkout of the project
(for instance the commit before a change) with its own defaults. ``wall`` is the whole child
process as the parent times it (interpreter start to exit). Medians over ``--repeats``.
Not a test: run it by hand and read the figures.

    python benchmarks/startup.py [--repeats 5] [--baseline DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASES = ("imports", "task", "kernel", "graph", "build", "epoch")


def measure_phases() -> dict[str, float]:
    """Run the command's steps in this fresh process; seconds per phase."""
    clock = [time.perf_counter()]
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        clock.append(time.perf_counter())
        seconds[name] = seconds.get(name, 0.0) + clock[-1] - clock[-2]

    import torch  # noqa: F401

    import nas.cli.evaluate  # noqa: F401 - the command's module and what it imports
    from models.evaluation import evaluate_many
    from models.fused import fused_kernel
    from models.train_spec import TrainSpec
    from models.training import resolve_device
    from nas.experiments.topologies import topologies_to_evaluate
    from nas.tasks import load_task

    lap("imports")
    task = load_task("reber", seed=0)
    lap("task")
    fused_kernel()
    lap("kernel")
    resolve_device("auto")
    graphs = topologies_to_evaluate(None, "ws", 30, None, None, None, 1)
    lap("graph")
    records, _ = evaluate_many(list(graphs.values()), "gru", task, TrainSpec(epochs=1), seeds=[1])
    lap("build")
    epoch = sum(float(row["seconds"]) for row in records[0]["history"])  # type: ignore[union-attr]
    seconds["build"] -= epoch
    seconds["epoch"] = epoch
    return seconds


def run_child(tree: Path, cache: str, extensions: str | None = None) -> dict[str, float]:
    """One fresh interpreter measuring the phases with ``tree`` first on the path (and its
    compiled kernel in ``extensions``, if given)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "SPARSE_NAS_CACHE": cache}
    if extensions is not None:
        env["TORCH_EXTENSIONS_DIR"] = extensions
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    ).stdout
    wall = time.perf_counter() - started
    return {**json.loads(out.strip().splitlines()[-1]), "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout to measure beside")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_phases()))
        return
    from rich.console import Console

    from nas.cli.console import fmt, records_table

    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryDirectory() as built:
        variants = {"cold": (ROOT, "off", None), "cached": (ROOT, folder, None)}
        if args.baseline is not None:
            # its own extension folder: an older checkout's kernel may share this one's name
            # and, compiled from another path, rebuild it (and be rebuilt) on every switch
            variants = {"baseline": (args.baseline.resolve(), "off", built), **variants}
            run_child(args.baseline.resolve(), "off", built)  # its first build: untimed
        run_child(ROOT, folder)  # builds the kernel if needed and fills the cache: untimed
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, (tree, cache, extensions) in variants.items():
                runs[name].append(run_child(tree, cache, extensions))
    rows = [
        {
            "variant": name,
            **{key: statistics.median(r[key] for r in found) for key in (*PHASES, "wall")},
        }
        for name, found in runs.items()
    ]
    for row in rows:
        row["before epoch"] = sum(row[key] for key in PHASES[:-1])
    if args.json:
        print(json.dumps({"repeats": args.repeats, "medians": rows, "runs": runs}, indent=2))
        return
    shown = [
        {key: value if key == "variant" else fmt(value, 2, fixed=True) for key, value in r.items()}
        for r in rows
    ]
    columns = ["variant", *PHASES[:-1], "before epoch", "epoch", "wall"]
    title = f"nas evaluate startup, seconds (median of {args.repeats})"
    Console().print(records_table(shown, columns, title))


if __name__ == "__main__":
    main()
