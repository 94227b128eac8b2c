"""Shared command-line plumbing: consoles, the error boundary, warnings and progress bars.

A leaf of nas/ that imports no command module, so sub-apps (``nas.predictor_cli``) can use it
without importing ``nas.cli`` (which imports them).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from graphs.errors import SparseNASError

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")


def run_or_exit(action: Callable[[], T]) -> T:
    """Run ``action``; its UserWarnings become ``warning:`` lines on stderr, and bad input
    (SparseNASError) one ``error:`` line and exit code 2."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            return action()
        except SparseNASError as exc:
            _show(caught)
            caught.clear()
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
        finally:
            _show(caught)


def _show(caught: list[warnings.WarningMessage]) -> None:
    seen = set()
    for item in caught:
        message = str(item.message)
        if item.category is UserWarning and message not in seen:
            seen.add(message)
            err_console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Progress]:
    """A rich progress bar on stderr (a no-op when not ``enabled``)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=err_console, disable=not enabled, transient=False) as bar:
        yield bar


def save_csv(frame, out: Path) -> None:
    """Write ``frame`` (a pandas DataFrame) as CSV, making folders, and say so on stderr."""
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    err_console.print(f"wrote {len(frame)} rows to {out}")
