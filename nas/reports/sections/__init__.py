"""Report sections beyond the seven built-in ones: one small base class and one registry.

A section subclasses ``nas.reports.sections.base.ReportSection`` (a title, a line of intro,
``compute(run) -> Table``, optionally ``figure`` and ``png``) and is registered here, once,
under a name. ``nas.reports.build`` runs every registered section on every run and both
templates render them with one generic block (heading, intro, figure, table), numbered after
the built-in sections, in registry order.

Adding a section: write its module in this package, import it and add one line to
``REGISTRY`` below. No template, ``build.py`` or ``analysis.py`` edit.
"""

from __future__ import annotations

import re

from nas.reports.sections.base import ReportSection, Table

REGISTRY: dict[str, ReportSection] = {}
"""Every registered section by name (its HTML anchor and figure files' stem), in report
order."""

BUILT_IN = ("summary", "ranking", "progress", "analysis", "predictor", "pareto", "networks")
"""The built-in sections' anchors, in report order (written by build.py and the templates)."""
RESERVED = frozenset({*BUILT_IN, "timeline", "families", "properties", "correlations"})
"""Names the built-in sections already use for anchors, figure files and tables."""
NAME = re.compile(r"[a-z][a-z0-9_-]*")


def registered() -> list[tuple[str, ReportSection]]:
    """The registered sections as ``(name, section)`` in report order, names checked.

    Raises
    ------
    ValueError
        If a name is not a lowercase identifier or is one the built-in sections use (a
        mistake in the registry, not bad input).
    """
    for name in REGISTRY:
        if not NAME.fullmatch(name) or name in RESERVED or name.startswith("network"):
            raise ValueError(
                f"report section name {name!r} must be a lowercase identifier and not one of "
                f"the built-in names ({', '.join(sorted(RESERVED))}, network*)"
            )
    return list(REGISTRY.items())


__all__ = ["BUILT_IN", "REGISTRY", "ReportSection", "Table", "registered"]
