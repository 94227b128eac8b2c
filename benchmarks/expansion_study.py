"""Does expansion preserve accuracy in Kalra et al.'s setting? The controlled study (issue 30).

One run = task x cell x setting x method x sparsity x seed:

* ``init``: the method's mask is placed on the untrained network (magnitude and ramanujan read
  the initial weights; ramanujan takes its steps without retraining, there being nothing
  trained), then the network is trained from scratch with the mask fixed;
* ``trained``: a dense network is trained to plateau first (once per task, cell and seed,
  shared by all methods and sparsities), then pruned (ramanujan in its 10 % steps with one
  retraining epoch between them, ``nas prune``'s procedure) and retrained.

Every training runs to plateau: early stopping on the validation accuracy (``--patience``
epochs without a new best, at most ``--max-epochs``), and the best epoch's weights are the
ones measured. Each run is tested clean and with noise on its test inputs: for real-valued
tasks (digits, mnist1d, the image and speech folders) Gaussian noise of standard deviation
``level`` x the training inputs' per-feature standard deviation, added at every real step;
for token tasks (the Reber grammars) each token is replaced by a uniformly random one with
probability ``level`` (Gaussian noise has no meaning on token ids). The noise is seeded.

The project's own code does the work: ``nas.experiments.prune`` builds and trains the dense
model (``build_dense``, ``PruneSpec``), ``models.pruning`` places the masks (every method of
``MASK_METHODS``), ``models.training.train_model`` trains (with a per-epoch hook for the early
stopping) and ``models.expansion`` measures the pruned matrices and the time-unfolded layers.

Resumable: one row per run is appended to ``<out>/expansion_study.csv`` as it finishes; a
rerun skips the runs already there (training is deterministic on one CPU thread, so a
retrained base is the same). ``--summary`` prints, from that CSV, the mean and the 95 %
t-interval over seeds of every table cell (task x cell x setting x sparsity x method, clean
and noisy), paired differences between methods, and the rank correlation of accuracy with
the mean Ramanujan gap at fixed sparsity, computed per seed and then over seeds, separately
over the weight-agnostic methods and over all methods.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/expansion_study.py \\
        --out benchmarks/data/expansion_study
    python benchmarks/expansion_study.py --out benchmarks/data/expansion_study --summary --plot

``--plot`` also draws ``<out>/expansion_study.png``: each cell's accuracy against the share of
weights kept, per method, with its interval and the dense base.
"""

from __future__ import annotations

