"""Sequence classification tasks: Reber grammars, row-by-row digits and the user's CSV files.

Each task is built in-process from a seed and returned as a ``models.data.Task``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from core.errors import SparseNASError
from core.lazy import lazy_exports

if TYPE_CHECKING:  # imported on first use: the names and help cost no torch or sklearn
    from pathlib import Path

    from models.data import Task
    from nas.tasks.csv_task import make_csv_task
    from nas.tasks.digits import make_digits_task
    from nas.tasks.embedded_reber import make_embedded_reber_task
    from nas.tasks.reber import make_reber_task
    from nas.tasks.reber_thesis import make_reber_thesis_task

TASK_NAMES = ("reber", "reber-thesis", "embedded-reber", "digits")
TASK_HELP = (
    f"Task: {', '.join(TASK_NAMES)} or csv:PATH (columns `sequence`, `label` or the thesis' "
    "`string`, `valid`)."
)
"""The ``--task`` option's help, the same in every command."""
TEST_DATA_HELP = (
    "With --task csv:PATH: a CSV file (same columns) to test on; PATH then gives the training "
    "and validation splits (e.g. the thesis' train_data.csv and test_data.csv)."
)
"""The ``--test-data`` option's help, the same in every command."""

__all__ = [
    "TASK_HELP",
    "TEST_DATA_HELP",
    "TASK_NAMES",
    "load_task",
    "make_csv_task",
    "make_digits_task",
    "make_embedded_reber_task",
    "make_reber_task",
    "make_reber_thesis_task",
]


_MAKERS = {
    "reber": "make_reber_task",
    "reber-thesis": "make_reber_thesis_task",
    "embedded-reber": "make_embedded_reber_task",
    "digits": "make_digits_task",
}
"""The tasks generated from a seed (the grammars also from a size), and their makers."""


def load_task(
    spec: str,
    seed: int = 0,
    n_strings: int | None = None,
    sequence_column: str | None = None,
    label_column: str | None = None,
    test_data: str | Path | None = None,
) -> Task:
    """Build the task named by ``spec``: one of TASK_NAMES or ``csv:PATH``.

    ``n_strings`` sizes the Reber tasks (None keeps their default); the column names (None:
    ``sequence``/``label`` or ``string``/``valid``) and a fixed ``test_data`` file only apply
    to CSV files. Generated tasks come from the per-user task cache (nas.tasks.cache) when it
    holds them, bit for bit the task generating them gives.
    """
    is_csv = spec.startswith("csv:") and spec[len("csv:") :]
    if test_data is not None and not is_csv:
        raise SparseNASError(
            f"a test file ({test_data}) needs a CSV task (csv:PATH), not {spec!r}; "
            "the generated tasks make their own split"
        )
    if spec in _MAKERS:
        from nas.tasks.cache import cached_task

        size = None if spec == "digits" else n_strings  # digits has one size
        params = {"task": spec, "seed": seed, "n_strings": size}
        return cached_task(params, lambda: _generate(spec, seed, size))
    if is_csv:
        from nas.tasks.csv_task import make_csv_task

        return make_csv_task(
            spec[len("csv:") :], sequence_column, label_column, seed=seed, test_path=test_data
        )
    choices = ", ".join(TASK_NAMES)
    raise SparseNASError(f"unknown task {spec!r}; choose one of {choices} or csv:PATH")


def _generate(spec: str, seed: int, n_strings: int | None) -> Task:
    """Build generated task ``spec`` (its maker's default size when ``n_strings`` is None);
    only that maker's module is imported (the digits task alone needs scikit-learn, ~1 s)."""
    make = getattr(sys.modules[__name__], _MAKERS[spec])
    return make(seed=seed) if n_strings is None else make(n_strings=n_strings, seed=seed)


__getattr__ = lazy_exports(
    __name__,
    {
        "make_csv_task": "nas.tasks.csv_task",
        "make_digits_task": "nas.tasks.digits",
        "make_embedded_reber_task": "nas.tasks.embedded_reber",
        "make_reber_task": "nas.tasks.reber",
        "make_reber_thesis_task": "nas.tasks.reber_thesis",
    },
)
