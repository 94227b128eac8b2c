"""Build an evaluations table: the predictors' data and the search's tabular benchmark.

``--space thesis`` (default) samples ``--graphs`` topologies of the thesis preset (nodes
uniform in [10, 50]; the families alternate); ``--space search`` draws them uniformly from the
search's space (``nas.search.space``: family, nodes, the family's parameters and the graph
seed; ``benchmarks/replay.py`` replays searches against such a pool). Each is trained with
training seed 0 on ``--task`` (default: Reber at its default size); the first
``--repeat-graphs`` are repeated with training seeds 1 .. ``--train-seeds`` - 1 (default 1 and
2), so the table carries the noise ceiling
(intraclass correlation over training seeds). Trains with the batched engine, a chunk of
networks at a time, appending each finished chunk to the CSV, so an interrupted run resumes
where it stopped. The CSV is in the evaluations-table format (no per-epoch history;
`acc_by_epoch` holds the per-epoch accuracies as a space-separated list: the validation
split's since the split, the test split's in tables made before it).

    python benchmarks/make_table.py --cell gru --graphs 200 --out benchmarks/data/gru.csv

The thesis' study, every cell (rnn_tanh, rnn_relu, gru, lstm) with 4 training seeds per graph
(resumes a table made with fewer seeds, adding only the missing rows):

    OMP_NUM_THREADS=1 python benchmarks/make_table.py --cell rnn_tanh --graphs 200 \
        --repeat-graphs 200 --train-seeds 4 --block 40 \
        --out benchmarks/data/evaluations_rnn_tanh.csv

Progress: one line per finished chunk, with the networks done of the total, the seconds so
far and the estimated seconds left (at this run's pace).
    python benchmarks/make_table.py --space search --cell rnn_tanh --graphs 1000 \
        --repeat-graphs 0 --families ws,ba,er --out benchmarks/data/pool_rnn_tanh.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from core.seeds import child_seeds
from graphs.dag import READOUTS, layered_dag
from graphs.generators import sample_thesis
from models.evaluation import evaluate_many
from models.training import TrainSpec
from nas.search.space import PARAM_NAMES, SearchSpace
from nas.search.spec import parse_nodes
from nas.tasks import load_task


def thesis_graphs(count: int, families: list[str], seed: int) -> tuple[list[nx.Graph], list]:
    """Graphs of the thesis preset, families alternating, and their table columns."""
    graphs, meta = [], []
    for i, graph_seed in enumerate(child_seeds(seed, count)):
        family = families[i % len(families)]
        spec, graph = sample_thesis(family, graph_seed)
        graphs.append(graph)
        meta.append({"graph_id": i, "family": family, "graph_seed": graph_seed, **vars(spec)})
    return graphs, meta


def search_space_graphs(count: int, space: SearchSpace, seed: int) -> tuple[list[nx.Graph], list]:
    """Graphs drawn uniformly from the search space (parameter sets without a connected graph
    are drawn again) and their search parameters as table columns."""
    drawn = space.connected_samples(np.random.default_rng(seed), count)
    meta = [
        {"graph_id": i, **{name: params.get(name) for name in PARAM_NAMES}}
        for i, (params, _) in enumerate(drawn)
    ]
    return [graph for _, graph in drawn], meta


def finished(*tables: Path | None) -> set[tuple[int, int]]:
    """(graph_id, train_seed) of the rows already in the tables that exist."""
    done = set()
    for path in tables:
        if path is not None and path.exists():
            previous = pd.read_csv(path, usecols=["graph_id", "train_seed"])
            done |= set(zip(previous["graph_id"], previous["train_seed"], strict=True))
    return done


def progress(train_seed: int, added: int, trained: int, total: int, seconds: float) -> str:
    """One progress line: this chunk, the run's share done and, at its pace, the time left."""
    left = seconds / trained * (total - trained) if trained else float("nan")
    return (
        f"seed {train_seed}: +{added} networks, {trained}/{total} of this run "
        f"({100 * trained / max(total, 1):.0f} %), {seconds:.0f} s so far, ~{left:.0f} s left"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", choices=("thesis", "search"), default="thesis")
    parser.add_argument("--nodes", default="10:50", help="node range of --space search")
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--graphs", type=int, default=200)
    parser.add_argument("--repeat-graphs", type=int, default=20)
    parser.add_argument(
        "--train-seeds", type=int, default=3, help="training seeds of the repeated graphs"
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--task", default="reber")
    parser.add_argument(
        "--n-strings", type=int, default=None, help="Reber task size (default: the task's)"
    )
    parser.add_argument("--families", default="ws,ba")
    parser.add_argument(
        "--readout",
        choices=READOUTS,
        default="last",
        help="neurons the read-out sees: the DAG's last layer (the tables so far), its sinks "
        "or all",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunk", type=int, default=32, help="networks per engine call")
    parser.add_argument(
        "--peer",
        type=Path,
        default=None,
        help="another process's table of the same graphs: its rows count as done (re-read "
        "before every chunk), so two processes share the work, one of them with --reverse; "
        "concatenate the two tables when both are done",
    )
    parser.add_argument("--reverse", action="store_true", help="work from the last chunk back")
    parser.add_argument(
        "--block",
        type=int,
        default=0,
        help="sort by depth and size only within blocks of this many graphs (0: all), so "
        "that a partial table is a uniform sample rather than the shallowest graphs",
    )
    args = parser.parse_args()

    task = load_task(args.task, n_strings=args.n_strings)
    families = args.families.split(",")
    if args.space == "thesis":
        graphs, meta = thesis_graphs(args.graphs, families, args.seed)
    else:
        space = SearchSpace(tuple(families), parse_nodes(args.nodes))
        graphs, meta = search_space_graphs(args.graphs, space, args.seed)
    # a stack pads to its deepest and widest member: a chunk of similar shapes wastes least
    shapes = [(layered_dag(g).n_layers, g.number_of_nodes()) for g in graphs]
    jobs = [(i, 0) for i in range(len(graphs))]
    repeated = range(min(args.repeat_graphs, len(graphs)))
    jobs += [(i, s) for s in range(1, args.train_seeds) for i in repeated]
    done = finished(args.out, args.peer)  # resume: a killed run keeps every finished chunk
    todo = [job for job in jobs if job not in done]
    print(f"{len(jobs)} evaluations, {len(jobs) - len(todo)} already done", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    block = args.block or len(graphs)
    parts = []  # (training seed, graphs): one seed per engine call, so batches are shared
    for train_seed in range(args.train_seeds):
        for first in range(0, len(graphs), block):
            chosen = [i for i, s in todo if s == train_seed and first <= i < first + block]
            chosen.sort(key=lambda i: shapes[i])  # similar depths and sizes share a stack
            parts += [
                (train_seed, chosen[at : at + args.chunk])
                for at in range(0, len(chosen), args.chunk)
            ]
    trained = 0
    for train_seed, part in reversed(parts) if args.reverse else parts:
        if args.peer is not None:
            done = finished(args.out, args.peer)
            part = [i for i in part if (i, train_seed) not in done]
            if not part:
                continue
        records, _ = evaluate_many(
            [graphs[i] for i in part],
            args.cell,
            task,
            TrainSpec(epochs=args.epochs, readout=args.readout),
            seeds=[train_seed] * len(part),
        )
        rows = []
        for i, record in zip(part, records, strict=True):
            history = record.pop("history")
            record["acc_by_epoch"] = " ".join(f"{h['valid_acc']:.5f}" for h in history)
            rows.append({**meta[i], **record})
        frame = pd.DataFrame(rows)
        if args.out.exists():  # appended rows must follow the file's column order
            header = pd.read_csv(args.out, nrows=0).columns
            frame = frame.reindex(columns=header)
        frame.to_csv(args.out, mode="a", header=not args.out.exists(), index=False)
        trained += len(part)
        line = progress(train_seed, len(part), trained, len(todo), time.perf_counter() - started)
        print(line, flush=True)
    table = pd.read_csv(args.out)
    statuses = table["status"].value_counts().to_dict()
    print(
        f"{len(table)} rows in {args.out}; this run {time.perf_counter() - started:.0f} s; "
        f"test_acc mean {table['test_acc'].mean():.4f}, status {statuses}"
    )


if __name__ == "__main__":
    main()
