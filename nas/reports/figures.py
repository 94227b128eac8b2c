"""The report's interactive figures (plotly), one function per figure, each returning a
``go.Figure`` and writing nothing: ``nas.reports.build`` places them into report.html.

Hovering a point shows its trial, family, nodes and accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nas.reports.analysis import PredictorCheck
from nas.reports.data import RunData
from nas.search.records import TrialStatus

STATUS_COLOURS = {
    TrialStatus.OK: "#2b8a3e",
    TrialStatus.STOPPED: "#f08c00",
    TrialStatus.DIVERGED: "#c92a2a",
    TrialStatus.CRASHED: "#862e9c",
}
PALETTE = ("#1c7ed6", "#e8590c", "#2f9e44", "#9c36b5", "#f59f00", "#0c8599")
HOVER = "trial %{customdata[0]}<br>family %{customdata[1]}<br>nodes %{customdata[2]}<br>"


def _hover_data(frame: pd.DataFrame) -> list[list[object]]:
    family = frame["family"] if "family" in frame else pd.Series("?", index=frame.index)
    nodes = frame["nodes"] if "nodes" in frame else pd.Series(float("nan"), index=frame.index)
    return [
        [int(t), str(f), "?" if pd.isna(n) else int(n)]
        for t, f, n in zip(frame["trial"], family, nodes, strict=True)
    ]


def _layout(figure: go.Figure, title: str, x: str, y: str, height: int = 420) -> go.Figure:
    figure.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        height=height,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def progress_figure(runs: Sequence[RunData], series: Sequence[pd.DataFrame]) -> go.Figure:
    """Best accuracy so far against networks trained, one line per run, and each network's
    own accuracy as a point."""
    figure = go.Figure()
    for index, (run, data) in enumerate(zip(runs, series, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        figure.add_trace(
            go.Scatter(
                x=data["trained"], y=data["best"], mode="lines", name=f"{run.label}: best so far",
                line={"color": colour, "shape": "hv", "width": 2},
                hovertemplate="%{x} networks trained<br>best %{y:.4f}<extra></extra>",
            )
        )  # fmt: skip
        done = data[data["status"].eq(TrialStatus.OK)]
        frame = run.frame.set_index("trial").loc[done["trial"]].reset_index()
        figure.add_trace(
            go.Scatter(
                x=done["trained"], y=done["selection_acc"], mode="markers",
                name=f"{run.label}: network",
                marker={"color": colour, "size": 5, "opacity": 0.45},
                customdata=_hover_data(frame),
                hovertemplate=HOVER + "accuracy %{y:.4f}<extra></extra>",
            )
        )  # fmt: skip
    return _layout(figure, "Search progress", "networks trained", "validation accuracy")


def timeline_figure(run: RunData, timeline: pd.DataFrame) -> go.Figure:
    """Each trained network as a bar from its start to its end, coloured by status."""
    figure = go.Figure()
    for status, part in timeline.groupby("status", sort=True):
        figure.add_trace(
            go.Bar(
                y=part["trial"], x=part["end"] - part["start"], base=part["start"],
                orientation="h", name=str(status),
                marker={"color": STATUS_COLOURS.get(str(status), "#868e96")},
                customdata=part[["trial", "start", "end"]].to_numpy(),
                hovertemplate="trial %{customdata[0]}: %{customdata[1]:.1f} s to "
                "%{customdata[2]:.1f} s<extra>" + str(status) + "</extra>",
            )
        )  # fmt: skip
    figure.update_layout(barmode="overlay", bargap=0.1)
    return _layout(figure, f"Timeline of {run.label}", "seconds since the first start", "trial")


def family_figure(run: RunData) -> go.Figure:
    """Accuracy of the finished networks by graph family (box and every network)."""
    done = run.finished
    figure = go.Figure()
    for index, (family, part) in enumerate(done.groupby(done["family"].fillna("?"))):
        figure.add_trace(
            go.Box(
                y=part["test_acc"], name=str(family), boxpoints="all", jitter=0.4, pointpos=0,
                marker={"color": PALETTE[index % len(PALETTE)], "size": 5},
                customdata=_hover_data(part),
                hovertemplate=HOVER + "accuracy %{y:.4f}<extra></extra>",
            )
        )  # fmt: skip
    return _layout(figure, f"Accuracy by family ({run.label})", "family", "test accuracy")


def properties_figure(run: RunData, names: Sequence[str]) -> go.Figure:
    """Accuracy against each of the properties most correlated with it."""
    done = run.finished
    figure = make_subplots(rows=1, cols=max(1, len(names)), shared_yaxes=True)
    for col, name in enumerate(names, start=1):
        figure.add_trace(
            go.Scatter(
                x=done[name], y=done["test_acc"], mode="markers", showlegend=False,
                marker={"color": PALETTE[0], "size": 6, "opacity": 0.6},
                customdata=_hover_data(done),
                hovertemplate=HOVER + f"{name} %{{x:.4g}}<br>accuracy %{{y:.4f}}<extra></extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
        figure.update_xaxes(title_text=name, row=1, col=col)
    figure.update_yaxes(title_text="test accuracy", row=1, col=1)
    figure.update_layout(
        title=f"Accuracy against the most correlated properties ({run.label})",
        height=380, template="plotly_white", margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )  # fmt: skip
    return figure


def predictor_figure(run: RunData, check: PredictorCheck) -> go.Figure:
    """Cross-validated predictions and the search's own predictions against the measured
    accuracy, with the diagonal."""
    figure = go.Figure()
    done = run.finished.set_index("trial")
    if check.cv is not None:
        frame = done.loc[check.trials].reset_index()
        figure.add_trace(
            go.Scatter(
                x=check.predicted, y=check.measured, mode="markers",
                name="cross-validated (out of fold)", marker={"color": PALETTE[0], "size": 6},
                customdata=_hover_data(frame),
                hovertemplate=HOVER + "predicted %{x:.4f}<br>measured %{y:.4f}<extra></extra>",
            )
        )  # fmt: skip
    rows = check.candidate_rows
    if len(rows):
        frame = done.loc[rows["trial"]].reset_index()
        figure.add_trace(
            go.Scatter(
                x=rows["predicted_acc"], y=rows["selection_acc"], mode="markers",
                name="the search's prediction when it chose the candidate",
                marker={"color": PALETTE[1], "size": 7, "symbol": "diamond"},
                error_x={"type": "data", "array": rows["predicted_std"].fillna(0), "width": 0,
                         "color": "rgba(232,89,12,0.35)"},
                customdata=_hover_data(frame),
                hovertemplate=HOVER + "predicted %{x:.4f}<br>measured %{y:.4f}<extra></extra>",
            )
        )  # fmt: skip
    values = pd.concat([done["test_acc"], rows["predicted_acc"] if len(rows) else done["test_acc"]])
    low, high = float(values.min()), float(values.max())
    figure.add_trace(
        go.Scatter(
            x=[low, high], y=[low, high], mode="lines", name="predicted = measured",
            line={"color": "#868e96", "dash": "dash"}, hoverinfo="skip",
        )
    )  # fmt: skip
    return _layout(figure, f"Predictor ({run.label})", "predicted accuracy", "measured accuracy")


def pareto_figure(
    runs: Sequence[RunData],
    fronts: Sequence[pd.DataFrame],
    matches: Sequence[pd.DataFrame | None],
) -> go.Figure:
    """Accuracy against nonzero parameters: every finished network, the Pareto front, and
    where known the dense model pruned to the same sparsity."""
    figure = go.Figure()
    for index, (run, front, match) in enumerate(zip(runs, fronts, matches, strict=True)):
        colour = PALETTE[index % len(PALETTE)]
        done = run.finished
        figure.add_trace(
            go.Scatter(
                x=done["params_nonzero"], y=done["selection_acc"], mode="markers",
                name=f"{run.label}: networks", marker={"color": colour, "size": 5, "opacity": 0.35},
                customdata=_hover_data(done),
                hovertemplate=HOVER + "nonzero %{x}<br>accuracy %{y:.4f}<extra></extra>",
            )
        )  # fmt: skip
        figure.add_trace(
            go.Scatter(
                x=front["params_nonzero"], y=front["selection_acc"], mode="lines+markers",
                name=f"{run.label}: Pareto front", line={"color": colour, "shape": "hv"},
                marker={"size": 8}, customdata=_hover_data(front),
                hovertemplate=HOVER + "nonzero %{x}<br>accuracy %{y:.4f}<extra></extra>",
            )
        )  # fmt: skip
        if match is not None:
            figure.add_trace(
                go.Scatter(
                    x=match["params_nonzero"], y=match["dense_retrained_acc"], mode="markers",
                    name=f"{run.label}: dense model pruned to equal sparsity (test)",
                    marker={"color": "#c92a2a", "size": 11, "symbol": "x"},
                    customdata=match[["trial", "sparsity"]].to_numpy(),
                    hovertemplate="dense pruned to trial %{customdata[0]}'s recurrent weights"
                    "<br>sparsity %{customdata[1]:.3f}<br>accuracy %{y:.4f}<extra></extra>",
                )
            )  # fmt: skip
    return _layout(figure, "Pareto front", "nonzero parameters", "test accuracy")
