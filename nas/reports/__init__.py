"""Reports of searches: read a study, a run dir or an evaluations table (``data``), rank the
networks (``ranking``), compute each section's numbers (``analysis``), draw them (``figures``:
plotly for report.html; ``pngs``: matplotlib for report.md; ``drawing``: layered networks)
and write report.html / report.md (``nas.reports.build.build_report``, templates in
``templates/``; not re-exported here, so reading and ranking do not load plotly). Sections
beyond the seven built-in ones are ``ReportSection`` subclasses in the one registry of
``sections/``.

Imports graphs/, predictors/, nas.search.records and nas.search.results; never nas.cli.
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:  # imported on first use (PEP 562): nas.reports.sources stays light
    from nas.reports.data import RunData, load_run, load_sources, load_study, load_table_run
    from nas.reports.ranking import rank_source, ranking, smallest_within

__all__ = [
    "RunData",
    "load_run",
    "load_sources",
    "load_study",
    "load_table_run",
    "rank_source",
    "ranking",
    "smallest_within",
]

__getattr__ = lazy_exports(
    "nas.reports",
    {
        **dict.fromkeys(
            ["RunData", "load_run", "load_sources", "load_study", "load_table_run"],
            "nas.reports.data",
        ),
        **dict.fromkeys(["rank_source", "ranking", "smallest_within"], "nas.reports.ranking"),
    },
)
