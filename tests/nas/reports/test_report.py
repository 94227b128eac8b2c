"""`nas report` on a tiny search: sections in order, every image the HTML and Markdown
reference exists and is a valid PNG/SVG, nothing is fetched over the network, and the
ranking table is the study's."""

import base64
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import pytest

from nas.reports.analysis import (
    MIN_CV_ROWS,
    pareto_rows,
    predictor_check,
    progress,
    status_counts,
)
from nas.reports.build import build_report
from nas.reports.data import load_run, load_table_run
from nas.search.records import pareto_front, ranked_trials

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SECTIONS = [
    "1. Summary", "2. Topology ranking", "3. Search progress", "4. Analysis of the trials",
    "5. The predictor", "6. Pareto front", "7. The top networks",
]  # fmt: skip


class Page(HTMLParser):
    """Collects what an HTML page references and its ranking table's rows."""

    def __init__(self):
        super().__init__()
        self.references, self.tags, self.headings = [], [], []
        self.table, self.rows, self.cell, self.in_h2 = None, [], None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        for name in ("src", "href", "data", "action", "poster"):
            if attrs.get(name):
                self.references.append((tag, attrs[name]))
        if tag == "table":
            self.table = attrs.get("id")
        if tag == "tr" and self.table == "ranking-1":
            self.rows.append([])
        if tag == "td" and self.table == "ranking-1":
            self.cell = ""
        self.in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None
        if tag == "table":
            self.table = None
        if tag == "h2":
            self.in_h2 = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        if self.in_h2:
            self.headings.append(data.strip())


def valid_png(data: bytes, path) -> None:
    assert data.startswith(PNG_SIGNATURE), path
    image = matplotlib.image.imread(path) if not isinstance(path, bytes) else None
    assert image is None or (image.shape[0] > 50 and image.shape[1] > 50)


@pytest.fixture(scope="module")
def report(tiny_run, tmp_path_factory):
    out, study = tiny_run
    folder = tmp_path_factory.mktemp("report")
    return build_report([load_run(out)], folder, top=4), study


def test_sections_come_in_the_issues_order(report):
    built, _ = report
    markdown = built.markdown.read_text()
    places = [markdown.index(f"## {title}") for title in SECTIONS]
    assert places == sorted(places)
    page = Page()
    page.feed(built.html.read_text())
    assert page.headings == SECTIONS


def test_every_markdown_image_exists_and_is_a_valid_png(report):
    built, _ = report
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", built.markdown.read_text())
    assert len(links) >= 6  # progress, timeline, families, properties, pareto, a drawing
    assert any("network-rank1" in link for link in links)
    for link in links:
        path = built.markdown.parent / link
        assert path.is_file(), link
        valid_png(path.read_bytes(), path)
    assert {p.name for p in built.images} == {link.split("/")[-1] for link in links}


def test_the_html_is_self_contained(report):
    built, _ = report
    text = built.html.read_text()
    page = Page()
    page.feed(text)
    assert "link" not in page.tags and "iframe" not in page.tags
    images = [ref for tag, ref in page.references if tag == "img"]
    assert len(images) >= 1
    for tag, reference in page.references:
        assert reference.startswith("data:"), (tag, reference[:80])
    for reference in images:
        kind, payload = reference.split(",", 1)
        data = base64.b64decode(payload)
        if kind == "data:image/svg+xml;base64":
            root = ET.fromstring(data)
            assert root.tag.endswith("svg") and len(list(root.iter())) > 20
        else:
            assert kind == "data:image/png;base64" and data.startswith(PNG_SIGNATURE)
    assert not re.search(r"url\(\s*['\"]?https?:", text)  # no remote CSS
    assert text.count("<script") == text.count("</script>")
    plotly_bundles = re.findall(r"plotly\.js v\d+\.\d+\.\d+", text)
    assert len(plotly_bundles) == 1  # the library is inlined once for the whole page
    assert text.count("Plotly.newPlot") >= 5  # progress, timeline, families, predictor, pareto


def test_the_ranking_table_is_the_studys(report):
    built, study = report
    page = Page()
    page.feed(built.html.read_text())
    rows = [row for row in page.rows if row]
    expected = ranked_trials(study.get_trials())[:4]
    assert [int(row[1]) for row in rows] == [t.number for t in expected]
    for row, trial in zip(rows, expected, strict=True):
        assert row[2] == trial.params["family"]
        assert float(row[9]) == pytest.approx(trial.values[0], abs=5e-5)
        assert int(row[6]) == trial.user_attrs["params_nonzero"]
    markdown = built.markdown.read_text()
    for rank, trial in enumerate(expected, start=1):
        assert f"| {rank} | {trial.number} | {trial.params['family']} |" in markdown


