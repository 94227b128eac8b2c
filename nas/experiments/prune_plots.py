"""The pruning experiment's plots: test accuracy and epochs to regain the base accuracy vs
the percent pruned, one line per target. Each returns the path it wrote."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import pandas as pd

from models.pruning import TARGETS


def _color(target: object) -> str:
    """One color per target, the same in every plot."""
    return f"C{TARGETS.index(str(target))}" if target in TARGETS else "C4"


def _figure():
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    figure = Figure(figsize=(6.4, 4.4))
    return figure, figure.add_subplot()


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def plot_accuracy(table: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Test accuracy vs percent pruned, per target: right after pruning (dashed) and after
    retraining (solid), with the base accuracy as a dotted line."""
    figure, ax = _figure()
    for target, rows in table.groupby("target", sort=False):
        rows = rows.sort_values("percent")
        color = _color(target)
        if rows["acc_pruned"].notna().any():
            ax.plot(
                rows["percent"],
                rows["acc_pruned"],
                "o--",
                color=color,
                alpha=0.7,
                label=f"{target}: after pruning",
            )
        ax.plot(
            rows["percent"],
            rows["acc_retrained"],
            "s-",
            color=color,
            label=f"{target}: after retraining",
        )
    ax.axhline(float(table["base_acc"].iloc[0]), color="grey", linestyle=":", label="dense base")
    epochs = sum(c.startswith("acc_epoch_") for c in table.columns)
    first = table.iloc[0]
    ax.set_title(
        f"{first['cell']} on {first['task']}: {first['method']} pruning, {epochs} retraining epochs"
    )
    ax.set_xlabel("weights pruned (%)")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)
    return _save(figure, Path(path))


def plot_regain(table: pd.DataFrame, path: str | PathLike[str]) -> Path:
    """Epochs of retraining needed to regain the base accuracy vs percent pruned, per
    target; "never" is drawn as crosses above the last epoch."""
    figure, ax = _figure()
    epochs = sum(c.startswith("acc_epoch_") for c in table.columns)
    never = epochs + 1
    for target, rows in table.groupby("target", sort=False):
        rows = rows.sort_values("percent")
        values = [never if v == "never" else int(v) for v in rows["epochs_to_regain"]]
        ax.plot(rows["percent"], values, "o-", color=_color(target), label=str(target))
        missed = [p for p, v in zip(rows["percent"], values, strict=True) if v == never]
        ax.plot(missed, [never] * len(missed), "x", color=_color(target), markersize=10)
    ax.set_yticks(list(range(0, never + 1)))
    ax.set_yticklabels([str(e) for e in range(0, never)] + ["never"])
    first = table.iloc[0]
    ax.set_title(f"{first['cell']} on {first['task']}: epochs to regain the base accuracy")
    ax.set_xlabel("weights pruned (%)")
    ax.set_ylabel("retraining epochs")
    ax.legend(fontsize=8)
    return _save(figure, Path(path))
