"""``TrialStatus``: the one place a network's or trial's status is spelled.

The engine gives a training outcome (``ok``, ``stopped``, ``diverged``); the search adds what
can happen around training (``crashed``, ``invalid``, ``interrupted``, ``lost``, ``surplus``).
Studies and tables store the plain string, so the members are ``str`` values: they compare,
hash, format and serialise as their value (``TrialStatus.OK == "ok"``). The budget rule and
the record built on these statuses live in ``nas.search.records``; this module sits in
``core`` because the engine (``models``) needs the training outcomes too.
"""

from __future__ import annotations

from enum import Enum


class TrialStatus(str, Enum):
    """What became of a network (or the trial that held it)."""

    OK = "ok"
    """Trained all its epochs; its accuracy is the trial's value."""
    STOPPED = "stopped"
    """Stopped early (by Optuna's pruner through the engine's per-epoch answer)."""
    DIVERGED = "diverged"
    """Its loss or weights went non-finite."""
    CRASHED = "crashed"
    """Training raised: the error's type and message are its reason."""
    INVALID = "invalid"
    """Its parameters gave no connected graph; never trained."""
    INTERRUPTED = "interrupted"
    """Ctrl-C during its training; its candidate is queued again."""
    LOST = "lost"
    """Its worker fell silent past the grace; its candidate is queued again."""
    SURPLUS = "surplus"
    """Asked when the budget was already claimed by others; never trained."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def parse(cls, value: object) -> TrialStatus | None:
        """The member of a stored value (``pruned``: studies made before 0.2 said so for
        ``stopped``); None for anything else."""
        text = "stopped" if value == "pruned" else value
        try:
            return cls(text)
        except ValueError:
            return None
