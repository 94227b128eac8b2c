"""The search: its spec, space, moves, strategies, budget, asking, open trials, the engine's
scheduler, storage (Optuna's internals behind one adapter), loop, workers and results.

Imports core/, graphs/, models/, predictors/ and nas.tasks; never nas.experiments,
nas.reports or nas.cli.
"""

from typing import TYPE_CHECKING

from core.lazy import lazy_exports

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562)
    from nas.search.loop import SearchEvent, SearchInterrupted, export_results, run_search
    from nas.search.spec import SearchSpec

_HOMES = {
    "SearchEvent": "nas.search.loop",
    "SearchInterrupted": "nas.search.loop",
    "export_results": "nas.search.loop",
    "run_search": "nas.search.loop",
    "SearchSpec": "nas.search.spec",
}

__getattr__ = lazy_exports(__name__, _HOMES)


__all__ = ["SearchEvent", "SearchInterrupted", "SearchSpec", "export_results", "run_search"]
