"""A per-user cache of generated tasks: build a task once, load it in milliseconds after.

Generating the default Reber task (25,000 strings, encoded and split) costs up to a second
of every command's start, the same work each time for the same parameters. The cache keeps
each generated task as one file named by a hash of everything the result depends on: the
task's parameters, the source of the generators (``nas/tasks``, ``models/data.py``,
``core/seeds.py``), numpy's and torch's versions (numpy's random streams and torch's file
format may change between releases) and ``FORMAT``. Editing a generator therefore never
serves a stale task.

Where: ``$SPARSE_NAS_CACHE/tasks`` if that variable is set, else
``$XDG_CACHE_HOME/sparse-rnn-nas/tasks`` (``~/.cache/sparse-rnn-nas/tasks``). Setting
``SPARSE_NAS_CACHE=off`` turns the cache off. Deleting the folder clears it. A file that
cannot be read (truncated, corrupt, another layout) is regenerated and replaced; a cache
that cannot be written only costs the regeneration, with one warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

import core.seeds
import models.data
from core.errors import SparseNASError
from core.files import atomic_write
from models.data import SequenceSet, Task

CACHE_ENV = "SPARSE_NAS_CACHE"
"""A folder for the project's cache, or ``off`` to turn it off."""
OFF_VALUES = ("off", "0", "false", "no")
FORMAT = 1
"""The cache file's layout; bump it when ``_to_payload`` changes."""
_SOURCES = (
    *sorted(Path(__file__).parent.glob("*.py")),
    Path(models.data.__file__),
    Path(core.seeds.__file__),  # the task's random streams come from its seed through these
)
_SPLITS = ("train", "valid", "test")


def cache_dir() -> Path | None:
    """The folder of cached tasks; None when ``SPARSE_NAS_CACHE=off`` (or without a home)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in OFF_VALUES:
        return None
    if value:
        return Path(value).expanduser() / "tasks"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG rule: a relative value is ignored
        return Path(xdg) / "sparse-rnn-nas" / "tasks"
    try:
        return Path.home() / ".cache" / "sparse-rnn-nas" / "tasks"
    except RuntimeError:  # no home folder to be found: nowhere to cache
        return None


def cache_key(params: Mapping[str, Any]) -> str:
    """A hash of ``params`` and of everything else a generated task depends on."""
    digest = hashlib.sha256()
    for source in _SOURCES:
        digest.update(source.read_bytes() + b"\0")
    meta = {"format": FORMAT, "numpy": np.__version__, "torch": torch.__version__}
    text = json.dumps({"params": dict(params), **meta}, sort_keys=True, default=repr)
    digest.update(text.encode())
    return digest.hexdigest()[:24]


def cache_path(params: Mapping[str, Any]) -> Path | None:
    """The file that caches the task of ``params`` (None with the cache off)."""
    folder = cache_dir()
    if folder is None:
        return None
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(params.get("task", "")))
    return folder / f"{name or 'task'}-{cache_key(params)}.pt"


def cached_task(params: Mapping[str, Any], build: Callable[[], Task]) -> Task:
    """The task ``build()`` returns for ``params``, from the cache when it holds it.

    ``params`` must name everything ``build`` depends on besides the generator code (task
    name, seed, size...). A loaded task equals the built one bit for bit.
    """
    path = cache_path(params)
    if path is None:
        return build()
    task = _load(path)
    if task is not None:
        return task
    task = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: torch.save(_to_payload(task), tmp))
    except (OSError, SparseNASError) as exc:
        message = f"task cache not written ({exc}); set {CACHE_ENV}=off to skip it"
        warnings.warn(message, stacklevel=3)
    return task


def _load(path: Path) -> Task | None:
    """The task cached in ``path``; None when it is missing or unreadable in any way."""
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, weights_only=True)
        return _from_payload(payload)
    except Exception:  # noqa: BLE001 - a damaged cache file of any kind is rebuilt, never fatal
        return None


def _to_payload(task: Task) -> dict[str, Any]:
    """A Task as a dict of tensors and plain values (what ``torch.load`` reads safely)."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "name": task.name,
        "n_classes": task.n_classes,
        "vocab_size": task.vocab_size,
        "n_features": task.n_features,
        "vocabulary": None if task.vocabulary is None else list(task.vocabulary),
        "class_names": None if task.class_names is None else list(task.class_names),
    }
    for split in _SPLITS:
        data = getattr(task, split)
        payload[split] = None if data is None else [data.inputs, data.lengths, data.labels]
    return payload


def _from_payload(payload: dict[str, Any]) -> Task:
    """The Task of ``_to_payload``; raises on any other content."""
    if payload["format"] != FORMAT:
        raise ValueError(f"cache format {payload['format']!r}, not {FORMAT}")
    splits: dict[str, SequenceSet | None] = {}
    for split in _SPLITS:
        part = payload[split]
        if part is None:
            splits[split] = None
            continue
        inputs, lengths, labels = part
        if not all(isinstance(t, torch.Tensor) for t in part):
            raise TypeError(f"split {split} holds something other than tensors")
        if not len(inputs) == len(lengths) == len(labels):
            raise ValueError(f"split {split} has tensors of different lengths")
        splits[split] = SequenceSet(inputs, lengths, labels)
    if splits["train"] is None or splits["test"] is None:
        raise ValueError("a cached task lacks its train or test split")

    def names(value: list[str] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(str(item) for item in value)

    return Task(
        name=str(payload["name"]),
        train=splits["train"],
        valid=splits["valid"],
        test=splits["test"],
        n_classes=int(payload["n_classes"]),
        vocab_size=payload["vocab_size"],
        n_features=payload["n_features"],
        vocabulary=names(payload["vocabulary"]),
        class_names=names(payload["class_names"]),
    )
