"""The report's still figures (matplotlib), for report.md: the same data as
``nas.reports.figures``, one function per figure, each returning a ``Figure`` (written by
``save_png``: tight bounding box, so nothing is clipped)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nas.reports.analysis import PredictorCheck  # noqa: E402
from nas.reports.data import RunData  # noqa: E402
from nas.reports.figures import PALETTE, STATUS_COLOURS  # noqa: E402
from nas.search.records import TrialStatus  # noqa: E402

STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9}


def save_png(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as PNG and close it."""
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def _axes(width: float = 7.0, height: float = 4.2, cols: int = 1):
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(
            1, cols, figsize=(width, height), squeeze=False, sharey=True, layout="constrained"
        )
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    return figure, axes[0]


def progress_png(runs: Sequence[RunData], series: Sequence[pd.DataFrame]) -> Figure:
    figure, (ax,) = _axes()
    for index, (run, data) in enumerate(zip(runs, series, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        done = data[data["status"].eq(TrialStatus.OK)]
        ax.scatter(done["trained"], done["selection_acc"], s=8, alpha=0.4, color=colour)
        ax.step(data["trained"], data["best"], where="post", color=colour, label=run.label)
    ax.set(xlabel="networks trained", ylabel="validation accuracy", title="Best accuracy so far")
    ax.legend(loc="lower right")
    return figure


def timeline_png(run: RunData, timeline: pd.DataFrame) -> Figure:
    figure, (ax,) = _axes(height=max(3.0, min(8.0, 0.03 * len(timeline) + 2)))
    for status, part in timeline.groupby("status", sort=True):
        ax.barh(
            part["trial"], part["end"] - part["start"], left=part["start"], height=0.8,
            color=STATUS_COLOURS.get(str(status), "#868e96"), label=str(status),
        )  # fmt: skip
    ax.set(xlabel="seconds since the first start", ylabel="trial", title=f"Timeline ({run.label})")
    ax.legend(loc="upper left")
    return figure


def family_png(run: RunData) -> Figure:
    figure, (ax,) = _axes(width=5.5)
    done = run.finished
    groups = list(done.groupby(done["family"].fillna("?")))
    ax.boxplot([part["test_acc"] for _, part in groups], showfliers=False)
    ax.set_xticks(range(1, len(groups) + 1), [str(name) for name, _ in groups])
    for index, (_, part) in enumerate(groups, start=1):
        ax.scatter([index] * len(part), part["test_acc"], s=8, alpha=0.5, color=PALETTE[0])
    ax.set(xlabel="family", ylabel="test accuracy", title=f"Accuracy by family ({run.label})")
    return figure


def properties_png(run: RunData, names: Sequence[str]) -> Figure:
    figure, axes = _axes(width=3.6 * max(1, len(names)), height=3.6, cols=max(1, len(names)))
    done = run.finished
    for ax, name in zip(axes, names, strict=False):
        ax.scatter(done[name], done["test_acc"], s=10, alpha=0.6, color=PALETTE[0])
        ax.set(xlabel=name)
    axes[0].set_ylabel("test accuracy")
    figure.suptitle(f"Accuracy against the most correlated properties ({run.label})")
    return figure


def predictor_png(run: RunData, check: PredictorCheck) -> Figure:
    figure, (ax,) = _axes(width=5.5, height=5.0)
    values = [run.finished["test_acc"]]
    if check.cv is not None:
        ax.scatter(check.predicted, check.measured, s=10, color=PALETTE[0], label="cross-validated")
        values.append(pd.Series(check.predicted))
    rows = check.candidate_rows
    if len(rows):
        ax.scatter(
            rows["predicted_acc"], rows["selection_acc"], s=16, marker="D", color=PALETTE[1],
            label="search's prediction",
        )  # fmt: skip
        values.append(rows["predicted_acc"])
    merged = pd.concat(values)
    low, high = float(merged.min()), float(merged.max())
    ax.plot([low, high], [low, high], "--", color="#868e96", label="predicted = measured")
    ax.set(
        xlabel="predicted accuracy", ylabel="measured accuracy", title=f"Predictor ({run.label})"
    )
    ax.legend(loc="upper left")
    return figure


def pareto_png(
    runs: Sequence[RunData],
    fronts: Sequence[pd.DataFrame],
    matches: Sequence[pd.DataFrame | None],
) -> Figure:
    figure, (ax,) = _axes()
    for index, (run, front, match) in enumerate(zip(runs, fronts, matches, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        done = run.finished
        ax.scatter(done["params_nonzero"], done["selection_acc"], s=8, alpha=0.3, color=colour)
        ax.step(
            front["params_nonzero"], front["selection_acc"], where="post", marker="o", color=colour,
            label=f"{run.label}: Pareto front",
        )  # fmt: skip
        if match is not None:
            ax.scatter(
                match["params_nonzero"], match["dense_retrained_acc"], marker="x", s=60,
                color="#c92a2a", label="dense pruned to equal sparsity (test)",
            )  # fmt: skip
    ax.set(xlabel="nonzero parameters", ylabel="validation accuracy", title="Pareto front")
    ax.legend(loc="lower right")
    return figure
