"""Is graph wiring better than a smaller dense network? The best Sparse-RNN of a search
against a dense GRU with about as many recurrent weights (issue 30).

The Sparse-RNN is the one a search chose by validation accuracy (``--run``: a search's out
dir, its ``evaluations.csv``; or ``--graph``: a graph file). The dense control is one
layer of ``h`` GRU units, all read out, with ``h`` the width whose recurrent weights
(``models.cells.recurrent_weights``: ``G (h E + h^2)``, the input projection and the
recurrence) come closest to the Sparse-RNN's. In this project a dense layer is a graph
without edges (docs/data-formats.md), so both train by the same engine with the same
settings (the task's own, ``nas.tasks.TASK_TRAINING``, read-out included), the same
seeds (seed s: weights and batch order from ``core.seeds.child_seeds(s, 2)``, as
``models.evaluation.evaluate_many`` derives them) and all networks of a run in one stack.
``--cap W`` adds a third network, ``dense_cap``: the widest dense GRU with at most ``W``
recurrent weights (the issue's bar allows 2,500), so the table shows what a dense network
reaches at the bar's own size, not only at the Sparse-RNN's.

Prints, per network, the mean test and validation accuracy over ``--seeds`` seeds with the
95 % t-interval (``scipy.stats.t``), and the paired difference sparse - dense per seed with
its t-interval; writes every run and the summary to ``--out`` (JSON). Figures of a busy
shared machine: the seconds are not timings.

    OMP_NUM_THREADS=2 nice -n 19 python benchmarks/sparse_vs_dense.py --task mnist1d \\
        --run runs/gru-mnist1d --out benchmarks/data/sparse_vs_dense_mnist1d.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from core.seeds import child_seeds
from core.status import TrialStatus
from graphs.dag import LayeredDAG, layered_dag
from graphs.io import edges_from_string, read_graph
from models.cells import DEFAULT_EMBEDDING_DIM, recurrent_weights
from models.engine import train_many
from models.networks import planned_parameter_counts
from models.train_spec import TrainSpec
from nas.tasks import load_task, train_settings


def t_interval(values: list[float]) -> dict[str, float]:
    """Mean, sample sd and half-width of the 95 % t-interval over ``values``."""
    data = np.asarray(values, dtype=float)
    sd = float(data.std(ddof=1)) if len(data) > 1 else 0.0
    half = float(stats.t.ppf(0.975, len(data) - 1) * sd / np.sqrt(len(data))) if sd else 0.0
    return {"mean": float(data.mean()), "sd": sd, "t95": half, "n": len(data)}


def best_of_run(run: Path) -> tuple[nx.Graph, dict[str, object]]:
    """The graph of a search's best finished network by validation accuracy."""
    table = pd.read_csv(run / "evaluations.csv")
    networks = len(table)
    table = table[table["status"] == TrialStatus.OK].sort_values("valid_acc", ascending=False)
    row = table.iloc[0]
    chosen = {k: _plain(row[k]) for k in ("trial", "family", "nodes", "edges", "valid_acc",
                                          "test_acc", "params_nonzero") if k in row}  # fmt: skip
    chosen["networks_in_run"], chosen["finished_in_run"] = networks, len(table)
    return edges_from_string(str(row["edge_list"])), chosen


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def dense_dag(units: int) -> LayeredDAG:
    """One dense layer of ``units`` neurons: a graph without edges (docs/data-formats.md)."""
    return layered_dag(nx.empty_graph(units))


def dense_weights(units: int, cell: str, input_size: int) -> int:
    """Recurrent weights of ``dense_dag(units)`` wired into ``cell``."""
    return recurrent_weights(dense_dag(units), cell, input_size)


def dense_width(target: int, cell: str, input_size: int) -> int:
    """Units of the one-layer dense network whose recurrent weights come closest to
    ``target`` (the smaller width on a tie)."""
    widths = range(1, 1025)
    weights = [dense_weights(h, cell, input_size) for h in widths]
    return min(widths, key=lambda h: (abs(weights[h - 1] - target), h))


