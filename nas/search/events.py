"""What a search reports while it runs: ``SearchEvent``s, and the tally they carry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from optuna.trial import FrozenTrial, TrialState

from nas.search.records import networks_done


@dataclass(frozen=True)
class SearchEvent:
    """What ``run_search`` reports to its ``progress`` callback.

    kind : ``start``, ``round`` (a round begins), ``epoch`` (a network finished an epoch),
        ``trial`` (a trial was told), ``wait`` or ``end``.
    done : networks whose training finished or stopped (the budget's unit, once finished).
    budget : the budget.
    best : best measured accuracy of a completed trial so far (None before the first).
    message : a short description, e.g. ``round 3: 8 networks (predictor)``.
    """

    kind: str
    done: int
    budget: int
    best: float | None
    message: str = ""


Progress = Callable[[SearchEvent], None]


class Tally:
    """The networks done and the best accuracy so far, and the callback that hears of them.

    Counted as trials are told here (a query per network would cost more) and read again
    from the study at every epoch boundary, where other workers' progress shows."""

    def __init__(self, budget: int, progress: Progress) -> None:
        self.budget = budget
        self.progress = progress
        self.done = 0
        self.best: float | None = None

    def emit(self, kind: str, message: str = "") -> None:
        self.progress(SearchEvent(kind, self.done, self.budget, self.best, message))

    def refresh(self, trials: Sequence[FrozenTrial]) -> None:
        self.done = networks_done(trials)
        accs = [t.values[0] for t in trials if t.state == TrialState.COMPLETE and t.values]
        self.best = max(accs) if accs else None

    def finished(self, counted: bool, value: float | None) -> None:
        """A trial was told: ``counted`` if its network counts as done, ``value`` its
        accuracy if it completed."""
        self.done += counted
        if value is not None:
            self.best = value if self.best is None else max(self.best, value)
