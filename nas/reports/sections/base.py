"""``ReportSection``: what a report section is (a title, a line of intro, its numbers as a
``Table``, optionally a plotly figure for report.html and a matplotlib one for report.md),
so that ``nas.reports.build`` and the templates can render any registered section the same
way, in the manner of Optuna's samplers: one small base, hooks that default to nothing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from nas.reports.ranking import records as plain_records

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

    from nas.reports.data import RunData


@dataclass(frozen=True)
class Table:
    """A section's numbers: column names in display order and one record (dict) per row.

    Values are plain JSON values (strings, numbers, None); the templates format numbers with
    the report's ``num`` filter and left-align the columns that hold only text.
    """

    columns: tuple[str, ...]
    records: tuple[dict[str, Any], ...] = ()
    text: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        text = {
            column
            for column in self.columns
            if any(row.get(column) is not None for row in self.records)
            and all(isinstance(row.get(column), str | None) for row in self.records)
        }
        object.__setattr__(self, "text", frozenset(text))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Table:
        """The rows of ``frame`` (``nas.reports.ranking.records``: NaN as None, counts as
        integers), its columns in order."""
        return cls(tuple(str(c) for c in frame.columns), tuple(plain_records(frame)))


class ReportSection(ABC):
    """One section of the report, computed and drawn for each run it covers.

    Subclass it, set ``title`` and ``intro``, implement ``compute``, and register an instance
    in ``nas.reports.sections.REGISTRY`` under a name (the HTML anchor and the figure files'
    stem). ``figure`` and ``png`` are optional: return None (the default) for no figure.
    """

    title: ClassVar[str]
    """The heading, after the section's number."""
    intro: ClassVar[str] = ""
    """One line under the heading: what the section shows and why."""

    @abstractmethod
    def compute(self, run: RunData) -> Table:
        """The section's numbers for ``run`` (rows of a table; none for nothing to show)."""

    def figure(self, run: RunData, table: Table) -> go.Figure | None:
        """An interactive figure for report.html, drawn from ``table`` (or ``run``)."""
        return None

    def png(self, run: RunData, table: Table) -> Figure | None:
        """A still figure for report.md (``nas.reports.pngs``' style), or None."""
        return None
