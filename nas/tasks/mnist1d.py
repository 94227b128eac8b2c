"""MNIST-1D (Greydanus 2020): ten 1-D digit templates, shifted, sheared, scaled and noised.

A small benchmark on which model families differ clearly (its published references:
logistic regression 32 %, MLP 68 %, CNN 94 %, GRU 91 % test accuracy). The ``mnist1d``
package generates it locally with ``make_dataset`` and its default arguments: 5,000 sequences
of 40 real values, split 4,000 train / 1,000 test by the package; our validation split is
carved from the 4,000 (stratified, seeded). The data itself never depends on our seed (the
package seeds its own generation), only the validation split does. The package's
``get_dataset`` may download a file, so it is never called.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from models.data import SequenceSet, Task
from nas.tasks.encoding import split_task, task_rngs

N_STEPS = 40
N_FEATURES = 1
N_CLASSES = 10


def make_mnist1d_task(seed: int = 0) -> Task:
    """The MNIST-1D task: (n, 40, 1) float32 sequences, the package's own test split."""
    dataset = _generate()
    (split_rng,) = task_rngs(seed, 1)
    return split_task(
        "mnist1d", _sequences(dataset["x"], dataset["y"]), N_CLASSES, split_rng,
        test=_sequences(dataset["x_test"], dataset["y_test"]), n_features=N_FEATURES,
        class_names=[str(digit) for digit in range(N_CLASSES)],
    )  # fmt: skip


def package_version() -> str:
    """The installed ``mnist1d`` version (the cache keys on it: another release may generate
    other data)."""
    from importlib.metadata import version

    return version("mnist1d")


def _generate() -> dict[str, np.ndarray]:
    """The package's default data set; its global seeding is undone afterwards, so building
    the task leaves Python's and numpy's global random streams as they were."""
    from mnist1d.data import get_dataset_args, make_dataset  # matplotlib and scipy: ~1 s

    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        return make_dataset(get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _sequences(x: np.ndarray, y: np.ndarray) -> SequenceSet:
    """Rows of 40 values as 40 steps of one feature each."""
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)[:, :, None])
    return SequenceSet(
        inputs,
        torch.full((len(x),), inputs.shape[1], dtype=torch.int64),
        torch.from_numpy(np.asarray(y, dtype=np.int64)),
    )
