"""The one way the project derives seeds: numpy's ``SeedSequence``.

A run takes one integer ``seed`` at the top; everything random below it (graphs, weights,
batch order, samplers, CV folds, task data) gets a child seed from here, so adding a
consumer never shifts the seeds of the others. Keys are tuples of integers: ``(seed,
stream, round)`` names one independent stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def derive_seed(*keys: int) -> int:
    """One integer seed for the key tuple ``keys`` (e.g. ``derive_seed(seed, stream, round)``)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0])


def child_seeds(seed: int | Sequence[int], count: int) -> list[int]:
    """``count`` independent integer seeds spawned from ``seed`` (an int or a key tuple)."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(count)]


def child_rngs(seed: int | Sequence[int], count: int) -> list[np.random.Generator]:
    """``count`` independent numpy Generators spawned from ``seed``."""
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(count)]
