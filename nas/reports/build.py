"""``build_report``: one or more runs -> ``report.html`` (one self-contained file: plotly.js
inlined once, the network drawings as inline SVG, no network reference) and ``report.md``
with PNG figures in ``figures/`` beside it.

The sections, in order: 1 summary, 2 topology ranking, 3 search progress and timeline, 4
the thesis' analysis (accuracy by family, against the most correlated properties, Pearson
and Spearman of every property), 5 the predictor, 6 the Pareto front (with a ``nas prune
--match`` result where there is one), 7 drawings of the top networks; then every section
registered in ``nas.reports.sections``, rendered by one generic block of each template.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from core.checks import check_int
from core.errors import SparseNASError
from nas.reports import analysis, drawing, figures, pngs
from nas.reports.data import RunData
from nas.reports.markdown import markdown, markdown_code, markdown_text
from nas.reports.ranking import ranking, records
from nas.reports.sections import BUILT_IN, Table, registered

FIGURES = "figures"
DRAWN = 5
"""Top networks drawn per run (3 each when runs are compared)."""


@dataclass
class Report:
    """What ``build_report`` wrote, and how long it took."""

    html: Path
    markdown: Path
    images: list[Path] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Section:
    """One run's part of the report: its numbers, and its figures as HTML divs and PNGs."""

    run: RunData
    summary: dict[str, Any]
    ranking: list[dict[str, Any]]
    families: list[dict[str, Any]]
    correlations: list[dict[str, Any]]
    important: list[str]
    predictor: analysis.PredictorCheck
    front: Any
    match: Any
    html: dict[str, str] = field(default_factory=dict)
    png: dict[str, str] = field(default_factory=dict)
    drawings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Part:
    """One run's part of a registered section: its table and its figures (div, PNG path)."""

    label: str
    table: Table
    html: str = ""
    png: str = ""


@dataclass
class _Registered:
    """A registered section as the templates render it, numbered after the built-in ones."""

    number: int
    name: str
    title: str
    intro: str
    parts: list[_Part]


def build_report(
    runs: Sequence[RunData],
    out: str | Path,
    *,
    top: int = 20,
    prune_match: str | Path | None = None,
    seed: int = 0,
) -> Report:
    """Write the report of ``runs`` (compared side by side when several) into ``out``.

    Raises
    ------
    SparseNASError
        If no run is given, ``top`` is not a positive integer, a prune match file is
        missing, or ``out`` cannot be written.
    """
    started = time.perf_counter()
    check_int(top, "top", low=1)
    if not runs:
        raise SparseNASError("a report needs at least one run")
    sections = [_section(run, top, prune_match, seed) for run in runs]  # may refuse input
    folder = Path(out)
    images = folder / FIGURES
    try:
        images.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SparseNASError(f"cannot write into '{folder}': {exc.strerror or exc}") from None
    written: list[Path] = []
    series = [analysis.progress(run) for run in runs]
    prefix = len(runs) > 1
    for index, section in enumerate(sections):
        written += _figures(section, images, _tag(index, prefix), DRAWN if not prefix else 3)
    added = _added_sections(runs, images, prefix, written)
    shared = {
        "progress": (figures.progress_figure(runs, series), pngs.progress_png(runs, series)),
        "pareto": (
            figures.pareto_figure(runs, [s.front for s in sections], [s.match for s in sections]),
            pngs.pareto_png(runs, [s.front for s in sections], [s.match for s in sections]),
        ),
    }
    common: dict[str, str] = {}
    common_png: dict[str, str] = {}
    for name, (plot, still) in shared.items():
        common[name] = _div(plot, name)
        written.append(pngs.save_png(still, images / f"{name}.png"))
        common_png[name] = f"{FIGURES}/{name}.png"
    context = {
        "sections": sections,
        "compare": prefix,
        "plots": common,
        "pngs": common_png,
        "top": top,
        "cv_note": sections[0].predictor.note,
        "registered": added,
    }
    environment = _environment()
    html = folder / "report.html"
    markdown = folder / "report.md"
    try:
        page = environment.get_template("report.html.j2").render(
            **context, plotly_js=get_plotlyjs()
        )
        html.write_text(page, encoding="utf-8")
        text = environment.overlay(finalize=markdown_text).get_template("report.md.j2")
        markdown.write_text(text.render(**context), encoding="utf-8")
    except OSError as exc:
        raise SparseNASError(f"cannot write into '{folder}': {exc.strerror or exc}") from None
    return Report(html, markdown, written, time.perf_counter() - started)


