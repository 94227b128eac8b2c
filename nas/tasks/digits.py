"""Handwritten digits read row by row: a small real-valued sequence task with no download.

scikit-learn bundles the 1,797 8x8 UCI digit images; each image becomes 8 time steps of 8
pixel intensities scaled from 0..16 to [0, 1], with 10 classes.
"""

from __future__ import annotations

import numpy as np
import torch

from models.data import SequenceSet, Task
from nas.tasks.encoding import split_task, task_rngs

N_STEPS = 8
N_FEATURES = 8
N_CLASSES = 10


def make_digits_task(seed: int = 0, test_fraction: float = 0.25) -> Task:
    """The digits task: (n, 8, 8) float32 rows in [0, 1], all lengths 8, stratified split."""
    from sklearn.datasets import load_digits  # ~1 s of imports, paid only by this task

    (split_rng,) = task_rngs(seed, 1)
    digits = load_digits()
    images = (digits.data / 16.0).astype(np.float32).reshape(-1, N_STEPS, N_FEATURES)
    data = SequenceSet(
        torch.from_numpy(images),
        torch.full((len(images),), N_STEPS, dtype=torch.int64),
        torch.from_numpy(digits.target.astype(np.int64)),
    )
    return split_task(
        "digits", data, N_CLASSES, split_rng, test_fraction, n_features=N_FEATURES,
        class_names=[str(digit) for digit in range(N_CLASSES)],
    )  # fmt: skip
