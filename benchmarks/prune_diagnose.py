"""Why does the dense GRU lose its accuracy at lower sparsity than the thesis reports?

Measures, on the dense base model of ``nas prune`` (``nas.experiments.prune.PruneSpec``
defaults: GRU, 3 x 50, Adam 1e-3, batch 32), the test accuracy right after one-shot global
magnitude pruning of ``both`` (i2h and h2h) at 10..100 %, and checks one hypothesis per entry
of the output:

- ``evaluation``: the pruned model (torch.nn.utils.prune hooks on ``nn.GRU``, whose flat
  weights could go stale) computes exactly what a fresh unpruned model holding the zeroed
  weights computes (max |logit difference| and both accuracies);
- ``per_matrix``: the share of each matrix the global threshold removes (a threshold skewed
  by different i2h / h2h magnitude scales would prune some matrices much more than others),
  and their mean magnitudes;
- ``by_epochs``: accuracy right after pruning for base models trained 2, 5, 20 and 50 epochs
  (is the base model under- or over-trained?);
- ``by_part``: only i2h, only h2h, one layer only, per-matrix instead of global threshold,
  and random pruning at 30 / 50 / 80 %;
- ``by_task``: the same with other negatives than the default task's (one wrong transition
  or foreign letters): foreign letters only, single edits only, and strings of *other*
  grammars (the Reber automaton with permuted letters, or with foreign letters), which is
  what the thesis' data set holds; each with the 32-wide embedding and the thesis' 50-wide;
- ``by_seed``: the default task and the other-grammars one again with seeds 1 and 2 (weights
  and batch order; the data stay the same).

One process, one thread; about 9 minutes on one core. Writes a JSON of every number.

    OMP_NUM_THREADS=1 python benchmarks/prune_diagnose.py \
        --out benchmarks/data/pruning_gru_diagnosis.json
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from models.pruning import (
    effective_weight,
    global_magnitude_masks,
    prunable_weights,
    prune_magnitude,
    pruning_summary,
)
from models.training import evaluate, train_model
from nas.experiments.prune import PruneSpec, build_dense
from nas.tasks import load_task
from nas.tasks import reber as R

PERCENTS = list(range(10, 101, 10))
CPU = torch.device("cpu")


def accuracy(model, task) -> float:
    return round(evaluate(model, task.test, CPU)[1], 4)


def sweep(model, task, target: str = "both") -> dict[int, float]:
    """Accuracy right after global magnitude pruning of ``target`` at every percent."""
    out = {}
    for percent in PERCENTS:
        pruned = copy.deepcopy(model)
        prune_magnitude(pruned, target, percent / 100)
        out[percent] = accuracy(pruned, task)
    return out


def plain_copy(model, pruned):
    """A fresh (never pruned) copy of ``model`` holding ``pruned``'s effective weights."""
    plain = copy.deepcopy(model)
    with torch.no_grad():
        for source, dest in zip(
            prunable_weights(pruned, "both"), prunable_weights(plain, "both"), strict=True
        ):
            getattr(plain.rnn, dest.attr).copy_(effective_weight(source))
    return plain


def zero_smallest(model, tensors, fraction: float) -> None:
    """Zero the fraction of smallest magnitudes over ``tensors`` (one threshold), in place."""
    with torch.no_grad():
        n = round(fraction * sum(t.numel() for t in tensors))
        for tensor, mask in zip(tensors, global_magnitude_masks(tensors, n), strict=True):
            tensor.mul_(mask)


def by_part(model, task) -> dict[str, float]:
    rows = {}
    for percent in (30, 50, 80):
        fraction = percent / 100
        for target in ("i2h", "h2h", "both"):
            pruned = copy.deepcopy(model)
            prune_magnitude(pruned, target, fraction)
            rows[f"{target} {percent}% global"] = accuracy(pruned, task)
        pruned = copy.deepcopy(model)
        for weight in prunable_weights(pruned, "both"):
            zero_smallest(pruned, [getattr(pruned.rnn, weight.attr)], fraction)
        rows[f"both {percent}% per-matrix threshold"] = accuracy(pruned, task)
        for layer in range(model.rnn.num_layers):
            pruned = copy.deepcopy(model)
            matrices = [getattr(pruned.rnn, f"weight_{k}_l{layer}") for k in ("ih", "hh")]
            zero_smallest(pruned, matrices, fraction)
            rows[f"layer {layer} only {percent}%"] = accuracy(pruned, task)
        pruned = copy.deepcopy(model)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for weight in prunable_weights(pruned, "both"):
                tensor = getattr(pruned.rnn, weight.attr)
                tensor.mul_((torch.rand(tensor.shape, generator=generator) >= fraction).float())
        rows[f"both {percent}% random"] = accuracy(pruned, task)
    return rows