import argparse
import copy
import csv
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from core.intervals import t_interval
from core.seeds import derive_seed
from models.data import SequenceSet, Task
from models.expansion import expansion_summary, layer_expansion, unfolded_expansion
from models.pruning import (
    count_pruned,
    mask_method,
    prune_method,
    prune_ramanujan,
    recurrent_nonzero,
)
from models.training import EpochMetrics, TrainSpec, evaluate, train_model
from nas.experiments.prune import PruneSpec, build_dense
from nas.experiments.prune_retrain import ramanujan_retrainer
from nas.tasks import load_task

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RESULTS = "expansion_study.csv"
FIGURE = "expansion_study.png"
KEY = ("task", "cell", "setting", "method", "percent", "seed")
SETTINGS = ("init", "trained")
DEFAULT_METHODS = ("expander", "random", "magnitude", "ramanujan", "degree-blocks", "anti-expander")
CONTRASTS = (("expander", "random"), ("degree-blocks", "expander"), ("ramanujan", "magnitude"))
"""Paired differences the summary reports (same task, cell, setting, sparsity and seed)."""
ISOLATING = "anti-expander"
"""The control that cuts neurons off; the summary also correlates without it."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tasks", default="mnist1d,digits")
    parser.add_argument("--cells", default="rnn_tanh,lstm")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--percents", default="90,95,98")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--lr", type=float, default=PruneSpec.lr, help="Adam's rate")
    parser.add_argument("--batch-size", type=int, default=PruneSpec.batch_size)
    parser.add_argument("--max-epochs", type=int, default=50)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--min-epochs", type=int, default=0, help="no early stop before this epoch")
    parser.add_argument("--noise", default="0.25,0.5,1.0", help="noise levels (see the doc)")
    parser.add_argument("--summary", action="store_true", help="only summarise the CSV")
    parser.add_argument(
        "--plot", action="store_true", help=f"also draw the accuracy figure, <out>/{FIGURE}"
    )
    return parser.parse_args(argv)


def items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# -- training to plateau and noisy testing -----------------------------------------------------


class Plateau:
    """A ``train_model`` epoch hook: remember the best validation epoch's weights, stop after
    ``patience`` epochs without a better one, never before ``min_epochs`` (a sparse LSTM on
    mnist1d can sit at chance for 10-20 epochs before it learns)."""

    def __init__(self, model: torch.nn.Module, patience: int, min_epochs: int = 0) -> None:
        self.model, self.patience, self.min_epochs = model, patience, min_epochs
        self.best_acc, self.best_epoch, self.best_state = -1.0, 0, None

    def __call__(self, metrics: EpochMetrics) -> bool:
        if metrics.valid_acc > self.best_acc:
            self.best_acc, self.best_epoch = metrics.valid_acc, metrics.epoch
            self.best_state = copy.deepcopy(self.model.state_dict())
        patient = metrics.epoch - self.best_epoch >= self.patience
        return patient and metrics.epoch >= self.min_epochs


def train_to_plateau(
    model: torch.nn.Module,
    task: Task,
    spec: PruneSpec,
    args: argparse.Namespace,
    seed: int,
) -> dict[str, object]:
    """Train with early stopping and load the best validation epoch's weights back."""
    plateau = Plateau(model, args.patience, args.min_epochs)
    train = TrainSpec(args.max_epochs, spec.batch_size, spec.lr, device=spec.device)
    result = train_model(model, task, train, seed=seed, on_epoch=plateau)
    if plateau.best_state is not None:
        model.load_state_dict(plateau.best_state)
    return {
        "status": str(result.status),
        "epochs": len(result.history),
        "best_epoch": plateau.best_epoch,
        "valid_acc": plateau.best_acc if plateau.best_state is not None else float("nan"),
    }


def noisy(
    data: SequenceSet, task: Task, level: float, scale: torch.Tensor | None, seed: int
) -> SequenceSet:
    """``data`` with test-time noise of ``level`` (module doc); ``scale``: the per-feature
    standard deviation of real inputs (None for token tasks)."""
    generator = torch.Generator().manual_seed(seed)
    steps = torch.arange(data.inputs.shape[1])[None, :] < data.lengths[:, None]
    if task.n_features is not None:
        noise = torch.randn(data.inputs.shape, generator=generator) * level * scale
        inputs = data.inputs + noise * steps[..., None]
    else:
        replace = (torch.rand(data.inputs.shape, generator=generator) < level) & steps
        random = torch.randint(1, int(task.vocab_size), data.inputs.shape, generator=generator)
        inputs = torch.where(replace, random, data.inputs)
    return SequenceSet(inputs, data.lengths, data.labels)


def feature_scale(task: Task) -> torch.Tensor | None:
    """The training inputs' per-feature standard deviation over real steps (None: tokens)."""
    if task.n_features is None:
        return None
    data = task.train
    steps = torch.arange(data.inputs.shape[1])[None, :] < data.lengths[:, None]
    return data.inputs[steps].std(dim=0)


def measure_accuracies(
    model: torch.nn.Module, task: Task, levels: Sequence[float], seed: int
) -> dict[str, float]:
    device = torch.device("cpu")
    row = {"test_acc": evaluate(model, task.test, device)[1]}
    scale = feature_scale(task)
    for index, level in enumerate(levels):
        data = noisy(task.test, task, level, scale, derive_seed(seed, index))
        row[f"test_acc_noise_{level:g}"] = evaluate(model, data, device)[1]
    return row


