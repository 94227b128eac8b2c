"""The study's storage: opening it, heartbeats of running trials, and loading or creating
the study a spec describes.

A worker killed hard (SIGKILL, power loss) cannot tell its trials: while training, every
worker records a heartbeat of its open trials in the storage (Optuna's RDB heartbeat), and
every round of every worker first fails the trials whose heartbeat is older than
``HEARTBEAT_GRACE`` seconds (status ``lost``; they do not count toward the budget) and queues
their candidates again (``requeue_lost_trial``).
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, Trial

from graphs.errors import SparseNASError
from nas.search.results import PLAN_KEYS, study_config
from nas.search.spec import IDENTITY, SearchSpec

HEARTBEAT_INTERVAL = 20
"""Seconds between heartbeats of the trials a worker is training."""
HEARTBEAT_GRACE = 120
"""Seconds without a heartbeat after which a running trial's worker is taken for dead."""


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna RDB storage; any failure to open it is a SparseNASError.

    A SQLite file gets its folder created and is opened in WAL mode with ``synchronous =
    NORMAL``: every user attribute and every reported epoch is a transaction, and this makes
    each one a fraction of a millisecond instead of a disk flush (a crash of the process
    loses nothing; a power cut may lose the last transactions). Workers on one machine can
    share the file.
    """
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///") and "?" not in url:
        path = Path(url[len("sqlite:///") :])
        if str(path) not in ("", ":memory:"):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SparseNASError(
                    f"cannot open storage {url!r}: cannot create {path.parent} "
                    f"({exc.strerror or exc})"
                ) from None
            engine_kwargs["creator"] = functools.partial(_connect_sqlite, str(path))
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=HEARTBEAT_GRACE,
                heartbeat_stale_trial_callback=requeue_lost_trial,
            )
    except Exception as exc:  # sqlalchemy raises many kinds; all mean "cannot open"
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise SparseNASError(f"cannot open storage {url!r} ({reason})") from None


def requeue_lost_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat-stale callback: the candidate of a trial whose worker died is queued again
    with how it was chosen (the failed trial itself stays, as ``lost``)."""
    plan = {k: v for k, v in trial.user_attrs.items() if k in PLAN_KEYS and k != "round"}
    if trial.params:
        study.enqueue_trial(trial.params, user_attrs=plan)


@contextmanager
def heartbeats(storage: optuna.storages.BaseStorage, trials: list[Trial]) -> Iterator[None]:
    """Record the trials' heartbeats every ``HEARTBEAT_INTERVAL`` seconds while the body runs
    (a background thread, so a long epoch never looks like a dead worker)."""
    if not callable(getattr(storage, "record_heartbeat", None)) or not trials:
        yield  # a storage without heartbeats (Optuna wraps the RDB storage in a cache)
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            for trial in trials:
                with suppress(Exception):  # a missed beat is retried next interval
                    storage.record_heartbeat(trial._trial_id)  # Optuna has no public id
            if stop.wait(HEARTBEAT_INTERVAL):
                return

    thread = threading.Thread(target=beat, name="trial-heartbeats", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _connect_sqlite(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=60.0, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def open_study(spec: SearchSpec) -> optuna.Study:
    """Load the study ``spec.study`` or create it; an existing study must have been created
    by a search with the same ``IDENTITY`` settings (checked before anything is written)."""
    storage = open_storage(spec.storage)  # type: ignore[arg-type]
    try:
        study = optuna.load_study(study_name=spec.study, storage=storage)
    except KeyError:
        study = None
    if study is not None:
        _check_resumable(study, spec)
        return study
    study = optuna.create_study(
        storage=storage, study_name=spec.study, directions=spec.directions, load_if_exists=True
    )
    if not study_config(study):
        study.set_user_attr("search_config", spec.identity())
    _check_resumable(study, spec)
    return study


def _check_resumable(study: optuna.Study, spec: SearchSpec) -> None:
    config = study_config(study)
    if not config:
        raise SparseNASError(
            f"study {spec.study!r} in {spec.storage} was not created by `nas search`; "
            "choose another --study"
        )
    wanted = spec.identity()
    differ = [name for name in IDENTITY if config.get(name) != wanted[name]]
    if differ:
        shown = ", ".join(f"{n}={config.get(n)!r} (now {wanted[n]!r})" for n in differ)
        raise SparseNASError(
            f"study {spec.study!r} in {spec.storage} was created with {shown}; "
            "run it with the same settings to resume, or choose another --study"
        )