def negatives(kind: str):
    def foreign(n, rng):
        make = lambda: R.with_foreign_letters(R.generate_valid(1, rng)[0], rng)  # noqa: E731
        return R.draw_invalid(n, make, R.is_valid)

    def edits(n, rng):
        make = lambda: R.single_edit(R.generate_valid(1, rng)[0], rng)  # noqa: E731
        return R.draw_invalid(n, make, R.is_valid)

    def grammars(n, rng):
        permuted = str.maketrans("TSXPV", "XPTVS")
        alien = str.maketrans("TSXPV", "MQUWZ")
        first = R.draw_invalid(
            n - n // 2, lambda: R.generate_valid(1, rng)[0].translate(permuted), R.is_valid
        )
        second = R.draw_invalid(
            n // 2, lambda: R.generate_valid(1, rng)[0].translate(alien), R.is_valid
        )
        strings = first + second
        return [strings[i] for i in rng.permutation(n)]

    kinds = {"foreign letters only": foreign, "single edits only": edits}
    return {**kinds, "other grammars": grammars}[kind]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", default="2,5,20,50", help="base epochs to check")
    parser.add_argument("--n-strings", type=int, default=25000, help="task size (smoke tests)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    task = load_task("reber", seed=0, n_strings=args.n_strings)
    checkpoints = sorted(int(e) for e in args.epochs.split(","))
    report: dict[str, object] = {"percents": PERCENTS, "by_epochs": {}}

    spec = PruneSpec(cell="gru", epochs=max(checkpoints))
    model = build_dense(spec, task)

    def on_epoch(metrics) -> None:
        if metrics.epoch not in checkpoints:
            return
        entry = {"base_acc": metrics.test_acc, "train_loss": metrics.train_loss}
        entry["both_before_retraining"] = sweep(model, task)
        report["by_epochs"][metrics.epoch] = entry
        print(f"epochs {metrics.epoch}: {entry}", flush=True)
        if metrics.epoch == 5 or (metrics.epoch == checkpoints[0] and 5 not in checkpoints):
            pruned = copy.deepcopy(model)
            prune_magnitude(pruned, "both", 0.5)
            plain = plain_copy(model, pruned)
            pruned.eval()
            plain.eval()
            with torch.no_grad():
                inputs, lengths = task.test.inputs[:512], task.test.lengths[:512]
                diff = (pruned(inputs, lengths) - plain(inputs, lengths)).abs().max()
            report["evaluation"] = {
                "epochs": metrics.epoch,
                "percent": 50,
                "acc_pruned_model": accuracy(pruned, task),
                "acc_plain_copy_with_zeroed_weights": accuracy(plain, task),
                "max_abs_logit_difference": float(diff),
            }
            report["per_matrix"] = {
                row["name"]: {
                    "mean_abs": round(float(effective_weight(w).abs().mean()), 4),
                    "pruned_share_at_50": round(float(row["sparsity"]), 3),
                }
                for row, w in zip(
                    pruning_summary(pruned, "both"),
                    prunable_weights(model, "both"),
                    strict=True,
                )
            }
            report["by_part"] = by_part(model, task)
            print(report["evaluation"], report["per_matrix"], report["by_part"], flush=True)

    train_model(model, task, spec.base_train(), seed=spec.seeds[1], on_epoch=on_epoch)

    report["by_task"] = {}
    for kind in ("foreign letters only", "single edits only", "other grammars"):
        variant = R.make_grammar_task(
            "reber", R.generate_valid, negatives(kind), args.n_strings, 0, 0.25
        )
        for width in (32, 50):
            spec = PruneSpec(cell="gru", epochs=5, embedding_dim=width)
            net = build_dense(spec, variant)
            result = train_model(net, variant, spec.base_train(), seed=spec.seeds[1])
            entry = {"base_acc": result.test_acc, "both_before_retraining": sweep(net, variant)}
            report["by_task"][f"{kind}, embedding {width}"] = entry
            print(kind, width, entry, flush=True)
    report["by_seed"] = {}
    for kind, width in (("default task", 32), ("other grammars", 50)):
        for seed in (1, 2):
            variant = task
            if kind != "default task":
                variant = R.make_grammar_task(
                    "reber", R.generate_valid, negatives(kind), args.n_strings, 0, 0.25
                )
            spec = PruneSpec(cell="gru", epochs=5, embedding_dim=width, seed=seed)
            net = build_dense(spec, variant)
            result = train_model(net, variant, spec.base_train(), seed=spec.seeds[1])
            entry = {"base_acc": result.test_acc, "both_before_retraining": sweep(net, variant)}
            report["by_seed"][f"{kind}, embedding {width}, seed {seed}"] = entry
            print(kind, width, seed, entry, flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