# -- one run -----------------------------------------------------------------------------------


def prune_for(
    model: torch.nn.Module, setting: str, method: str, percent: float, spec: PruneSpec, task: Task
) -> int:
    """Place ``method``'s mask at ``percent`` (Kalra's steps retrain between them only in the
    trained setting). Returns the pruning steps taken (0 for the one-shot methods); the
    sparsity reached is in the row (ramanujan may stop short of ``percent``)."""
    if method == "ramanujan":  # the same masks as prune_method's, with the steps counted
        retrain = ramanujan_retrainer(model, spec, task) if setting == "trained" else None
        return len(prune_ramanujan(model, "both", percent / 100, retrain=retrain)) - 1
    seed = replace(spec, method=method).mask_seed("both", percent)
    prune_method(model, "both", percent / 100, method, seed=seed)
    return 0


def describe(model: torch.nn.Module) -> dict[str, float]:
    """The expansion figures of a pruned model: per matrix (summary) and unfolded step layer."""
    summary = expansion_summary(layer_expansion(model, "both"))
    steps = [r for r in unfolded_expansion(model) if r["kind"] == "step"]
    pruned, total = count_pruned(model, "both")
    return {
        "sparsity": pruned / total,
        "recurrent_nonzero": recurrent_nonzero(model),
        **{k: summary[k] for k in ("ramanujan_gap_mean", "ramanujan_gap_min", "spectral_gap_mean")},
        "isolated": summary["isolated_inputs"] + summary["isolated_outputs"],
        "unfolded_ramanujan_gap_mean": float(np.mean([r["ramanujan_gap"] for r in steps])),
    }


def run_group(
    args: argparse.Namespace,
    task: Task,
    cell: str,
    seed: int,
    todo: list[tuple[str, str, float]],
    write: Callable[[dict[str, object]], None],
) -> None:
    """Every pending (setting, method, percent) of one task, cell and seed."""
    levels = [float(x) for x in items(args.noise)]
    spec = PruneSpec(
        cell=cell, hidden_size=args.hidden_size, num_layers=args.layers, seed=seed, device="cpu",
        lr=args.lr, batch_size=args.batch_size,
    )  # fmt: skip
    base = None
    none = {"dense_valid_acc": float("nan"), "dense_test_acc": float("nan"), "dense_epochs": 0}
    dense = dict(none)
    for setting, method, percent in todo:
        clock = time.perf_counter()
        if setting == "trained" and base is None:
            base = build_dense(spec, task)
            fit = train_to_plateau(base, task, spec, args, spec.seeds[1])
            dense = {"dense_valid_acc": fit["valid_acc"], "dense_epochs": fit["epochs"]}
            dense["dense_test_acc"] = evaluate(base, task.test, torch.device("cpu"))[1]
        model = build_dense(spec, task) if setting == "init" else copy.deepcopy(base)
        steps = prune_for(model, setting, method, percent, spec, task)
        seeds = spec.seeds[2] if setting == "trained" else spec.seeds[1]
        fit = train_to_plateau(model, task, spec, args, seeds)
        row = {
            "task": task.name, "cell": cell, "setting": setting, "method": method,
            "percent": float(percent), "seed": seed, "hidden_size": args.hidden_size,
            "layers": args.layers, "lr": spec.lr, "batch_size": spec.batch_size,
            "weight_agnostic": not mask_method(method).reads_weights,
            "pruning_steps": steps, **fit, **measure_accuracies(model, task, levels, seed),
            **describe(model), **(dense if setting == "trained" else none),
            "seconds": round(time.perf_counter() - clock, 2),
        }  # fmt: skip
        write(row)


