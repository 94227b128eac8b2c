"""Zero-cost proxies as stand-alone rankers: how well does each score of the untrained
network (``models.proxies``) rank a pool's trained accuracies?

Draws ``--rows`` graphs of a pool (``benchmarks/make_table.py``) at random (seeded), scores
each untrained Sparse-RNN on one batch of the task's training data (``nas.experiments.
proxies``, the network initialised as the pool's training initialised it), and reports each proxy's
Kendall tau and Spearman rho against the pool's test accuracy (a proxy ranks the networks
by itself: no fitting), beside the same for the size-only features (nodes, edges,
params_nonzero). Writes the rows with their proxy columns (CSV) and the figures (JSON).

    python benchmarks/proxies.py --pool benchmarks/data/pool_rnn_tanh.csv --rows 200

A table with several training seeds per graph (``evaluations_<cell>.csv``) takes
``--per-graph``: each distinct graph is scored once (its first row: the network initialised
as that row's training seed initialised it), so the proxies can be joined to the graphs'
means over seeds by ``edge_list``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau, spearmanr

from core.seeds import child_seeds
from core.status import TrialStatus
from nas.experiments.proxies import BATCH_SIZE, proxy_columns
from nas.tasks import load_task
from predictors.features import PROXY_FEATURES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="CSV/JSON stem")
    parser.add_argument(
        "--per-graph", action="store_true", help="score each distinct edge_list once"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    pool = pd.read_csv(args.pool)
    pool = pool[pool["status"].eq(TrialStatus.OK) & pool["test_acc"].notna()]
    if args.per_graph:
        pool = pool.drop_duplicates("edge_list")
    rows = pool.sample(n=min(args.rows, len(pool)), random_state=args.seed)
    cell, task_name = str(rows["cell"].iloc[0]), str(rows["task"].iloc[0])
    init_seed = child_seeds(int(rows["train_seed"].iloc[0]), 2)[0]  # as the pool's training
    task = load_task(task_name, seed=0)
    started = time.perf_counter()
    scores = proxy_columns(list(rows["edge_list"]), cell, task, init_seed=init_seed)
    seconds = time.perf_counter() - started
    table = pd.concat([rows.reset_index(drop=True), scores], axis=1)
    accuracy = table["test_acc"].to_numpy(float)
    figures = {}
    for column in (*PROXY_FEATURES, "nodes", "edges", "params_nonzero"):
        values = table[column].to_numpy(float)
        ok = np.isfinite(values)
        figures[column] = {
            "kendall_tau": float(kendalltau(values[ok], accuracy[ok])[0]),
            "spearman": float(spearmanr(values[ok], accuracy[ok])[0]),
            "finite": int(ok.sum()),
        }
    summary = {
        "pool": str(args.pool), "cell": cell, "task": task_name, "rows": len(table),
        "seed": args.seed, "per_graph": args.per_graph, "batch_size": BATCH_SIZE,
        "init_seed": init_seed,
        "seconds_per_graph": seconds / len(table), "rankers": figures,
        "command": "python benchmarks/proxies.py " + " ".join(sys.argv[1:]),
    }  # fmt: skip
    stem = args.out or args.pool.with_name(f"proxies_{args.pool.stem}")
    table.to_csv(f"{stem}.csv", index=False)
    Path(f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{len(table)} graphs of {cell}, {seconds / len(table):.2f} s each")
    for name, f in figures.items():
        print(f"{name:<16} tau {f['kendall_tau']:+.3f}  rho {f['spearman']:+.3f}  ({f['finite']})")
    print(f"wrote {stem}.csv and {stem}.json")


if __name__ == "__main__":
    main()
