"""report.md shows every name and value as the text it is (nas/reports/markdown.py): a study,
task, family or source carrying Markdown or HTML renders as that text, never as a tag, a
table cell, emphasis or a link (issue 32, item 4). report.html escapes them too."""

import html
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from nas.reports.build import build_report
from nas.reports.data import load_run
from nas.reports.markdown import markdown_code, markdown_text

markdown_it = pytest.importorskip("markdown_it")

PAYLOAD = "x</td><script>alert(1)</script>|*y*"
TASK = "csv:data|`x``.csv"
FAMILY = "fam_<b>|[a](http://e.vil)_"
SOURCE = "run|`dir`<i>"

TEXT_CASES = [
    ("plain words", "plain words"),
    ("barabasi_albert", "barabasi_albert"),  # an underscore inside a word stays
    ("0.9123", "0.9123"),
    ("-0.5000", "-0.5000"),
    ("–", "–"),
    ("_x_", "\\_x\\_"),
    ("*y*", "\\*y\\*"),
    ("a|b", "a\\|b"),
    ("`code`", "\\`code\\`"),
    ("[a](http://e.vil)", "\\[a\\](http://e.vil)"),
    ("~~gone~~", "\\~\\~gone\\~\\~"),
    ("back\\slash", "back\\\\slash"),
    ("<script>", "&lt;script&gt;"),
    ("a & b", "a &amp; b"),
    ("&amp;", "&amp;amp;"),
    ("two\nlines", "two lines"),
    ("# heading", "\\# heading"),
    ("- item", "\\- item"),
    ("1. item", "1\\. item"),
    ("> quote", "&gt; quote"),
    (None, ""),
    (3, "3"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "expected"), TEXT_CASES)
def test_markdown_text_escapes_what_is_syntax(value, expected):
    assert markdown_text(value) == expected


CODE_CASES = [
    ("nas search --cell gru", True, "`nas search --cell gru`"),
    ("a|b", True, "`a\\|b`"),
    ("a|b", False, "`a|b`"),
    ("one `tick`", False, "`` one `tick` ``"),
    ("x``y", False, "```x``y```"),
    ("`edge`", False, "`` `edge` ``"),
    ("two\nlines", False, "`two lines`"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "in_table", "expected"), CODE_CASES)
def test_markdown_code_fences_past_every_backtick(value, in_table, expected):
    code = markdown_code(value, in_table=in_table)
    assert code == expected
    assert markdown_text(code) == expected  # a code span is written as it is


def render(markdown: str) -> str:
    return markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


class Cells(HTMLParser):
    """The text of every table cell and heading of a rendered page, and its tags."""

    def __init__(self):
        super().__init__()
        self.texts, self.tags, self.current = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("td", "th", "h1", "h3", "p"):
            self.current = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th", "h1", "h3", "p") and self.current is not None:
            self.texts.append(self.current)
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current += data


@pytest.fixture(scope="module")
def hostile(tiny_run, tmp_path_factory):
    """A report of the tiny run whose names carry payloads, as a received run would."""
    out, _ = tiny_run
    run = load_run(out)
    frame = run.frame.copy()
    frame["family"] = FAMILY
    config = {**run.config, "task": TASK, "study": PAYLOAD}
    run = replace(run, label=PAYLOAD, frame=frame, config=config, source=SOURCE)
    folder = tmp_path_factory.mktemp("hostile")
    return build_report([run], folder, top=3)


def test_the_payloads_appear_only_escaped_in_report_md(hostile):
    markdown = hostile.markdown.read_text()
    # Outside code spans (whose text a renderer shows as it is) no payload is left raw.
    prose = re.sub(r"(`+).+?\1", "", markdown)
    for raw in ("<script", "</td>", "<b>", "<i>", "*y*", "[a](", "|[a]", "_<b>"):
        assert raw not in prose, raw
    heading = "# Topology report: x&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\|\\*y\\*\n"
    assert markdown.startswith(heading)
    assert "| source | ``run\\|`dir`<i>`` |" in markdown
    assert "| task | csv:data\\|\\`x\\`\\`.csv |" in markdown
    assert "| fam\\_&lt;b&gt;\\|\\[a\\](http://e.vil)\\_ |" in markdown
    command = next(line for line in markdown.splitlines() if line.startswith("Reproduce: "))
    assert command.startswith("Reproduce: ```nas search ") and command.endswith("```")
    assert f"--task {TASK}" in command and "\n" not in command


def test_rendered_report_md_shows_each_payload_as_text(hostile):
    page = render(hostile.markdown.read_text())
    cells = Cells()
    cells.feed(page)
    for tag in ("script", "b", "i", "em", "strong", "a", "del"):
        assert tag not in cells.tags, tag
    texts = cells.texts
    assert f"Topology report: {PAYLOAD}" in texts  # the heading, one piece of text
    assert TASK in texts and SOURCE in texts  # each whole in its own table cell
    assert texts.count(FAMILY) >= 3  # ranking rows and the family table, never split
    command = next(t for t in texts if t.startswith("Reproduce: "))
    assert f"--task {TASK}" in command and f"--study {PAYLOAD}" in command
    assert html.escape(PAYLOAD, quote=False) in page


def test_report_html_escapes_the_same_payloads(hostile):
    page = hostile.html.read_text()
    assert "<script>alert(1)" not in page and "<b>|" not in page
    assert html.escape(PAYLOAD, quote=False) in page or html.escape(PAYLOAD) in page