def _section(run: RunData, top: int, prune_match, seed: int) -> _Section:
    correlations = analysis.property_correlations(run)
    return _Section(
        run=run,
        summary=analysis.summary(run),
        ranking=records(ranking(run.frame, top)),
        families=records(analysis.family_accuracy(run)),
        correlations=records(correlations),
        important=analysis.important_properties(correlations),
        predictor=analysis.predictor_check(run, seed),
        front=analysis.pareto_rows(run.frame),
        match=analysis.prune_match(run, prune_match),
    )


def _figures(section: _Section, images: Path, tag: str, drawn: int) -> list[Path]:
    """Draw one run's figures: HTML divs into ``section.html``, PNGs into ``images``."""
    run = section.run
    pairs: dict[str, tuple[go.Figure, Any]] = {}
    timeline = analysis.timeline(run)
    if timeline is not None and len(timeline):
        pairs["timeline"] = (
            figures.timeline_figure(run, timeline),
            pngs.timeline_png(run, timeline),
        )
    if len(run.finished) and "family" in run.finished:
        pairs["families"] = (figures.family_figure(run), pngs.family_png(run))
    if section.important:
        pairs["properties"] = (
            figures.properties_figure(run, section.important),
            pngs.properties_png(run, section.important),
        )
    check = section.predictor
    if check.cv is not None or len(check.candidate_rows):
        pairs["predictor"] = (
            figures.predictor_figure(run, check),
            pngs.predictor_png(run, check),
        )
    written = []
    for name, (plot, still) in pairs.items():
        section.html[name] = _div(plot, f"{tag}{name}")
        written.append(pngs.save_png(still, images / f"{tag}{name}.png"))
        section.png[name] = f"{FIGURES}/{tag}{name}.png"
    for row in section.ranking[:drawn]:
        if not row.get("edge_list"):
            continue
        title = f"rank {row['rank']}: trial {row['trial']} ({row.get('family') or '?'})"
        figure = drawing.draw_network(str(row["edge_list"]), title)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight")
        png = pngs.save_png(figure, images / f"{tag}network-rank{row['rank']}.png")
        written.append(png)
        section.drawings.append(
            {
                "title": title,
                "svg": base64.b64encode(buffer.getvalue()).decode("ascii"),
                "png": f"{FIGURES}/{png.name}",
            }
        )
    return written


def _added_sections(
    runs: Sequence[RunData], images: Path, compare: bool, written: list[Path]
) -> list[_Registered]:
    """Run every registered section on every run: its table, its HTML div and its PNG
    (appended to ``written``)."""
    out = []
    for number, (name, section) in enumerate(registered(), start=len(BUILT_IN) + 1):
        parts = []
        for index, run in enumerate(runs):
            stem = f"{_tag(index, compare)}{name}"
            table = section.compute(run)
            part = _Part(run.label, table)
            plot = section.figure(run, table)
            if plot is not None:
                part.html = _div(plot, stem)
            still = section.png(run, table)
            if still is not None:
                written.append(pngs.save_png(still, images / f"{stem}.png"))
                part.png = f"{FIGURES}/{stem}.png"
            parts.append(part)
        out.append(_Registered(number, name, section.title, section.intro, parts))
    return out


def _tag(index: int, compare: bool) -> str:
    """The prefix of a run's figure names when runs are compared (``run1-``, ...)."""
    return f"run{index + 1}-" if compare else ""


def _div(figure: go.Figure, name: str) -> str:
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"plot-{name}",
        config={"displaylogo": False, "responsive": True},
    )


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("nas.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["num"] = _num
    environment.filters["duration"] = _duration
    environment.filters["code"] = markdown_code
    environment.filters["markdown"] = markdown
    return environment


def _num(value: Any, digits: int = 4) -> str:
    """A table cell: floats with ``digits`` decimals, whole numbers as integers, missing
    values as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() and abs(value) >= 10 else f"{value:.{digits}f}"
    return str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"
