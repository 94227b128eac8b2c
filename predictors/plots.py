"""Figures of an evaluation: out-of-fold predicted versus measured accuracy, per model."""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path

import numpy as np

from core.errors import SparseNASError
from predictors.validation import CVResult, EvaluationReport


def plot_predictions(report: EvaluationReport, path: str | PathLike[str]) -> Path:
    """Write a PNG: one panel per model (and the size-only baseline), measured accuracy on x,
    the out-of-fold prediction (mean over repeats) on y, the diagonal, and R² / tau in the
    title. Uses matplotlib's Agg backend, so no display is needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results: list[CVResult] = list(report.models.values())
    if report.baseline is not None:
        results.append(report.baseline)
    columns = min(3, len(results))
    rows = math.ceil(len(results) / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 4 * rows), squeeze=False, sharex=True, sharey=True
    )
    y = report.y
    values = np.concatenate([y, *(r.prediction for r in results)])
    values = values[np.isfinite(values)]
    pad = 0.05 * max(float(np.ptp(values)), 1e-3)
    low, high = float(values.min()) - pad, float(values.max()) + pad
    for ax, result in zip(axes.flat, results, strict=False):
        summary = result.summary()
        ax.scatter(y, result.prediction, s=12, alpha=0.7)
        ax.plot([low, high], [low, high], color="grey", linewidth=1)
        r2, tau = summary["r2_mean"], summary["kendall_tau_mean"]
        ax.set_title(f"{result.name}: R² {_fmt(r2)}, τ {_fmt(tau)}", fontsize=10)
        ax.set_xlabel("measured test_acc")
        ax.set_ylabel("predicted (out of fold)")
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
    for ax in list(axes.flat)[len(results) :]:
        ax.set_visible(False)
    ceiling = "n/a" if report.noise_ceiling is None else f"{report.noise_ceiling:.3f}"
    figure.suptitle(
        f"{report.cell or 'all cells'}: {report.rows} rows, {report.cv}-fold x "
        f"{report.repeats}, noise ceiling {ceiling}"
    )
    figure.tight_layout()
    path = Path(path)
    try:
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
    except OSError as exc:
        raise SparseNASError(f"cannot write plot '{path}': {exc.strerror}") from None
    finally:
        plt.close(figure)
    return path


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