def widest_within(cap: int, cell: str, input_size: int) -> int:
    """Units of the widest one-layer dense network with at most ``cap`` recurrent weights
    (0 when not even one unit fits)."""
    width = 0
    while dense_weights(width + 1, cell, input_size) <= cap:
        width += 1
    return width


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="mnist1d")
    parser.add_argument("--cell", default="gru")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="a search's out dir (its evaluations.csv)")
    source.add_argument("--graph", type=Path, help="a graph file (edge list or GraphML)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: the task's own")
    parser.add_argument("--readout", default=None, help="default: the task's own")
    parser.add_argument(
        "--cap", type=int, default=None,
        help="also train the widest dense network with at most this many recurrent weights",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    settings = train_settings(args.task, epochs=args.epochs, readout=args.readout)
    train = TrainSpec(**settings)  # type: ignore[arg-type]
    task = load_task(args.task, seed=0)
    width = DEFAULT_EMBEDDING_DIM if task.vocab_size is not None else int(task.n_features or 0)
    if args.run is not None:
        graph, chosen = best_of_run(args.run)
    else:
        graph, chosen = read_graph(args.graph), {"file": args.graph.name}
    sparse = layered_dag(graph)
    sparse_weights = recurrent_weights(sparse, args.cell, width)
    units = dense_width(sparse_weights, args.cell, width)
    networks = {"sparse": sparse, "dense": dense_dag(units)}
    if args.cap is not None:
        cap_units = widest_within(args.cap, args.cell, width)
        if cap_units == 0:
            parser.error(f"--cap {args.cap} is below one unit's recurrent weights")
        networks["dense_cap"] = dense_dag(cap_units)
    seeds = list(range(args.seeds))
    jobs = [(name, seed) for name in networks for seed in seeds]
    derived = {seed: child_seeds(seed, 2) for seed in seeds}
    started = time.perf_counter()
    results, _ = train_many(
        [networks[name] for name, _ in jobs],
        args.cell,
        task,
        train,
        init_seeds=[derived[seed][0] for _, seed in jobs],
        order_seeds=[derived[seed][1] for _, seed in jobs],
    )
    seconds = time.perf_counter() - started
    runs = []
    for (name, seed), result in zip(jobs, results, strict=True):
        summary = result.summary()
        runs.append(
            {"network": name, "seed": seed, "status": summary["status"],
             "valid_acc": summary["valid_acc"], "test_acc": summary["test_acc"],
             "epochs": summary["epochs"]}
        )  # fmt: skip
    described = {}
    for name, dag in networks.items():
        mine = [r for r in runs if r["network"] == name]
        counts = planned_parameter_counts(dag, args.cell, task, readout=train.readout)
        described[name] = {
            "layer_sizes": list(dag.layer_sizes),
            "edges": len(dag.edges),
            "readout_neurons": len(dag.readout_neurons(train.readout)),
            "recurrent_weights": recurrent_weights(dag, args.cell, width),
            **counts,
            "test_acc": t_interval([r["test_acc"] for r in mine]),
            "valid_acc": t_interval([r["valid_acc"] for r in mine]),
        }
    by_seed = {(r["network"], r["seed"]): r["test_acc"] for r in runs}
    differences = {
        name: t_interval([by_seed["sparse", s] - by_seed[name, s] for s in seeds])
        for name in networks
        if name != "sparse"
    }
    print(f"{args.cell} on {args.task}, {args.seeds} seeds, {train}")
    print(
        f"{'network':8s} {'layers':>14s} {'rec. weights':>12s} {'nonzero':>8s}  test acc (95 % t)"
    )
    for name, row in described.items():
        test, layers = row["test_acc"], " ".join(map(str, row["layer_sizes"]))
        print(
            f"{name:8s} {layers[:14]:>14s} {row['recurrent_weights']:>12d} "
            f"{row['params_nonzero']:>8d}  {test['mean']:.4f} +- {test['t95']:.4f}"
        )
    for name, difference in differences.items():
        print(
            f"sparse - {name} (paired by seed): "
            f"{difference['mean']:+.4f} +- {difference['t95']:.4f}"
        )
    shown = {k: Path(v).name if isinstance(v, Path) else v for k, v in vars(args).items()}
    payload = {
        "command": "python benchmarks/sparse_vs_dense.py "  # file names only: no machine paths
        + " ".join(f"--{k} {v}" for k, v in shown.items() if v is not None),
        "task": args.task,
        "cell": args.cell,
        "train": {**settings, "clip_norm": train.clip_norm},
        "sparse_source": chosen,
        "networks": described,
        **{f"sparse_minus_{name}_test_acc": diff for name, diff in differences.items()},
        "runs": runs,
        "machine": "busy shared 2-core machine (seconds are not timings)",
        "seconds": round(seconds),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
