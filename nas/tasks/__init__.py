"""Sequence classification tasks: Reber grammars, row-by-row digits, MNIST-1D, the user's CSV
files and the published image and speech data sets read from their downloaded folders.

Each task is built in-process (from a seed, or from files and a seed for the splits) and
returned as a ``models.data.Task``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from core.errors import SparseNASError, existing_file
from core.lazy import lazy_exports

if TYPE_CHECKING:  # imported on first use: the names and help cost no torch or sklearn
    from pathlib import Path

    from models.data import Task
    from nas.tasks.csv_task import make_csv_task
    from nas.tasks.digits import make_digits_task
    from nas.tasks.embedded_reber import make_embedded_reber_task
    from nas.tasks.folders import (
        make_cifar10_task,
        make_pixel_mnist_task,
        make_seq_mnist_task,
    )
    from nas.tasks.mnist1d import make_mnist1d_task
    from nas.tasks.reber import make_reber_task
    from nas.tasks.reber_thesis import make_reber_thesis_task
    from nas.tasks.speech import make_speech_commands_task

TASK_NAMES = ("reber", "reber-thesis", "embedded-reber", "digits", "mnist1d")
FOLDER_TASKS = ("seq-mnist", "seq-mnist-pixels", "cifar10", "speech-commands")
"""The tasks read from a downloaded data set's folder, named ``NAME:DIR``."""
TASK_CHOICES = f"{', '.join(TASK_NAMES)}, {', '.join(f'{n}:DIR' for n in FOLDER_TASKS)} or csv:PATH"
"""Every form of ``--task``, in one line."""
CSV_FILE = "CSV file"
"""How messages name a CSV task's file."""
TASK_HELP = (
    f"Task: {TASK_CHOICES} (CSV columns `sequence`, `label` or the thesis' `string`, `valid`; "
    "DIR: the folder a download unpacks to, see docs/tasks.md)."
)
"""The ``--task`` option's help, the same in every command."""
TEST_DATA_HELP = (
    "With --task csv:PATH: a CSV file (same columns) to test on; PATH then gives the training "
    "and validation splits (e.g. the thesis' train_data.csv and test_data.csv)."
)
"""The ``--test-data`` option's help, the same in every command."""

REAL_VALUED_READOUT = "all"
"""The read-out of the real-valued tasks: ``all`` reached a higher mean validation accuracy
than ``sinks`` on ``mnist1d`` (0.838 vs 0.808 over three 30-node graphs, within the noise;
benchmarks/data/readout_choice_mnist1d.json), and reads every unit as a dense control does."""
TASK_TRAINING: dict[str, dict[str, int | float | str]] = {
    "mnist1d": {"epochs": 60, "batch_size": 100, "lr": 1e-2, "readout": REAL_VALUED_READOUT},
    **{name: {"readout": REAL_VALUED_READOUT} for name in FOLDER_TASKS},
}
"""Training settings of the tasks on which the thesis' defaults (``TrainSpec``: 15 epochs,
batch 128, Adam 1e-3, the last layer's read-out; tuned on Reber) leave a network far from
what it can reach; a setting given on the command line wins. On ``mnist1d`` a GRU read at
its last step learns slowly at 1e-3, and a Sparse-RNN read from its last layer (1-4
neurons) is capped far below a dense GRU (docs/tasks.md, Training settings of `mnist1d`).
The token tasks (Reber, digits) and CSV files keep the last layer, so every saved result
and the pinned search trajectory stay as they were."""

__all__ = [
    "FOLDER_TASKS",
    "TASK_TRAINING",
    "TASK_CHOICES",
    "TASK_HELP",
    "TEST_DATA_HELP",
    "TASK_NAMES",
    "check_task",
    "check_task_files",
    "load_task",
    "train_settings",
    "train_settings_help",
    "readout_help",
    "make_csv_task",
    "make_digits_task",
    "make_cifar10_task",
    "make_embedded_reber_task",
    "make_mnist1d_task",
    "make_pixel_mnist_task",
    "make_reber_task",
    "make_reber_thesis_task",
    "make_seq_mnist_task",
    "make_speech_commands_task",
]


_MAKERS = {
    "reber": "make_reber_task",
    "reber-thesis": "make_reber_thesis_task",
    "embedded-reber": "make_embedded_reber_task",
    "digits": "make_digits_task",
    "mnist1d": "make_mnist1d_task",
}
"""The tasks generated from a seed (the grammars also from a size), and their makers."""
_ONE_SIZE = ("digits", "mnist1d")
"""Generated tasks of one fixed size: ``n_strings`` does not apply to them."""
_FOLDER_MAKERS = {
    "seq-mnist": "make_seq_mnist_task",
    "seq-mnist-pixels": "make_pixel_mnist_task",
    "cifar10": "make_cifar10_task",
    "speech-commands": "make_speech_commands_task",
}