def run(
    args: argparse.Namespace, loader: Callable[[str], Task] = lambda n: load_task(n, seed=0)
) -> None:
    torch.set_num_threads(1)
    methods = items(args.methods)
    for method in methods:
        mask_method(method)  # an unknown name fails before anything trains
    path = args.out / RESULTS
    args.out.mkdir(parents=True, exist_ok=True)
    done = set()
    if path.exists():
        frame = pd.read_csv(path)
        done = {key_of(*row) for row in frame[list(KEY)].itertuples(index=False)}
    percents = [float(p) for p in items(args.percents)]
    plan = [(s, m, p) for s in items(args.settings) for m in methods for p in percents]
    for task_name in items(args.tasks):
        task = loader(task_name)
        for cell in items(args.cells):
            for seed in (int(s) for s in items(args.seeds)):
                todo = [u for u in plan if key_of(task.name, cell, *u, seed) not in done]
                if todo:
                    run_group(args, task, cell, seed, todo, lambda row: append(path, row))


def key_of(task: str, cell: str, setting: str, method: str, percent: float, seed: int) -> tuple:
    return (str(task), str(cell), str(setting), str(method), float(percent), int(seed))


def append(path: Path, row: dict[str, object]) -> None:
    """Append one row under the file's header (written from the first row)."""
    new = not path.exists()
    fields = list(row) if new else next(csv.reader(path.open()))
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="", extrasaction="raise")
        if new:
            writer.writeheader()
        writer.writerow(row)
    print(
        f"{row['task']} {row['cell']} {row['setting']} {row['method']} {row['percent']:g}% "
        f"seed {row['seed']}: test {row['test_acc']:.3f} (valid {row['valid_acc']:.3f}, "
        f"{row['epochs']} epochs, {row['seconds']} s)",
        file=sys.stderr,
        flush=True,
    )


# -- the summary -------------------------------------------------------------------------------


def accuracy_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c == "test_acc" or c.startswith("test_acc_noise_")]


CELL = ["task", "cell", "setting", "percent"]


def cell_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per table cell (task, cell, setting, sparsity, method): mean and t half-width over
    seeds of every accuracy column, and the seeds counted."""
    rows = []
    for key, group in frame.groupby([*CELL, "method"], sort=True):
        row = dict(zip([*CELL, "method"], key, strict=True))
        for column in accuracy_columns(frame):
            mean, half, n = t_interval(group[column].tolist())
            row.update({f"{column}_mean": mean, f"{column}_half": half, "seeds": n})
        row["sparsity"] = float(group["sparsity"].mean())
        row["ramanujan_gap_mean"] = float(group["ramanujan_gap_mean"].mean())
        row["isolated"] = float(group["isolated"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def paired(frame: pd.DataFrame, contrasts: Sequence[tuple[str, str]] = CONTRASTS) -> pd.DataFrame:
    """``first - second`` test accuracy per seed, then its t-interval, per cell."""
    rows = []
    wide = frame.pivot_table(index=[*CELL, "seed"], columns="method", values="test_acc")
    for first, second in contrasts:
        if first not in wide or second not in wide:
            continue
        diff = (wide[first] - wide[second]).dropna()
        for key, group in diff.groupby(level=CELL):
            mean, half, n = t_interval(group.tolist())
            rows.append({**dict(zip(CELL, key, strict=True)), "contrast": f"{first} - {second}",
                         "mean": mean, "half": half, "seeds": n})  # fmt: skip
    return pd.DataFrame(rows)


def dense_of(frame: pd.DataFrame) -> pd.Series:
    """The dense base's test accuracy per (task, cell, seed), read from the ``trained`` rows
    (one base per task, cell and seed, shared by every method and sparsity)."""
    trained = frame[frame["setting"] == "trained"].drop_duplicates(["task", "cell", "seed"])
    return trained.set_index(["task", "cell", "seed"])["dense_test_acc"].dropna()


def dense_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per task and cell: the dense base's test accuracy, mean and t half-width over seeds."""
    rows = []
    for (task, cell), group in dense_of(frame).groupby(level=["task", "cell"]):
        mean, half, n = t_interval(group.tolist())
        rows.append({"task": task, "cell": cell, "seeds": n, "mean": mean, "half": half})
    return pd.DataFrame(rows)


