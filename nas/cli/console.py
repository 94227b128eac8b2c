"""Shared command-line plumbing: consoles, the error boundary, warnings, progress bars, number
formatting and tables. Every command renders through here, so a value looks the same in
every table.

Imports no command module, so each command module can use it.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from core.errors import SparseNASError

# Soft wrap: a long line (a path, an error) is left for the terminal to fold, never broken
# with a newline inside a word, so what is printed can be copied back; tables still fit.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def run_or_exit(action: Callable[[], T], *, writes: Path | None = None) -> T:
    """Run ``action``; its UserWarnings become ``warning:`` lines on stderr, and bad input
    (SparseNASError) one ``error:`` line and exit code 2. With ``writes``, an OSError is
    taken as that path being unwritable (bad input too), and a folder ``writes`` that the
    failed action made and left empty is removed: bad input writes nothing."""
    existed = writes is None or writes.exists()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            if writes is not None:
                with writable(writes):
                    return action()
            return action()
        except SparseNASError as exc:
            _show(caught)
            caught.clear()
            if not existed:
                _remove_if_empty(writes)  # type: ignore[arg-type]
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        finally:
            _show(caught)


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _show(caught: list[warnings.WarningMessage]) -> None:
    seen = set()
    for item in caught:
        message = str(item.message)
        if item.category is UserWarning and message not in seen:
            seen.add(message)
            err_console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress]:
    """A rich progress bar on stderr (a no-op when not ``enabled``). A failure found while
    it runs (an ``error:`` line and exit) erases it, so the error line is all that is left."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=err_console, disable=not enabled, transient=False) as bar:
        try:
            yield bar
        except typer.Exit as stop:
            if stop.exit_code == 2:  # erased, and no blank line after it (Rich's, off a tty)
                bar.live.transient = True
                bar.live.stop()
                bar.disable = True
            raise


def save_csv(frame, out: Path) -> None:
    """Write ``frame`` (a pandas DataFrame) as CSV, making folders, and say so on stderr; a
    path that cannot be written is one ``error:`` line and exit code 2."""

    def write() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False)

    run_or_exit(write, writes=out)
    err_console.print(f"wrote {len(frame)} rows to {out}")


@contextmanager
def writable(path: Path) -> Iterator[None]:
    """Turn an OSError while writing ``path`` (read-only folder, a folder where a file
    should be...) into one SparseNASError line."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SparseNASError(f"cannot write {path}: {reason}") from None


def check_out_path(folder: Path) -> Path:
    """What ``check_out_dir`` refuses without making anything: ``folder`` is a file, or
    lies under one."""
    if folder.exists() and not folder.is_dir():
        raise SparseNASError(f"cannot write into {folder}: it is a file, not a folder")
    existing = next((parent for parent in folder.parents if parent.exists()), None)
    if existing is not None and not existing.is_dir():
        raise SparseNASError(f"cannot write {folder}: {os.strerror(errno.ENOTDIR)}")
    return folder


def check_out_dir(folder: Path) -> Path:
    """Make ``folder`` and check that files can be written into it, before any long work."""
    with writable(folder):
        check_out_path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".nas-write-check"
        probe.write_text("")
        probe.unlink()
    return folder


def check_out_file(path: Path | None) -> Path | None:
    """Check, before any long work, that a file can be written at ``path`` (if given): not a
    folder, and its folder can be made and written into."""
    if path is not None:
        if path.is_dir():
            raise SparseNASError(f"cannot write {path}: it is a folder, not a file")
        check_out_dir(path.parent)
    return path


MISSING = "–"
"""How a missing value (None, NaN) is shown."""


def fmt(value: object, digits: int = 4, *, fixed: bool = False) -> str:
    """One cell of a table: floats with ``digits`` significant digits (``fixed``: decimals),
    None and NaN as ``MISSING``, anything else as ``str``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, float):
        return f"{value:.{digits}{'f' if fixed else 'g'}}"
    return str(value)


def fmt_pm(
    mean: float | None, std: float | None, *, two_lines: bool = False, tight: bool = False
) -> str:
    """``mean ± std`` with three decimals (``n/a`` without a mean; ``tight``: no spaces)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "n/a"
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.3f}"
    if two_lines:
        return f"{mean:.3f}\n[dim]±{std:.3f}[/]"
    return f"{mean:.3f}±{std:.3f}" if tight else f"{mean:.3f} ± {std:.3f}"


HEADERS: dict[str, str] = {
    "rank": "#", "trial": "trial", "family": "fam", "nodes": "nodes", "edges": "edges",
    "layers": "lay", "params_nonzero": "nonzero", "predicted_acc": "pred", "predicted": "pred±sd",
    "valid_acc": "valid", "test_acc": "test", "epochs": "ep", "status": "status",
}  # fmt: skip
"""Short headers of a run's columns (the search's, rank's and evaluate's tables), so that
they fit 80 columns; ``ABBREVIATIONS`` spells the short ones out under the table."""
ABBREVIATIONS: dict[str, str] = {
    "fam": "graph family", "lay": "layers", "nonzero": "nonzero parameters",
    "pred": "predicted accuracy", "pred±sd": "predicted accuracy ± the predictor's spread",
    "valid": "validation accuracy", "test": "test accuracy", "ep": "epochs trained",
}  # fmt: skip


def legend(headers: Iterable[str]) -> Text | None:
    """The caption spelling out the abbreviated ``headers`` (None when none is), wrapped to
    the table's width even on a soft-wrapping console."""
    words = [f"{h}: {ABBREVIATIONS[h]}" for h in headers if h in ABBREVIATIONS]
    return caption("; ".join(words)) if words else None


def caption(text: str) -> Text:
    """A table caption wrapped to the table's width (the consoles soft-wrap everything else)."""
    return Text(text, style="table.caption", no_wrap=False, overflow="fold")


def records_table(
    rows: list[dict[str, object]],
    columns: list[str] | dict[str, str],
    title: str,
    *,
    left: tuple[str, ...] = ("graph", "family", "target", "feature"),
    decimals: int = 3,
    **table_options: object,
) -> Table:
    """A rich table of ``rows`` showing ``columns`` (a list, or a dict of key -> header) that
    fits an 80-column terminal: numbers never wrap (floats with ``decimals`` decimals), only
    the ``left`` (text) columns fold, columns are two spaces apart with no outer border."""
    headers = columns if isinstance(columns, dict) else {c: c for c in columns}
    options = {"box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True}
    options["caption"] = legend(headers.values())
    table = Table(title=title, **{**options, **table_options})  # type: ignore[arg-type]
    for key, header in headers.items():
        text = key in left
        table.add_column(
            header, justify="left" if text else "right", no_wrap=not text, overflow="fold"
        )
    for row in rows:
        table.add_row(*(fmt(row.get(key), decimals, fixed=True) for key in headers))
    return table


def pairs_table(pairs: list[tuple[str, object]], title: str) -> Table:
    """A two-column rich table: a bold name, then its value."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, value in pairs:
        table.add_row(name, value if isinstance(value, str) else fmt(value))
    return table


def unwrapped_help(command: Callable[..., object]) -> Callable[..., object]:
    """``command`` with each docstring paragraph on one line: Typer keeps the line breaks of
    every paragraph but the first, which breaks ``--help`` mid-sentence."""
    paragraphs = inspect.cleandoc(command.__doc__ or "").split("\n\n")
    command.__doc__ = "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)
    return command
