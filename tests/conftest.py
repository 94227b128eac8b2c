"""Shared fixtures: tiny, seeded data so model tests run in milliseconds."""

import pytest
import torch

from models.data import SequenceSet, Task

# Tiny models gain nothing from a second thread, and two processes each spinning two OpenMP
# threads on a 2-core machine slow each other down by an order of magnitude.
torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _task_cache(tmp_path_factory):
    """The tests' generated tasks are cached in a temporary folder of this session, never in
    the user's cache (tests that test the cache point it at their own ``tmp_path``)."""
    import os

    from nas.tasks.cache import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("task-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


def _contains_token_one(count: int, seed: int) -> SequenceSet:
    """Label 1 when token 1 occurs in the sequence: learnable in a few epochs."""
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, 7, (count,), generator=generator)
    inputs = torch.randint(1, 6, (count, 6), generator=generator)
    inputs[torch.arange(6)[None, :] >= lengths[:, None]] = 0
    labels = (inputs == 1).any(dim=1).long()
    return SequenceSet(inputs, lengths, labels)


@pytest.fixture
def tiny_task() -> Task:
    return Task(
        name="tiny",
        train=_contains_token_one(96, seed=0),
        valid=_contains_token_one(32, seed=2),
        test=_contains_token_one(48, seed=1),
        n_classes=2,
        vocab_size=6,
    )


@pytest.fixture
def small_reber(monkeypatch):
    """``small_reber(n)``: every command and search builds its Reber task with ``n`` strings
    (whatever size it asks for), so a run trains in a second or two."""
    import importlib

    import nas.tasks

    real = nas.tasks.load_task

    def shrink(n_strings: int) -> None:
        def small(spec, seed=0, *_args, **_kwargs):
            return real(spec, seed, n_strings)

        # nas.tasks itself for the commands that import load_task when they run
        for module in ("nas.tasks", "nas.search.loop"):
            monkeypatch.setattr(importlib.import_module(module), "load_task", small)

    return shrink
