"""The report's section seam: a section registered in ``nas.reports.sections.REGISTRY`` (here
by monkeypatching, with no other source edit) appears in report.md and report.html with its
heading, intro, table and figures, numbered after the seven built-in sections."""

import re

import matplotlib.pyplot as plt
import pandas as pd
import plotly.graph_objects as go
import pytest
from test_report import PNG_SIGNATURE, SECTIONS, Page

from nas.reports import sections
from nas.reports.build import build_report
from nas.reports.data import load_run, load_table_run
from nas.reports.sections import ReportSection, Table


class SizesSection(ReportSection):
    """A toy section: how many networks of each node count the search tried."""

    title = "Networks by size"
    intro = "How many networks of each node count the search tried."

    def compute(self, run):
        counts = run.frame.groupby("nodes").size().reset_index(name="networks")
        counts["nodes"] = counts["nodes"].astype(int)
        return Table.from_frame(counts.assign(note="a|b"))

    def figure(self, run, table):
        x = [row["nodes"] for row in table.records]
        return go.Figure(go.Bar(x=x, y=[row["networks"] for row in table.records]))

    def png(self, run, table):
        figure, ax = plt.subplots()
        ax.bar([row["nodes"] for row in table.records], [r["networks"] for r in table.records])
        return figure


class TableOnly(ReportSection):
    """A section with numbers and no figure (the hooks' defaults)."""

    title = "Trials"
    intro = ""

    def compute(self, run):
        return Table(("trials",), ({"trials": len(run.frame)},))


TOY = {"sizes": SizesSection(), "trials": TableOnly()}


@pytest.fixture(scope="module")
def built(tiny_run, tmp_path_factory):
    out, _ = tiny_run
    table = load_table_run(out / "evaluations.csv")
    table.label = "as a table"
    folder = tmp_path_factory.mktemp("sections")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sections, "REGISTRY", TOY)
        single = build_report([load_run(out)], folder / "single", top=3)
        both = build_report([load_run(out), table], folder / "both", top=3)
    return load_run(out), single, both


def expected_rows(run) -> list[str]:
    counts = run.frame.groupby("nodes").size()
    return [f"| {int(nodes)} | {count} | a\\|b |" for nodes, count in counts.items()]


def test_a_registered_section_appears_in_report_md(built):
    run, single, _ = built
    markdown = single.markdown.read_text()
    intro = "How many networks of each node count the search tried."
    assert f"## 8. Networks by size\n\n{intro}\n" in markdown
    assert markdown.index("## 7. The top networks") < markdown.index("## 8. Networks by size")
    assert "| nodes | networks | note |\n|---:|---:|---|\n" in markdown
    rows = expected_rows(run)
    assert len(rows) >= 2 and all(f"{row}\n" in markdown for row in rows)
    assert "![Networks by size (gru-reber)](figures/sizes.png)" in markdown
    png = single.markdown.parent / "figures" / "sizes.png"
    assert png.read_bytes().startswith(PNG_SIGNATURE) and png in single.images
    assert f"## 9. Trials\n\n| trials |\n|---:|\n| {len(run.frame)} |\n" in markdown
    assert not (single.markdown.parent / "figures" / "trials.png").exists()


def test_a_registered_section_appears_in_report_html(built):
    run, single, _ = built
    html = single.html.read_text()
    page = Page()
    page.feed(html)
    assert page.headings == [*SECTIONS, "8. Networks by size", "9. Trials"]
    assert '<h2 id="sizes">8. Networks by size</h2>' in html
    assert '<p class="note">How many networks of each node count the search tried.</p>' in html
    assert 'id="plot-sizes"' in html and not re.search(r'id="plot-trials"', html)
    body = re.search(r'<table class="sortable" id="sizes-1">(.*?)</table>', html, re.S).group(1)
    header = '<th>nodes</th><th>networks</th><th class="text">note</th>'
    assert header in body
    counts = run.frame.groupby("nodes").size()
    cells = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td><td class=\"text\">a\|b</td></tr>", body)
    assert cells == [(str(int(n)), str(c)) for n, c in counts.items()]
    assert '<table class="sortable" id="trials-1">' in html and f"<td>{len(run.frame)}</td>" in html


def test_compared_runs_each_get_their_part(built):
    _, _, both = built
    markdown = both.markdown.read_text()
    section = markdown[markdown.index("## 8. Networks by size") :]
    assert section.index("### gru-reber") < section.index("### as a table")
    for tag, label in (("run1-", "gru-reber"), ("run2-", "as a table")):
        assert f"![Networks by size ({label})](figures/{tag}sizes.png)" in section
        assert (both.markdown.parent / "figures" / f"{tag}sizes.png").is_file()
        assert f'id="plot-{tag}sizes"' in both.html.read_text()


def test_a_table_knows_its_text_columns():
    table = Table.from_frame(pd.DataFrame({"family": ["ws", None], "acc": [0.5, float("nan")]}))
    assert table.columns == ("family", "acc") and table.text == {"family"}
    assert table.records == ({"family": "ws", "acc": 0.5}, {"family": None, "acc": None})
    assert Table(("empty",)).text == frozenset()


@pytest.mark.parametrize("name", ["pareto", "families", "network-rank1", "Sizes", "8th"])
def test_a_name_the_built_in_sections_use_is_refused(monkeypatch, name):
    monkeypatch.setattr(sections, "REGISTRY", {name: TableOnly()})
    with pytest.raises(ValueError, match="report section name"):
        sections.registered()


def test_the_registry_ships_empty_so_the_report_is_the_seven_sections():
    assert sections.registered() == list(sections.REGISTRY.items())
    assert sections.BUILT_IN == (
        "summary", "ranking", "progress", "analysis", "predictor", "pareto", "networks",
    )  # fmt: skip
