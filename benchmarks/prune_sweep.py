"""The thesis' pruning study: every cell and target, retraining until the base is regained.

Runs ``nas.experiments.prune.run_prune`` (what ``nas prune`` runs) once per unit, a cell and a
seed with its targets sharing one dense base model, and retrains each pruned copy until its
test accuracy is back within the tolerance of the base (0.5 points) or ``--retrain-epochs``
have passed: the rest of the row (``acc_epoch_k`` past the regain) stays empty and the row's
status is ``stopped``. Each unit writes ``nas prune --out``'s files into
``OUT/<cell>_seed<seed>/``; a unit whose ``prune_results.csv`` exists is skipped, so an
interrupted sweep resumes at the unit it was in. At the end (and with ``--summary-only``) the
finished units' figures are written to ``OUT/summary.csv`` and, as the docs' per-cell tables
(pruned / after one retraining epoch / epochs to regain), to ``OUT/summary.md``.

    OMP_NUM_THREADS=1 python benchmarks/prune_sweep.py --out benchmarks/data/pruning_thesis

Default units, in this order: gru seed 0 (targets i2h, h2h, both), gru ``both`` seeds 1 and 2,
then lstm, rnn_tanh and rnn_relu seed 0 (all three targets), then lstm ``both`` seeds 1 and 2;
task ``reber-thesis``, embedding 50, 5 base epochs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from models.training import EpochMetrics
from nas.experiments.prune import DEFAULT_PERCENTS, PruneSpec, run_prune
from nas.tasks import load_task

DEFAULT_UNITS = (
    "gru:0:i2h,h2h,both gru:1:both gru:2:both lstm:0:i2h,h2h,both rnn_tanh:0:i2h,h2h,both "
    "rnn_relu:0:i2h,h2h,both lstm:1:both lstm:2:both"
)


def parse_units(text: str) -> list[tuple[str, int, tuple[str, ...]]]:
    """``cell:seed:targets`` words -> (cell, seed, targets)."""
    units = []
    for word in text.split():
        cell, seed, targets = word.split(":")
        units.append((cell, int(seed), tuple(targets.split(","))))
    return units


def stop_when_regained(tolerance: float, report):
    """An ``on_epoch`` hook for run_prune: remembers the base model's last accuracy and
    stops a retraining as soon as it is back within ``tolerance`` of it."""
    base = {"acc": None}

    def hook(stage: str, metrics: EpochMetrics) -> bool:
        report(stage, metrics)
        if stage == "dense base":
            base["acc"] = metrics.test_acc
            return False
        return metrics.test_acc >= base["acc"] - tolerance - 1e-12

    return hook


def summary(out: Path) -> pd.DataFrame:
    """One row per cell, target, seed and percent: the docs' figures."""
    frames = [pd.read_csv(path) for path in sorted(out.glob("*_seed*/prune_results.csv"))]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    columns = ["cell", "seed", "target", "percent", "base_acc", "acc_pruned", "acc_epoch_1"]
    columns += ["epochs_to_regain", "best_retrained"]
    order = {target: rank for rank, target in enumerate(("i2h", "h2h", "both", "all"))}
    table = table.assign(rank=table["target"].map(order))
    return table.sort_values(["cell", "rank", "seed", "percent"])[columns]


def markdown(table: pd.DataFrame) -> str:
    """The docs' tables: per cell, one row per percent, for each target and seed the accuracy
    right after pruning / after one retraining epoch / the epochs to regain the base."""
    parts = []
    for cell, rows in table.groupby("cell", sort=False):
        runs = rows[["target", "seed"]].drop_duplicates().values.tolist()
        by_seed = rows.groupby("seed").base_acc.first()
        bases = ", ".join(f"seed {seed} {acc:.4f}" for seed, acc in by_seed.items())
        header = " | ".join(f"{t} s{s}" for t, s in runs)
        lines = [f"**{cell}** (base accuracy: {bases})", "", f"| % | {header} |"]
        lines.append("|---" * (len(runs) + 1) + "|")
        for percent, at in rows.groupby("percent"):
            cells = []
            for target, seed in runs:
                row = at[(at.target == target) & (at.seed == seed)]
                if row.empty:
                    cells.append("")
                    continue
                r = row.iloc[0]
                cells.append(f"{r.acc_pruned:.3f} / {r.acc_epoch_1:.3f} / {r.epochs_to_regain}")
            lines.append(f"| {percent:g} | " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--units", default=DEFAULT_UNITS, help="cell:seed:targets words")
    parser.add_argument("--task", default="reber-thesis")
    parser.add_argument("--embedding-dim", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=5, help="base epochs")
    parser.add_argument("--retrain-epochs", type=int, default=5, help="at most")
    parser.add_argument("--percents", default=",".join(f"{p:g}" for p in DEFAULT_PERCENTS))
    parser.add_argument("--n-strings", type=int, default=None, help="task size (smoke tests)")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()

    task = None
    started = time.perf_counter()
    units = parse_units(args.units)
    for number, (cell, seed, targets) in enumerate(units, start=1):
        folder = args.out / f"{cell}_seed{seed}"
        if args.summary_only or (folder / "prune_results.csv").exists():
            continue
        task = task or load_task(args.task, n_strings=args.n_strings)
        spec = PruneSpec(
            cell=cell,
            targets=targets,
            percents=tuple(float(p) for p in args.percents.split(",")),
            epochs=args.epochs,
            retrain_epochs=args.retrain_epochs,
            embedding_dim=args.embedding_dim,
            seed=seed,
            device="cpu",
        )

        label = f"[{number}/{len(units)}] {cell} seed {seed}"

        def report(stage: str, metrics: EpochMetrics, label: str = label) -> None:
            print(
                f"{label} {stage} epoch {metrics.epoch}: test acc {metrics.test_acc:.4f} "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )

        outcome = run_prune(spec, task, on_epoch=stop_when_regained(spec.tolerance, report))
        outcome.table.insert(1, "seed", seed)
        # write into a scratch folder first, so a killed unit never looks finished
        scratch = args.out / f".{folder.name}.partial"
        outcome.write(scratch)
        record = {key: outcome.to_dict()[key] for key in ("spec", "base")}
        (scratch / "prune.json").write_text(json.dumps({"task": args.task, **record}, indent=1))
        scratch.rename(folder)
        print(f"wrote {folder}", flush=True)
    table = summary(args.out)
    if len(table):
        table.to_csv(args.out / "summary.csv", index=False)
        (args.out / "summary.md").write_text(markdown(table))
        print(f"{len(table)} rows in {args.out / 'summary.csv'} and summary.md")


if __name__ == "__main__":
    main()
