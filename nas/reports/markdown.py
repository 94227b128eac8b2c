"""Escaping for report.md: every value the template writes is shown as the text it is.

Names and values come from files others may send (a study's name, a task path, a family
label), so none of them may become Markdown or HTML: a ``|`` that splits a table cell,
``*`` or ``_`` that starts emphasis, ``[`` that starts a link, ``<script>`` that a renderer
passes through, a backtick that ends a code span or a newline that ends a table row.
The report's Jinja environment applies ``markdown_text`` to every ``{{ ... }}`` of the
Markdown template (its ``finalize``), so no value can be forgotten; ``markdown_code``
writes a value as a code span instead, and ``markdown`` marks the project's own prose; both
are left alone by ``markdown_text``.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*\[\]|~])")
"""Characters that are Markdown syntax anywhere in a line (backslash-escaped)."""

_LOOSE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
"""An ``_`` that can open or close emphasis; one inside a word (``barabasi_albert``)
cannot, and is left as it is."""

_LINE_START = re.compile(r"^(\s*)(#|[-+=](?=\s|$))|^(\s*\d+)([.)])(?=\s|$)")
"""What turns the start of a line into a heading, list item or rule (``>``, a quote, is
written as ``&gt;``)."""

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class Markdown(str):
    """Text already written as Markdown (a code span, or the project's own prose), passed
    through ``markdown_text`` as it is."""


def markdown(value: object) -> Markdown:
    """Mark ``value`` as the project's own Markdown (a note with `code`), never a value read
    from a file: it is written as it is."""
    return Markdown(value)


def markdown_text(value: object) -> str:
    """``value`` as Markdown text that renders as exactly that text, on one line."""
    if isinstance(value, Markdown):
        return value
    text = " ".join(str("" if value is None else value).splitlines())
    text = _SPECIAL.sub(r"\\\1", text)
    text = _LOOSE_UNDERSCORE.sub(r"\\_", text)
    text = _LINE_START.sub(lambda m: "\\".join(g for g in m.groups() if g is not None), text)
    return re.sub(r"[&<>]", lambda m: _HTML[m.group()], text)


def markdown_code(value: object, *, in_table: bool = True) -> Markdown:
    """``value`` as an inline code span on one line: fenced by more backticks than it holds
    in a row (so it cannot close the span), and, in a table, with ``|`` escaped (a pipe
    splits a cell even inside a code span; GitHub's tables unescape it)."""
    text = " ".join(str(value).splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return Markdown(f"{fence}{text}{fence}")