def load_task(
    spec: str,
    seed: int = 0,
    n_strings: int | None = None,
    sequence_column: str | None = None,
    label_column: str | None = None,
    test_data: str | Path | None = None,
) -> Task:
    """Build the task named by ``spec``: one of TASK_NAMES, ``NAME:DIR`` for a FOLDER_TASKS
    data set or ``csv:PATH``.

    ``n_strings`` sizes the Reber tasks (None keeps their default; the other tasks have one
    size); the column names (None: ``sequence``/``label`` or ``string``/``valid``) and a fixed
    ``test_data`` file only apply to CSV files. Generated tasks come from the per-user task
    cache (nas.tasks.cache) when it holds them, bit for bit the task generating them gives;
    data folders are read afresh each time.
    """
    check_task(spec, test_data)
    if spec in _MAKERS:
        from nas.tasks.cache import cached_task

        size = None if spec in _ONE_SIZE else n_strings
        params = {"task": spec, "seed": seed, "n_strings": size, **_versions(spec)}
        return cached_task(params, lambda: _generate(spec, seed, size))
    name, _, folder = spec.partition(":")
    if name in _FOLDER_MAKERS:
        make = getattr(sys.modules[__name__], _FOLDER_MAKERS[name])
        return make(folder, seed=seed)
    from nas.tasks.csv_task import make_csv_task

    return make_csv_task(
        spec[len("csv:") :], sequence_column, label_column, seed=seed, test_path=test_data
    )


def check_task(spec: str, test_data: str | Path | None = None) -> str:
    """``spec`` if it names a task ``load_task`` builds (a test file only with a CSV task,
    and a CSV task's files exist), checked without reading data: the commands call it
    before torch is imported."""
    is_csv = spec.startswith("csv:") and spec[len("csv:") :]
    if test_data is not None and not is_csv:
        raise SparseNASError(
            f"a test file ({test_data}) needs a CSV task (csv:PATH), not {spec!r}; "
            "the other tasks make their own split or bring their published one"
        )
    name, _, folder = spec.partition(":")
    if name in _FOLDER_MAKERS and not folder.strip():
        raise SparseNASError(f"task {name}:DIR needs the data set's folder after the colon")
    if not (spec in _MAKERS or name in _FOLDER_MAKERS or is_csv):
        raise SparseNASError(f"unknown task {spec!r}; choose one of {TASK_CHOICES}")
    for path in (spec[len("csv:") :], test_data) if is_csv else ():
        if path is not None:
            existing_file(path, CSV_FILE)  # as nas.tasks.csv_task reads them
    return spec


def check_task_files(spec: str, test_data: str | Path | None = None) -> None:
    """A CSV task's files (``csv:PATH`` and ``test_data``) read and checked as
    ``load_task`` reads them, with pandas but without torch: the commands call it before
    torch is imported. Other tasks are left to ``load_task``."""
    if spec.startswith("csv:"):
        from nas.tasks.csv_rows import read_csv_rows

        read_csv_rows(spec[len("csv:") :], test_path=test_data)


def train_settings(spec: str, **given: int | float | str | None) -> dict[str, int | float | str]:
    """Epochs, batch size and learning rate for task ``spec`` (any ``--task`` form): each
    given one (not None) as given, else the task's own default (TASK_TRAINING), else
    TrainSpec's."""
    from models.train_spec import with_defaults  # torch-free

    return with_defaults(TASK_TRAINING.get(spec.partition(":")[0], {}), **given)


def readout_help() -> str:
    """The ``--readout`` option's help, the same in every command."""
    return (
        "Neurons the linear read-out sees at each sequence's end: last (the DAG's last "
        "layer), sinks (every neuron without an outgoing edge: the DAG's outputs) or all "
        f"({train_settings_help('readout')})."
    )


def train_settings_help(setting: str) -> str:
    """The default of ``setting`` in an option's help: TrainSpec's, and each task's own."""
    from models.train_spec import TrainSpec

    own = [
        f"{task}: {values[setting]}" for task, values in TASK_TRAINING.items() if setting in values
    ]
    return f"default: {getattr(TrainSpec, setting)}" + "".join(f"; {item}" for item in own)


def _generate(spec: str, seed: int, n_strings: int | None) -> Task:
    """Build generated task ``spec`` (its maker's default size when ``n_strings`` is None);
    only that maker's module is imported (the digits task alone needs scikit-learn, ~1 s)."""
    make = getattr(sys.modules[__name__], _MAKERS[spec])
    return make(seed=seed) if n_strings is None else make(n_strings=n_strings, seed=seed)


def _versions(spec: str) -> dict[str, str]:
    """The versions of outside generators a task depends on (the cache keys on them)."""
    if spec != "mnist1d":
        return {}
    from nas.tasks.mnist1d import package_version

    return {"mnist1d": package_version()}


__getattr__ = lazy_exports(
    __name__,
    {
        "make_csv_task": "nas.tasks.csv_task",
        "make_digits_task": "nas.tasks.digits",
        "make_cifar10_task": "nas.tasks.folders",
        "make_embedded_reber_task": "nas.tasks.embedded_reber",
        "make_mnist1d_task": "nas.tasks.mnist1d",
        "make_pixel_mnist_task": "nas.tasks.folders",
        "make_seq_mnist_task": "nas.tasks.folders",
        "make_speech_commands_task": "nas.tasks.speech",
        "make_reber_task": "nas.tasks.reber",
        "make_reber_thesis_task": "nas.tasks.reber_thesis",
    },
)