def against_dense(frame: pd.DataFrame) -> pd.DataFrame:
    """Per table cell: test accuracy minus the same seed's dense base's, then its t-interval
    (both settings: the ``init`` network starts from the dense base's initial weights)."""
    dense = dense_of(frame)
    index = pd.MultiIndex.from_frame(frame[["task", "cell", "seed"]])
    gap = frame.assign(gap=frame["test_acc"].to_numpy() - dense.reindex(index).to_numpy())
    rows = []
    for key, group in gap.dropna(subset=["gap"]).groupby([*CELL, "method"], sort=True):
        mean, half, n = t_interval(group["gap"].tolist())
        rows.append({**dict(zip([*CELL, "method"], key, strict=True)),
                     "mean": mean, "half": half, "seeds": n})  # fmt: skip
    return pd.DataFrame(rows)


def centred_rank_correlation(
    frame: pd.DataFrame, column: str, by: str = "ramanujan_gap_mean"
) -> float:
    """Pearson's r of ranks centred within each (task, cell, setting, sparsity) group: the
    rank correlation of ``column`` with ``by`` given the sparsity (Spearman's rho for one
    group); NaN when either has no spread (one row's spread is NaN)."""
    ranks = frame.groupby(CELL)[[column, by]].rank()
    centred = ranks - ranks.groupby([frame[c] for c in CELL]).transform("mean")
    if not (centred[column].std() > 0 and centred[by].std() > 0):
        return float("nan")
    return float(np.corrcoef(centred[column], centred[by])[0, 1])


def correlations(frame: pd.DataFrame) -> pd.DataFrame:
    """Per setting and accuracy column: the centred rank correlation with the mean Ramanujan
    gap computed per seed, then over seeds, over weight-agnostic methods, over those without
    the anti-expander (whose isolated neurons may carry the correlation alone), and over
    all; none where no seed has two methods to rank."""
    rows = []
    agnostic = frame["weight_agnostic"].astype(str).str.lower() == "true"
    connected = agnostic & (frame["method"] != ISOLATING)
    subsets = (("weight-agnostic", agnostic), (f"weight-agnostic, no {ISOLATING}", connected))
    for setting in sorted(frame["setting"].unique()):
        everything = pd.Series(True, index=frame.index)
        for methods, subset in (*subsets, ("all", everything)):
            part = frame[(frame["setting"] == setting) & subset]
            for column in accuracy_columns(frame):
                per_seed = [centred_rank_correlation(g, column) for _, g in part.groupby("seed")]
                mean, half, n = t_interval(per_seed)
                if n == 0:  # one method in the part: no ranking at fixed sparsity
                    continue
                rows.append({"setting": setting, "methods": methods, "accuracy": column,
                             "mean": mean, "half": half, "seeds": n,
                             "per_seed": " ".join(f"{v:+.3f}" for v in per_seed)})  # fmt: skip
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    """A pipe table: sparsities as given, other numbers with three decimals, text as is."""

    def shown(column: str, value: object) -> str:
        if isinstance(value, float | np.floating):
            if np.isnan(value):
                return ""
            return f"{value:g}" if column == "percent" else f"{value:.3f}"
        return str(value)

    columns = list(table.columns)
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for row in table.itertuples(index=False):
        lines.append(
            "| " + " | ".join(shown(c, v) for c, v in zip(columns, row, strict=True)) + " |"
        )
    return "\n".join(lines)