def test_the_numbers_behind_the_sections(tiny_run):
    out, study = tiny_run
    run = load_run(out)
    counts = status_counts(run)
    states = [t.user_attrs.get("status") for t in study.trials]
    assert counts["finished"] == states.count("ok") and counts["stopped"] == states.count("stopped")
    assert counts["finished"] + counts["stopped"] + counts["failed"] == 8
    front = [t.number for t in pareto_front(study.get_trials())]
    assert pareto_rows(run.frame)["trial"].tolist() == front
    series = progress(run)
    assert series["trained"].tolist() == list(range(1, 9))
    finished = series.dropna(subset=["selection_acc"])
    assert series["best"].iloc[-1] == max(t.values[0] for t in ranked_trials(study.trials))
    assert (series["best"].dropna().diff().dropna() >= 0).all() and len(finished)
    check = predictor_check(run)  # every finished network, cross-validated
    assert check.cv["rows"] == counts["finished"] >= MIN_CV_ROWS
    few = replace(run, frame=run.frame.head(MIN_CV_ROWS - 1))
    check = predictor_check(few)
    assert check.cv is None and "too few finished networks" in check.note


def test_a_table_report_and_a_comparison(tiny_run, tmp_path):
    out, _ = tiny_run
    table = load_table_run(out / "evaluations.csv")
    table.label = "as a table"
    built = build_report([load_run(out), table], tmp_path / "both", top=3)
    markdown = built.markdown.read_text()
    assert "# Topology report: gru-reber vs as a table" in markdown
    assert markdown.count("### gru-reber") >= 4 and markdown.count("### as a table") >= 4
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (built.markdown.parent / link).is_file()
    html = built.html.read_text()
    assert "as a table: best so far" in html and "gru-reber: best so far" in html


THESIS_TABLE = Path(__file__).parents[2] / "data" / "thesis_table.csv"


def test_the_predictor_section_is_the_predictors_cross_validation():
    from predictors import GraphRegressor, cross_validate_predictor, load_table, repeated_splits

    run = load_table_run(THESIS_TABLE)  # 30 GRU graphs of the thesis, no edge lists
    check = predictor_check(run, seed=4)
    assert check.cv["rows"] == 30 and len(check.measured) == len(check.predicted) == 30
    table = load_table(THESIS_TABLE, features="thesis")
    splits = repeated_splits(30, 3, 1, 4, table.groups)
    model = GraphRegressor(kind="extratrees", n_estimators=100, random_state=4)
    direct = cross_validate_predictor(model, table.X, table.y, splits=splits, repeats=1)
    assert check.cv["r2"] == pytest.approx(direct.summary()["r2_mean"])
    assert check.cv["kendall_tau"] == pytest.approx(direct.summary()["kendall_tau_mean"])
    assert check.cv["noise_ceiling"] is None  # every graph trained once
    assert check.candidates is None  # a table has no search predictions


def test_a_table_without_sizes_or_edge_lists_still_reports(tmp_path):
    built = build_report([load_table_run(THESIS_TABLE)], tmp_path / "thesis")
    markdown = built.markdown.read_text()
    assert "| finished / stopped early / failed | 30 / 0 / 0 |" in markdown
    assert "Reproduce:" not in markdown  # a table has no search command
    assert "No edge lists stored" in built.html.read_text()
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (built.markdown.parent / link).read_bytes().startswith(PNG_SIGNATURE)


@pytest.mark.slow
def test_a_prune_match_of_the_run_is_drawn_on_the_pareto_plot(tiny_run, small_reber, tmp_path):
    from typer.testing import CliRunner

    from nas.cli import app
    from nas.reports.analysis import prune_match

    out, study = tiny_run
    small_reber(200)
    prune = tmp_path / "prune"
    options = ["--epochs", "1", "--retrain-epochs", "1", "--hidden-size", "8", "--layers", "1"]
    result = CliRunner().invoke(
        app, ["prune", "--match", str(out), "--rank", "1", "--out", str(prune), *options]
    )
    assert result.exit_code == 0, result.output
    match = prune_match(load_run(out), prune / "prune_match.csv")
    best = ranked_trials(study.get_trials())[0]
    assert match["trial"].tolist() == [best.number]
    assert match["params_nonzero"].tolist() == [best.user_attrs["params_nonzero"]]
    csv = prune / "prune_match.csv"
    built = build_report([load_run(out)], tmp_path / "report", prune_match=csv)
    assert "dense model pruned to equal sparsity" in built.html.read_text()
