"""Seconds per candidate-epoch of the evaluation engine, against the reference loop.

Setting (the engine issue): 30-node Watts-Strogatz graphs of the thesis preset (k = 6,
p = 1, one graph seed per candidate), the default Reber task (18,750 training strings),
batch 128, one training epoch per variant:

* reference  - the plain time x layer loop (SparseRNN.forward via train_model), one network;
* batched K  - the batched engine (models/engine/) training K networks together, once per
  build of the compiled kernel asked for (``--arch``: ``native``, the machine's own
  instruction set, and e.g. ``x86-64-v3``, AVX2 as on machines without AVX-512; each row
  says what its kernel was built for). The engine trains on its fused step (one compiled
  call per batch); ``--steps fused,torch`` also times the PyTorch step (``SPARSE_NAS_STEP=
  torch``, the fallback and oracle) in the same rounds, its rows' build marked ``-torch``.

Beside each figure, its floor: the epoch's multiply-adds (one per edge weight and
row-step in the forward, two in the backward: the state and the weight gradient, over the
sequences' true lengths of training, validation and test; the cells' math, the token table
and the read-out are not counted) divided by the machine's single-precision multiply-add
rate, measured in the same run by a float32 GEMM (torch.mm on PyTorch's threads, best of
several), and the ratio of the figure to it.

Each variant runs in its own process, so the peak resident memory it reports is its own.
Not a test: run it by hand and read the figures.

    python benchmarks/engine.py [--cells gru,lstm,rnn_tanh] [--slots 1,8,32] [--repeat 5]
        [--arch native,x86-64-v3] [--steps fused,torch] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch

from graphs.dag import layered_dag
from graphs.generators import thesis_spec
from models.data import Task
from models.engine import train_many
from models.engine.step import STEP_ENV, fused_step_enabled
from models.fused import ARCH_ENV, check_arch, fused_kernel, instruction_set
from models.networks import SparseRNNClassifier
from models.training import TrainSpec, train_model
from nas.tasks import load_task

#: The training steps ``--steps`` can time (``STEP_ENV``'s values).
STEPS = ("fused", "torch")

#: The GEMM that measures the machine's multiply-add rate: (size x size) @ (size x size).
GEMM_SIZE, GEMM_ROUNDS = 1024, 10


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), so every figure says what it ran on."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gemm_rate(size: int = GEMM_SIZE, rounds: int = GEMM_ROUNDS) -> float:
    """Single-precision multiply-adds per second of a float32 GEMM (torch.mm) on PyTorch's
    threads, the best of ``rounds``: the peak this run's figures are set against."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator) for _ in range(2))
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return size**3 / best


def multiply_adds(dags: list, cell: str, task: Task) -> float:
    """The edge multiply-adds of one epoch (training, validation, test) per candidate: each
    network's edge weights (every gate) times its row-steps, three times over for training
    (forward, and the backward's state and weight gradients)."""
    steps = 3 * int(task.train.lengths.sum())
    steps += sum(int(part.lengths.sum()) for part in (task.validation, task.test))
    edges = 0
    for dag in dags:
        rnn = SparseRNNClassifier(dag, cell, task.n_classes, vocab_size=task.vocab_size).rnn
        masks = rnn.parametrizations
        edges += int(masks.weight_x[0].mask.sum()) + int(masks.weight_h[0].mask.sum())
    return edges / len(dags) * steps


def run_variant(variant: str, cell: str, nodes: int) -> dict[str, float | str]:
    """Train one epoch of ``variant``; seconds per candidate-epoch, peak memory (MiB), the
    kernel's instruction set and the epoch's multiply-adds per candidate."""
    task = load_task("reber")
    spec = TrainSpec(epochs=1)
    slots = int(variant.split("=")[1]) if variant.startswith("K=") else 1
    dags = [layered_dag(thesis_spec("ws", nodes).build(seed)) for seed in range(slots)]
    kernel = fused_kernel()  # a first build (about 25 s) is not training time
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
    engine = variant.startswith("K=")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "peak_mib": peak,
        "test_acc": accuracy,
        "instruction_set": instruction_set(kernel) if engine else "pytorch",
        "step": ("fused" if fused_step_enabled() else "pytorch") if engine else "reference",
        "multiply_adds": multiply_adds(dags, cell, task),
    }


