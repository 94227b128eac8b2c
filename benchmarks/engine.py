"""Seconds per candidate-epoch of the evaluation engine, against the reference loop.

Setting (the engine issue): 30-node Watts-Strogatz graphs of the thesis preset (k = 6,
p = 1, one graph seed per candidate), the default Reber task (18,750 training strings),
batch 128, one training epoch per variant:

* reference  - the plain time x layer loop (SparseRNN.forward via train_model), one network;
* batched K  - the batched engine (models/engine/) training K networks together.

Each variant runs in its own process, so the peak resident memory it reports is its own.
Not a test: run it by hand and read the figures.

    python benchmarks/engine.py [--cells gru,lstm,rnn_tanh] [--slots 1,8,32] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from graphs.dag import layered_dag
from graphs.generators import thesis_spec
from models.engine import train_many
from models.fused import fused_kernel
from models.networks import SparseRNNClassifier
from models.training import TrainSpec, train_model
from nas.tasks import load_task


def run_variant(variant: str, cell: str, nodes: int) -> dict[str, float]:
    """Train one epoch of ``variant``; seconds per candidate-epoch and peak memory (MiB)."""
    task = load_task("reber")
    spec = TrainSpec(epochs=1)
    slots = int(variant.split("=")[1]) if variant.startswith("K=") else 1
    dags = [layered_dag(thesis_spec("ws", nodes).build(seed)) for seed in range(slots)]
    fused_kernel()  # a first build (about 25 s) is not training time
    started = time.perf_counter()
    if variant.startswith("K="):
        results, _ = train_many(
            dags,
            cell,
            task,
            spec,
            init_seeds=list(range(slots)),
            order_seeds=[0] * slots,
            slots=slots,
        )
        accuracy = sum(r.test_acc for r in results) / len(results)
    else:
        model = SparseRNNClassifier(dags[0], cell, 2, vocab_size=task.vocab_size, seed=0)
        accuracy = train_model(model, task, spec, seed=0).test_acc  # the reference loop
    seconds = (time.perf_counter() - started) / slots
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mib": peak, "test_acc": accuracy}


def measure(variant: str, cell: str, nodes: int) -> dict[str, float]:
    """``run_variant`` in a fresh process (its peak memory is its own)."""
    out = subprocess.run(
        [sys.executable, __file__, "--nodes", str(nodes), "--one", variant, cell],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default="gru,lstm,rnn_tanh")
    parser.add_argument("--slots", default="1,8,32")
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument(
        "--repeat", type=int, default=1,
        help="rounds of every variant, one after the other; the median (and range) is shown",
    )  # fmt: skip
    parser.add_argument("--one", nargs=2, metavar=("VARIANT", "CELL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_variant(args.one[0], args.one[1], args.nodes)))
        return
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1 (got {args.repeat})")
    variants = ["reference"] + [f"K={k}" for k in args.slots.split(",")]
    print(
        f"thesis-preset WS graphs, n={args.nodes}; default Reber task; 1 epoch per variant; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"median of {args.repeat} alternating round(s)"
    )
    header = f"{'cell':<9}{'variant':<11}{'s/cand-epoch':>13}{'range':>15}{'vs reference':>14}"
    print(header + f"{'peak MiB':>10}")
    for cell in args.cells.split(","):
        runs: dict[str, list[dict[str, float]]] = {variant: [] for variant in variants}
        for _ in range(args.repeat):  # rounds alternate the variants: drifts hit all alike
            for variant in variants:
                runs[variant].append(measure(variant, cell, args.nodes))
        reference = statistics.median(r["seconds"] for r in runs["reference"])
        for variant in variants:
            seconds = [r["seconds"] for r in runs[variant]]
            middle = statistics.median(seconds)
            spread = f"{min(seconds):.3f}-{max(seconds):.3f}" if len(seconds) > 1 else ""
            peak = max(r["peak_mib"] for r in runs[variant])
            print(
                f"{cell:<9}{variant:<11}{middle:>13.3f}{spread:>15}"
                f"{reference / middle:>13.1f}x{peak:>10.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