def summarise(path: Path) -> str:
    """The summary of the study's CSV as Markdown tables."""
    frame = pd.read_csv(path)
    parts = ["## Accuracy per cell (mean and 95 % t half-width over seeds)", ""]
    table = cell_table(frame)
    for column in accuracy_columns(frame):
        table[column] = [
            f"{m:.3f} ± {h:.3f}"
            for m, h in zip(table[f"{column}_mean"], table[f"{column}_half"], strict=True)
        ]
    shown = table[
        [
            *CELL,
            "method",
            "seeds",
            *accuracy_columns(frame),
            "sparsity",
            "ramanujan_gap_mean",
            "isolated",
        ]
    ]
    parts += [markdown(shown), ""]
    parts += ["## Paired differences (test accuracy, same seed)", ""]
    parts += [markdown(paired(frame)), ""]
    if "dense_test_acc" in frame and frame["dense_test_acc"].notna().any():
        parts += ["## The dense base (test accuracy, mean and 95 % t half-width over seeds)", ""]
        parts += [markdown(dense_table(frame)), ""]
        parts += ["## Minus the dense base (test accuracy, same seed)", ""]
        parts += [markdown(against_dense(frame)), ""]
    parts += ["## Rank correlation with the mean Ramanujan gap at fixed sparsity", ""]
    parts += [markdown(correlations(frame)), ""]
    return "\n".join(parts)


# -- the figure --------------------------------------------------------------------------------


def kept_percent(sparsity: pd.Series) -> pd.Series:
    return 100 * (1 - sparsity)


def figure(frame: pd.DataFrame) -> Figure:
    """Test accuracy (mean and 95 % t-interval over seeds) against the share of recurrent
    weights kept, one row of panels per task and cell, one panel per setting, one line per
    method, the dense base as a line in its band. The share is on a log axis, so 10, 5 and
    2 % are evenly apart and ``ramanujan`` sits at the sparsity it stopped at."""
    from matplotlib.figure import Figure

    table = cell_table(frame)
    dense = dense_table(frame) if "dense_test_acc" in frame else pd.DataFrame()
    groups = list(table.groupby(["task", "cell"], sort=True))
    settings = [s for s in SETTINGS if s in set(table["setting"])]
    drawing = Figure(figsize=(4.6 * len(settings), 3.4 * len(groups) + 0.7))
    axes = drawing.subplots(len(groups), len(settings), squeeze=False, sharey="row")
    for row, ((task, cell), part) in zip(axes, groups, strict=True):
        base = dense[(dense["task"] == task) & (dense["cell"] == cell)] if len(dense) else dense
        for ax, setting in zip(row, settings, strict=True):
            if len(base):
                mean, half = base["mean"].item(), base["half"].item()
                ax.axhline(mean, color="k", lw=1, label="dense base")
                if np.isfinite(half):
                    ax.axhspan(mean - half, mean + half, color="k", alpha=0.08, lw=0)
            rows = part[part["setting"] == setting]
            for method in sorted(rows["method"].unique(), key=method_rank):
                group = rows[rows["method"] == method].sort_values("sparsity")
                ax.errorbar(
                    kept_percent(group["sparsity"]), group["test_acc_mean"],
                    yerr=group["test_acc_half"].fillna(0), color=method_color(method),
                    marker="o", ms=4, capsize=2, label=method,
                )  # fmt: skip
            ax.set_xscale("log")
            kept = sorted({float(f"{x:.2g}") for x in kept_percent(rows["sparsity"])})
            ax.set_xticks(kept, [f"{x:g}" for x in kept])
            ax.set_xticks([], minor=True)
            ax.invert_xaxis()  # sparser to the right
            ax.set(title=f"{task}, {cell}, {setting}", xlabel="recurrent weights kept (%)")
        row[0].set_ylabel("test accuracy")
    legend = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    labels = sorted(legend, key=lambda label: -1 if label == "dense base" else method_rank(label))
    drawing.legend(
        [legend[k] for k in labels], labels, loc="lower center", ncol=min(len(labels), 4)
    )
    drawing.tight_layout(rect=(0, 0.7 / drawing.get_figheight(), 1, 1))
    return drawing


def method_rank(method: str) -> int:
    known = list(DEFAULT_METHODS)
    return known.index(method) if method in known else len(known)


def method_color(method: str) -> str:
    return f"C{method_rank(method) % 10}"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.summary:
        run(args)
    print(summarise(args.out / RESULTS))
    if args.plot:
        figure(pd.read_csv(args.out / RESULTS)).savefig(args.out / FIGURE, dpi=90)


if __name__ == "__main__":
    main()
