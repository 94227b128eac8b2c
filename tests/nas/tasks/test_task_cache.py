"""The task cache: a cached task equals the generated one bit for bit, a damaged file is
rebuilt, the cache can be moved or turned off, and each set of parameters has its own file."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import nas.tasks
from models.data import SequenceSet, Task
from nas.tasks import load_task
from nas.tasks.cache import CACHE_ENV, cache_dir, cache_path, cached_task
from nas.tasks.digits import make_digits_task
from nas.tasks.embedded_reber import make_embedded_reber_task
from nas.tasks.reber import make_reber_task
from nas.tasks.reber_thesis import make_reber_thesis_task


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder for one test (the session's shared one is in tests/conftest.py)."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    return tmp_path / "tasks"


@pytest.fixture
def builds(monkeypatch):
    """Counts the tasks load_task generates (rather than reads from the cache)."""
    count = {"n": 0}
    real = nas.tasks._generate

    def counted(*args):
        count["n"] += 1
        return real(*args)

    monkeypatch.setattr(nas.tasks, "_generate", counted)
    return count


def assert_identical(a: Task, b: Task) -> None:
    """Same names, sizes, vocabulary and classes; every tensor equal in dtype, shape, values."""
    for field in dataclasses.fields(Task):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if isinstance(left, SequenceSet):
            for part in ("inputs", "lengths", "labels"):
                x, y = getattr(left, part), getattr(right, part)
                assert x.dtype == y.dtype and x.shape == y.shape, (field.name, part)
                assert torch.equal(x, y), (field.name, part)
        else:
            assert left == right and type(left) is type(right), field.name


MAKERS = {
    "reber": lambda: make_reber_task(n_strings=200, seed=3),
    "reber-thesis": lambda: make_reber_thesis_task(n_strings=200, seed=3),
    "embedded-reber": lambda: make_embedded_reber_task(n_strings=200, seed=3),
    "digits": lambda: make_digits_task(seed=3),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_cached_task_equals_the_generated_one(name, cache, builds):
    generated = MAKERS[name]()
    first = load_task(name, seed=3, n_strings=200)  # generated and written
    assert builds["n"] == 1 and len(list(cache.iterdir())) == 1
    second = load_task(name, seed=3, n_strings=200)  # read back
    assert builds["n"] == 1
    assert_identical(first, generated)
    assert_identical(second, generated)
    assert second.valid is not None and len(second.valid) > 0


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "other content"])
def test_a_damaged_cache_file_is_rebuilt(damage, cache, builds):
    task = load_task("reber", seed=1, n_strings=100)
    (path,) = cache.iterdir()
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a cache file" * 50)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        torch.save({"format": 1, "train": [torch.zeros(3)]}, path)  # readable, wrong layout
    rebuilt = load_task("reber", seed=1, n_strings=100)
    assert builds["n"] == 2
    assert_identical(rebuilt, task)
    assert_identical(load_task("reber", seed=1, n_strings=100), task)  # the file was replaced
    assert builds["n"] == 2


def test_off_turns_the_cache_off(tmp_path, monkeypatch, builds):
    monkeypatch.setenv(CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() is None and cache_path({"task": "reber"}) is None
    first = load_task("reber", seed=0, n_strings=100)
    assert_identical(load_task("reber", seed=0, n_strings=100), first)
    assert builds["n"] == 2 and not any(tmp_path.iterdir())


def test_the_cache_lives_under_xdg_cache_home_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "sparse-rnn-nas" / "tasks"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the XDG rules say
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "sparse-rnn-nas" / "tasks"


def test_different_parameters_have_different_entries(cache, builds):
    tasks = [
        load_task("reber", seed=0, n_strings=100),
        load_task("reber", seed=1, n_strings=100),
        load_task("reber", seed=0, n_strings=120),
        load_task("reber-thesis", seed=0, n_strings=100),
    ]
    assert builds["n"] == 4 and len(list(cache.iterdir())) == 4
    assert len(tasks[2].train) > len(tasks[0].train)
    assert not torch.equal(tasks[0].train.labels[:50], tasks[1].train.labels[:50])
    again = [load_task("reber", seed=s, n_strings=100) for s in (0, 1)]
    assert builds["n"] == 4
    assert_identical(again[0], tasks[0])
    assert_identical(again[1], tasks[1])


def test_the_key_covers_the_generator_code(cache, tmp_path, monkeypatch):
    """Editing a generator's source must never serve the task of the old code."""
    import nas.tasks.cache as module

    copies = []
    for index, source in enumerate(module._SOURCES):
        copies.append(tmp_path / f"{index}_{source.name}")
        copies[-1].write_bytes(source.read_bytes())
    params = {"task": "reber", "seed": 0, "n_strings": 100}
    real = cache_path(params)
    monkeypatch.setattr(module, "_SOURCES", tuple(copies))
    assert cache_path(params) == real  # the same code: the same entry
    with copies[-1].open("a") as file:
        file.write("# edited\n")
    assert cache_path(params) != real


def test_an_unwritable_cache_warns_and_still_gives_the_task(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(CACHE_ENV, str(blocker))
    with pytest.warns(UserWarning, match="task cache not written"):
        task = cached_task({"task": "x"}, lambda: make_reber_task(n_strings=40, seed=0))
    assert_identical(task, make_reber_task(n_strings=40, seed=0))
