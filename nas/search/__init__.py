"""The search: its spec, space, moves, strategies, storage, loop, workers and results.

Imports graphs/, models/, predictors/, nas.tasks and nas.experiments; never nas.cli.
"""

from nas.search.loop import SearchEvent, SearchInterrupted, export_results, run_search
from nas.search.spec import SearchSpec

__all__ = ["SearchEvent", "SearchInterrupted", "SearchSpec", "export_results", "run_search"]
