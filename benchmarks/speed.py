"""Seconds per training epoch: fast (wavefront) vs reference (time x layer loop) Sparse-RNN.

The setting of the core issue: a 30-node Watts-Strogatz graph of the thesis preset (k = 6,
p = 1), default Reber task (18,750 training strings), batch 128, Adam. Each implementation
trains whole epochs from the same initial weights; the script prints the median seconds per
epoch and the ratio. Not a test: run it by hand (``make bench``) and read the figures.

    python benchmarks/speed.py [--cells gru,lstm,rnn_tanh] [--epochs 2] [--nodes 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from graphs.dag import layered_dag
from graphs.generators import thesis_spec
from models.networks import SparseRNNClassifier
from models.training import length_buckets
from nas.tasks import load_task


class _Reference(torch.nn.Module):
    """Routes a classifier's forward through the reference loop."""

    def __init__(self, model: SparseRNNClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs, lengths):
        return self.model(inputs, lengths, reference=True)


def seconds_per_epoch(model: torch.nn.Module, task, epochs: int, seed: int) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    timings = []
    for _ in range(epochs):
        start = time.perf_counter()
        for index in length_buckets(task.train.lengths, 128, generator):
            batch = task.train.subset(index)
            loss = torch.nn.functional.cross_entropy(
                model(batch.inputs, batch.lengths), batch.labels
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default="gru")
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per variant")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    task = load_task("reber")
    graph = thesis_spec("ws", args.nodes).build(args.seed)
    dag = layered_dag(graph)
    print(
        f"ws n={args.nodes}: {graph.number_of_edges()} edges, layers {dag.layer_sizes}, "
        f"max skip {dag.max_span}; {len(task.train)} training strings; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"{'cell':<9}{'reference s/epoch':>19}{'fast s/epoch':>14}{'speed-up':>10}")
    for cell in args.cells.split(","):
        model = SparseRNNClassifier(dag, cell, 2, vocab_size=task.vocab_size, seed=args.seed)
        fast = seconds_per_epoch(model, task, args.epochs, args.seed)
        model = SparseRNNClassifier(dag, cell, 2, vocab_size=task.vocab_size, seed=args.seed)
        reference = seconds_per_epoch(_Reference(model), task, args.epochs, args.seed)
        print(f"{cell:<9}{reference:>19.2f}{fast:>14.2f}{reference / fast:>9.1f}x")


if __name__ == "__main__":
    main()