def measure(variant: str, cell: str, nodes: int, arch: str, step: str) -> dict[str, float | str]:
    """``run_variant`` in a fresh process (its peak memory is its own), its kernel built
    for ``-march=arch``, training on ``step`` (fused or torch)."""
    out = subprocess.run(
        [sys.executable, __file__, "--nodes", str(nodes), "--one", variant, cell],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, ARCH_ENV: arch, STEP_ENV: step},
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
    parser.add_argument(
        "--arch", default="native",
        help="builds of the kernel to time side by side (-march values, comma-separated), "
        "e.g. native,x86-64-v3 (AVX2)",
    )  # fmt: skip
    parser.add_argument(
        "--steps", default="fused",
        help="training steps to time side by side: fused (one compiled call per batch) "
        "and/or torch (the PyTorch step), comma-separated",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON document, not a table")
    parser.add_argument("--one", nargs=2, metavar=("VARIANT", "CELL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_variant(args.one[0], args.one[1], args.nodes)))
        return
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1 (got {args.repeat})")
    try:
        arches = [check_arch(arch.strip()) for arch in args.arch.split(",")]
    except ValueError as error:
        parser.error(str(error))
    steps = [step.strip() for step in args.steps.split(",")]
    if not steps or not set(steps) <= set(STEPS):
        parser.error(f"--steps takes {' and/or '.join(STEPS)} (got {args.steps!r})")
    variants = [("reference", arches[0], steps[0])]
    variants += [
        (f"K={k}", arch, step) for step in steps for arch in arches for k in args.slots.split(",")
    ]
    rate = gemm_rate()
    conditions = (
        f"thesis-preset WS graphs, n={args.nodes}; default Reber task; 1 epoch per variant; "
        f"CPU {cpu_model()}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"median of {args.repeat} alternating round(s); float32 GEMM peak "
        f"{rate / 1e9:.1f} G multiply-adds/s (torch.mm {GEMM_SIZE}x{GEMM_SIZE}, "
        f"{torch.get_num_threads()} threads, best of {GEMM_ROUNDS}); engine rows train on "
        f"the fused step, those whose build ends in -torch on the PyTorch step"
    )
    rows = []
    if not args.json:
        print(conditions)
        print(
            f"{'cell':<9}{'build':<14}{'variant':<11}{'s/cand-epoch':>13}{'range':>15}"
            f"{'vs reference':>14}{'G madds':>9}{'floor s':>9}{'x floor':>9}{'peak MiB':>10}"
        )
    for cell in args.cells.split(","):
        runs: dict = {variant: [] for variant in variants}
        for _ in range(args.repeat):  # rounds alternate the variants: drifts hit all alike
            for variant, arch, step in variants:
                runs[variant, arch, step].append(measure(variant, cell, args.nodes, arch, step))
        reference = statistics.median(r["seconds"] for r in runs[variants[0]])
        for key in variants:
            variant, arch, _ = key
            seconds = [r["seconds"] for r in runs[key]]
            middle = statistics.median(seconds)
            madds = runs[key][0]["multiply_adds"]
            ran = runs[key][0]["step"]
            build = runs[key][0]["instruction_set"]
            row = {
                "cell": cell,
                "arch": arch if variant != "reference" else None,
                "build": f"{build}-torch" if ran == "pytorch" else build,
                "step": ran,
                "variant": variant,
                "seconds": middle,
                "range": [min(seconds), max(seconds)],
                "vs_reference": reference / middle,
                "multiply_adds": madds,
                "floor_seconds": madds / rate,
                "times_floor": middle / (madds / rate),
                "peak_mib": max(r["peak_mib"] for r in runs[key]),
            }
            rows.append(row)
            if args.json:
                continue
            spread = f"{min(seconds):.3f}-{max(seconds):.3f}" if len(seconds) > 1 else "-"
            print(
                f"{cell:<9}{row['build']:<14}{variant:<11}{middle:>13.3f}{spread:>15}"
                f"{row['vs_reference']:>13.1f}x{madds / 1e9:>9.3f}{row['floor_seconds']:>9.4f}"
                f"{row['times_floor']:>8.1f}x{row['peak_mib']:>10.0f}",
                flush=True,
            )
    if args.json:
        print(json.dumps({"conditions": conditions, "gemm_rate": rate, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
