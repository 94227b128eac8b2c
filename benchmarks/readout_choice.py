"""Which read-out should the real-valued tasks default to? ``last``, ``sinks`` or ``all``
(graphs.dag.READOUTS), measured on one task (issue 30).

A Sparse-RNN reads out only the DAG's last layer by default (the thesis' network), often 1-4
neurons; on ``mnist1d`` that caps graph-wired GRUs far below a dense GRU. This trains the
same graphs (Watts-Strogatz, Barabasi-Albert and Erdos-Renyi, ``--nodes`` nodes each, one
graph per family and graph seed) with each read-out, by the engine, at the task's own
training settings (``nas.tasks.TASK_TRAINING``), one training seed per graph, all networks
of one seed in one stack. Prints mean validation and test accuracy per read-out with the
95 % t-interval over the graphs, and writes every run to ``--out`` (JSON).

    OMP_NUM_THREADS=2 nice -n 19 python benchmarks/readout_choice.py \\
        --out benchmarks/data/readout_choice_mnist1d.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import stats

from graphs.dag import READOUTS, check_readout
from graphs.generators import barabasi_albert, erdos_renyi, watts_strogatz
from models.evaluation import evaluate_many
from models.train_spec import TrainSpec
from nas.tasks import load_task, train_settings

FAMILIES = {
    "ws": lambda n, seed: watts_strogatz(n, 4, 0.5, seed=seed),
    "ba": lambda n, seed: barabasi_albert(n, 2, seed=seed),
    "er": lambda n, seed: erdos_renyi(n, 4 / n, seed=seed),
}


def t_interval(values: list[float]) -> tuple[float, float]:
    """Mean and half-width of the 95 % t-interval (0 for a single value)."""
    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        return float(data.mean()), 0.0
    half = stats.t.ppf(0.975, len(data) - 1) * data.std(ddof=1) / np.sqrt(len(data))
    return float(data.mean()), float(half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mnist1d")
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--graph-seeds", type=int, default=2, help="graphs per family")
    parser.add_argument("--epochs", type=int, default=None, help="default: the task's own")
    parser.add_argument("--readouts", default=",".join(READOUTS), help="comma list")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = train_settings(args.task, epochs=args.epochs)
    settings.pop("readout")
    task = load_task(args.task, seed=0)
    graphs = [
        (family, seed, make(args.nodes, seed))
        for seed in range(1, args.graph_seeds + 1)
        for family, make in FAMILIES.items()
    ]
    readouts = [check_readout(name) for name in args.readouts.split(",")]
    runs = []
    started = time.perf_counter()
    for readout in readouts:
        train = TrainSpec(**settings, readout=readout)  # type: ignore[arg-type]
        seeds = [seed for _, seed, _ in graphs]
        records, _ = evaluate_many([g for _, _, g in graphs], args.cell, task, train, seeds=seeds)
        for (family, seed, _), record in zip(graphs, records, strict=True):
            runs.append(
                {"readout": readout, "family": family, "graph_seed": seed,
                 **{k: record[k] for k in ("status", "valid_acc", "test_acc", "epochs",
                                           "params_nonzero", "layer_sizes", "dead_end_nodes")}}
            )  # fmt: skip
        print(f"{readout}: done after {time.perf_counter() - started:.0f} s", flush=True)
    summary = {}
    for readout in readouts:
        mine = [r for r in runs if r["readout"] == readout]
        summary[readout] = {
            name: dict(zip(("mean", "t95"), t_interval([r[name] for r in mine]), strict=True))
            for name in ("valid_acc", "test_acc")
        }
        valid, test = summary[readout]["valid_acc"], summary[readout]["test_acc"]
        print(
            f"{readout:6s} valid {valid['mean']:.4f} +- {valid['t95']:.4f}   "
            f"test {test['mean']:.4f} +- {test['t95']:.4f}   ({len(mine)} graphs)"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shown = {k: Path(v).name if isinstance(v, Path) else v for k, v in vars(args).items()}
    command = "python benchmarks/readout_choice.py " + " ".join(  # no machine paths
        f"--{k.replace('_', '-')} {v}" for k, v in shown.items() if v is not None
    )
    payload = {
        "command": command,
        "task": args.task,
        "cell": args.cell,
        "train": settings,
        "machine": "busy shared 2-core machine (timings not meaningful)",
        "seconds": round(time.perf_counter() - started),
        "summary": summary,
        "runs": runs,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
