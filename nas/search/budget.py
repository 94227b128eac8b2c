"""The budget as workers share it: how many networks this worker may start now, whether the
budget is already claimed, and which of two racing claims is the one too many.

What counts toward the budget (``counts_toward_budget``, ``claims``) is the record's rule
(``nas.search.records``); this module is about sharing it between workers.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from optuna.trial import FrozenTrial, TrialState

from nas.search.records import claims, counts_toward_budget


def share(left: int, free: int, peers: int) -> int:
    """Networks this worker may start now: at most ``free`` slots and what is ``left`` of
    the budget, and an even share of that among ``peers`` local workers."""
    return min(free, left, math.ceil(left / peers))


def budget_claimed(
    budget: int, trials: Sequence[FrozenTrial], asked: int, own: Collection[int]
) -> bool:
    """Whether the networks started or claimed (``asked`` so far this round here; by any
    worker: running trials not asked here, ``own``) already fill the budget. Checked before
    every ask, so workers sharing a study overshoot it by at most one network each."""
    others = [t for t in trials if counts_toward_budget(t) or t.number not in own]
    return claims(others) + asked >= budget


def is_surplus(budget: int, number: int, trials: Sequence[FrozenTrial]) -> bool:
    """Whether trial ``number`` would overshoot the budget, ``trials`` being the study read
    after it was asked: two workers that checked the budget at the same moment both asked.
    Trial numbers order the claims, so every worker agrees that the later trial is the one
    too many."""
    return claims([t for t in trials if t.number <= number]) > budget


def claims_bound(trials: Sequence[FrozenTrial], number: int) -> int:
    """At most how many claims the trials numbered up to ``number`` hold now, ``trials`` being
    a read of the study taken earlier: what ``is_surplus`` needs, without reading it again.

    Since the read, a trial's claim can appear only where the read shows none yet: a queued
    trial some worker took, or a trial created after the read (a number beyond the read's
    last, ``number`` itself included). Each counts as a claim here; the others only give
    claims back. When this bound is within the budget, trial ``number`` is no surplus."""
    last = max((t.number for t in trials), default=-1)
    seen = sum(claims([t]) or t.state == TrialState.WAITING for t in trials if t.number <= number)
    return seen + max(0, number - last)
