"""Sequence classification tasks: Reber grammars, row-by-row digits and the user's CSV files.

Each task is built in-process from a seed and returned as a ``models.data.Task``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphs.errors import SparseNASError
from graphs.lazy import lazy_exports

if TYPE_CHECKING:  # imported on first use: the names and help cost no torch or sklearn
    from models.data import Task
    from nas.tasks.csv_task import make_csv_task
    from nas.tasks.digits import make_digits_task
    from nas.tasks.embedded_reber import make_embedded_reber_task
    from nas.tasks.reber import make_reber_task

TASK_NAMES = ("reber", "embedded-reber", "digits")
TASK_HELP = f"Task: {', '.join(TASK_NAMES)} or csv:PATH (columns `sequence`, `label`)."
"""The ``--task`` option's help, the same in every command."""

__all__ = [
    "TASK_HELP",
    "TASK_NAMES",
    "load_task",
    "make_csv_task",
    "make_digits_task",
    "make_embedded_reber_task",
    "make_reber_task",
]


def load_task(
    spec: str,
    seed: int = 0,
    n_strings: int | None = None,
    sequence_column: str = "sequence",
    label_column: str = "label",
) -> Task:
    """Build the task named by ``spec``: one of TASK_NAMES or ``csv:PATH``.

    ``n_strings`` sizes the Reber tasks (None keeps their default); the column names only
    apply to CSV files.
    """
    from nas.tasks.csv_task import make_csv_task
    from nas.tasks.digits import make_digits_task
    from nas.tasks.embedded_reber import make_embedded_reber_task
    from nas.tasks.reber import make_reber_task

    if spec in ("reber", "embedded-reber"):
        make = make_reber_task if spec == "reber" else make_embedded_reber_task
        return make(seed=seed) if n_strings is None else make(n_strings=n_strings, seed=seed)
    if spec == "digits":
        return make_digits_task(seed=seed)
    if spec.startswith("csv:") and spec[len("csv:") :]:
        return make_csv_task(spec[len("csv:") :], sequence_column, label_column, seed=seed)
    choices = ", ".join(TASK_NAMES)
    raise SparseNASError(f"unknown task {spec!r}; choose one of {choices} or csv:PATH")


__getattr__ = lazy_exports(
    __name__,
    {
        "make_csv_task": "nas.tasks.csv_task",
        "make_digits_task": "nas.tasks.digits",
        "make_embedded_reber_task": "nas.tasks.embedded_reber",
        "make_reber_task": "nas.tasks.reber",
    },
)
