"""Milliseconds per graph to build and describe the predictor's pool draws, part by part.

The predictor's pool (``PredictorStrategy.draw``) draws parameter sets from the search space,
builds each graph (``nas.search.space.build_graph``), packs its edge list into a string and
describes it (``predictors.features.feature_row``: the layered DAG, the thesis' properties,
the extended spectral features and the parameter count). Each part is timed over the same
``--graphs`` graphs of the default search space, then one whole pool draw (``draw``, a fresh
strategy at the default settings), as milliseconds per graph: CPU time of the process, which
other processes' load disturbs less than wall time, and wall time beside it. Each process runs
all parts ``--passes`` times and keeps each part's least time.

Each measurement is a fresh interpreter on one core (``OMP_NUM_THREADS=1``). With
``--baseline DIR`` (another checkout of the project, e.g. the commit before a change) both
trees are measured alternately, ``--repeats`` times each, so machine load hits them alike;
medians over the processes are printed, and a digest of every edge list and feature value
says whether the two trees drew the same graphs and computed the same features (bit for bit).
Not a test: run it by hand and read the figures.

    python benchmarks/describe_speed.py [--graphs 500] [--repeats 5] [--passes 3] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PARTS = (
    "build",
    "edge string",
    "layered DAG",
    "graph_properties",
    "spectral_features",
    "params_feature",
    "feature_row (whole describe)",
    "pool draw (all of it)",
)


def measure(graphs: int, cell: str, passes: int) -> dict[str, Any]:
    """Time every part in this process, the least of ``passes`` passes; ms per graph (CPU and
    wall) and the digest."""
    import numpy as np

    from core.errors import SparseNASError
    from graphs.dag import layered_dag
    from graphs.io import edges_to_string
    from graphs.properties import graph_properties
    from graphs.spectral import spectral_features
    from nas.search import SearchSpec
    from nas.search.space import SearchSpace, build_graph
    from nas.search.strategies.base import Warm
    from nas.search.strategies.predictor import PredictorStrategy
    from predictors import ALL
    from predictors.features import feature_row, params_feature

    spec = SearchSpec(cell=cell)
    space = SearchSpace(spec.families, spec.nodes)
    rng = np.random.default_rng(0)
    params = [space.sample(rng) for _ in range(graphs)]
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}

    def timed(name: str, run: Callable[[], Any]) -> Any:
        # The least of the passes: the one other processes disturbed least.
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        result = run()
        cpu[name] = min(cpu.get(name, math.inf), time.process_time() - started_cpu)
        wall[name] = min(wall.get(name, math.inf), time.perf_counter() - started_wall)
        return result

    def build_all() -> list:
        built = []
        for p in params:
            try:
                built.append(build_graph(p))
            except SparseNASError:
                continue
        return built

    def one_pass() -> tuple[list, list, list]:
        built = timed("build", build_all)
        strings = timed("edge string", lambda: [edges_to_string(g) for g in built])
        dags = timed("layered DAG", lambda: [layered_dag(g) for g in built])
        pairs = list(zip(built, dags, strict=True))
        timed("graph_properties", lambda: [graph_properties(g, d) for g, d in pairs])
        timed("spectral_features", lambda: [spectral_features(g, d) for g, d in pairs])
        timed("params_feature", lambda: [params_feature(d, cell) for d in dags])
        rows = timed("feature_row (whole describe)", lambda: [feature_row(g, cell) for g in built])
        # A fresh one: draw 0 is built again.
        strategy = PredictorStrategy.from_spec(spec, space, Warm(ALL))
        drawn = timed("pool draw (all of it)", lambda: strategy.draw(0))
        return built, list(zip(strings, rows, strict=True)), drawn

    for _ in range(passes):
        built, described, drawn = one_pass()
    digest = hashlib.sha256()
    for text, row in described:
        digest.update(text.encode())
        digest.update(repr(sorted(row.items())).encode())
    for params_drawn, text, (vector, size) in drawn:
        digest.update(repr((sorted(params_drawn.items()), text, vector.tolist(), size)).encode())
    per_graph = {name: len(built) for name in cpu}
    per_graph["build"] = len(params)
    per_graph["pool draw (all of it)"] = len(drawn)
    return {
        "cpu_ms": {name: 1e3 * cpu[name] / per_graph[name] for name in cpu},
        "wall_ms": {name: 1e3 * wall[name] / per_graph[name] for name in wall},
        "graphs": len(built),
        "digest": digest.hexdigest(),
    }


def run_child(tree: Path, graphs: int, cell: str, passes: int) -> dict[str, Any]:
    """``measure`` in a fresh interpreter importing the project from ``tree``, on one core."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.update(
        {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    )
    command = [sys.executable, str(Path(__file__).resolve()), "--child"]
    command += ["--graphs", str(graphs), "--cell", cell, "--passes", str(passes)]
    done = subprocess.run(command, env=env, cwd=tree, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--graphs", type=int, default=500, help="parameter sets drawn")
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per tree")
    parser.add_argument("--passes", type=int, default=3, help="passes per process (least kept)")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure alongside")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.graphs, args.cell, args.passes)))
        return
    trees = {"this tree": ROOT}
    if args.baseline is not None:
        trees = {"baseline": args.baseline.resolve(), **trees}
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in trees}
    for _ in range(args.repeats):
        for label, tree in trees.items():
            results[label].append(run_child(tree, args.graphs, args.cell, args.passes))
    labels = list(trees)
    first = results[labels[0]][0]
    print(f"{first['graphs']} graphs of the default search space, cell {args.cell}; ms per graph,")
    print(
        f"least of {args.passes} passes, median of {args.repeats} fresh processes per tree, "
        "run alternately (CPU / wall)"
    )
    print(f"{'part':>30}" + "".join(f"{label:>22}" for label in labels))
    for part in PARTS:
        cells = []
        for label in labels:
            cpu = statistics.median(r["cpu_ms"][part] for r in results[label])
            wall = statistics.median(r["wall_ms"][part] for r in results[label])
            cells.append(f"{cpu:>12.3f} / {wall:<7.3f}")
        print(f"{part:>30}" + "".join(f"{c:>22}" for c in cells))
    digests = {r["digest"] for runs in results.values() for r in runs}
    same = "yes" if len(digests) == 1 else "NO"
    print(f"same graphs and feature values in every run (bit for bit): {same}")


if __name__ == "__main__":
    main()
