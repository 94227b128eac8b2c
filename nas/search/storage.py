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
import random
import sqlite3
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, Trial

from core.errors import SparseNASError
from core.status import TrialStatus
from nas.search.optuna_adapter import (
    HeartbeatStorage,
    rdb_backend,
    study_id,
    trial_id,
)
from nas.search.records import trial_status
from nas.search.results import PLAN_KEYS, study_config
from nas.search.spec import HEARTBEAT_GRACE, IDENTITY, IDENTITY_DEFAULTS, SearchSpec
from nas.search.study_file import check_study_file
from nas.search.urls import shown_url, sqlite_path, unopenable

OPEN_ATTEMPTS = 8
"""Attempts at opening a storage whose schema another process is creating at the same time."""
DRIVER_HINT = "pip install 'sparse-rnn-nas[postgres]'"
_OPENED: weakref.WeakSet[RDBStorage] = weakref.WeakSet()


def heartbeat_interval(grace: float) -> float:
    """Seconds between heartbeats for a grace period: six beats fit in it, so a busy worker
    (or a short network outage) never looks dead."""
    return grace / 6


def open_storage(url: str, grace: float = HEARTBEAT_GRACE) -> RDBStorage:
    """An Optuna RDB storage whose running trials are failed as lost after ``grace`` seconds
    without a heartbeat; any failure to open it is a SparseNASError.

    ``postgresql://`` means the psycopg 3 driver (``postgresql+psycopg://``), the one the
    ``postgres`` extra installs. A SQLite file gets its folder created and is opened in WAL
    mode with ``synchronous = NORMAL``: every user attribute and every reported epoch is a
    transaction, and this makes each one a fraction of a millisecond instead of a disk flush
    (a crash of the process loses nothing; a power cut may lose the last transactions).
    Workers on one machine can share the file. An existing empty file is refused (it is no
    study, and taking it for a new one would retrain everything). Creating the schema is safe
    to race: two processes starting on a fresh database retry until one of them has made it.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    shown = shown_url(url)  # every message shows the URL without its password
    engine_kwargs: dict[str, Any] = {}
    path = sqlite_path(url)
    if path is not None:
        _check_sqlite_file(url, path)
        engine_kwargs["creator"] = functools.partial(_connect_sqlite, str(path))
    elif url.startswith("postgresql"):
        engine_kwargs["pool_pre_ping"] = True  # a restarted server leaves dead connections
    for attempt in range(OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = HeartbeatStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval(grace),  # type: ignore[arg-type]
                    grace_period=grace,  # type: ignore[arg-type]
                    heartbeat_stale_trial_callback=requeue_lost_trial,
                )
                _OPENED.add(storage)
                return storage
        except ImportError as exc:
            missing = getattr(exc.__cause__, "name", None) or getattr(exc, "name", None)
            driver = f" ({missing})" if missing else ""
            raise SparseNASError(
                f"cannot open storage {shown!r}: its database driver is not installed{driver}; "
                f"for PostgreSQL run {DRIVER_HINT}"
            ) from None
        except Exception as exc:  # sqlalchemy raises many kinds; all mean "cannot open"
            if _schema_race(exc) and attempt + 1 < OPEN_ATTEMPTS:
                time.sleep(0.2 + random.random() * 0.5)  # another process is creating it
                continue
            raise unopenable(url, exc) from None
    raise AssertionError("unreachable")  # the last attempt returns or raises


def close_storages() -> None:
    """Close the connections of every storage ``open_storage`` opened (they reopen if used
    again). A SQLite file's last connection to close folds its write-ahead log back into the
    file, which the garbage collector would otherwise do only if it reached them."""
    for storage in list(_OPENED):
        storage.engine.dispose()


def _check_sqlite_file(url: str, path: Path) -> None:
    shown = shown_url(url)
    check_study_file(shown, path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SparseNASError(
            f"cannot open storage {shown!r}: cannot create {path.parent} ({exc.strerror or exc})"
        ) from None


def _schema_race(exc: BaseException) -> bool:
    """Whether opening failed because another process was creating the same tables (a
    unique violation on SQLite's ``alembic_version`` or PostgreSQL's catalog, a locked
    SQLite file, or SQLite's "table ... already exists" when both saw no tables)."""
    import sqlalchemy.exc

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.ProgrammingError):
            return True
        if isinstance(seen, sqlalchemy.exc.OperationalError) and (
            "locked" in str(seen) or "already exists" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def seconds_to_takeover(study: optuna.Study, own: set[int]) -> dict[int, float]:
    """For each running trial of another worker (trial number -> seconds): how long until
    it is taken for lost if its worker sends no further heartbeat (negative: overdue)."""
    backend = rdb_backend(study)
    if not isinstance(backend, HeartbeatStorage):
        return {}
    grace = backend.grace_period or 0
    ages = backend.running_ages(study_id(study))
    numbers = {trial_id(t): t.number for t in study.get_trials(deepcopy=False)}
    return {
        numbers[i]: grace - age for i, age in ages.items() if i in numbers and numbers[i] not in own
    }


def requeue_lost_trial(study: optuna.Study, trial: FrozenTrial) -> None:
    """Heartbeat-stale callback: the candidate of a trial whose worker died is queued again
    with how it was chosen (the failed trial itself stays, as ``lost``). A trial that died
    before its graph was recorded is not: its round never began, so the next round (seeded
    by the round's index) draws that candidate again, and a queued copy would train twice."""
    plan = {k: v for k, v in trial.user_attrs.items() if k in PLAN_KEYS and k != "round"}
    lost = trial_status(trial) == TrialStatus.LOST  # not one whose record says it was told
    if trial.params and "edge_list" in trial.user_attrs and lost:
        study.enqueue_trial(trial.params, user_attrs=plan)


@contextmanager
def heartbeats(storage: optuna.storages.BaseStorage, trials: list[Trial]) -> Iterator[None]:
    """Record the trials' heartbeats every ``heartbeat_interval(grace)`` seconds while the
    body runs (a background thread, so a long epoch never looks like a dead worker). The
    body may add and remove trials: each beat reads the list anew."""
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    if not interval:
        yield  # a storage without heartbeats
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            for trial in list(trials):
                with suppress(Exception):  # a missed beat is retried next interval
                    storage.record_heartbeat(trial_id(trial))
            if stop.wait(interval):
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
    storage = open_storage(spec.storage, spec.grace)  # type: ignore[arg-type]
    try:
        study = optuna.load_study(study_name=spec.study, storage=storage)
    except KeyError:
        study = None
    if study is not None:
        _await_config(study)
        if not study_config(study) and _orphaned(study, spec):
            study.set_user_attr("search_config", spec.identity())
        _check_resumable(study, spec)
        return study
    study = optuna.create_study(
        storage=storage, study_name=spec.study, directions=spec.directions, load_if_exists=True
    )
    if not study_config(study):
        study.set_user_attr("search_config", spec.identity())
    _check_resumable(study, spec)
    return study


CONFIG_WAIT_SECONDS = 5.0
"""How long a study without a search config may be one another command is creating."""


def _await_config(study: optuna.Study) -> None:
    """A command that created the study writes its config right after; one that found the
    study in between waits for it (a foreign study still has none afterwards)."""
    deadline = time.monotonic() + CONFIG_WAIT_SECONDS
    while not study_config(study) and time.monotonic() < deadline:
        time.sleep(0.2)


def _orphaned(study: optuna.Study, spec: SearchSpec) -> bool:
    """Whether a study without search settings is one whose creating command died between
    creating it and writing them: it has no trial and the directions ``spec`` asks for, so
    nothing in it can belong to anyone else, and this command takes it as new."""
    directions = [d.name.lower() for d in study.directions]
    return directions == spec.directions and not study.get_trials(deepcopy=False)


def _check_resumable(study: optuna.Study, spec: SearchSpec) -> None:
    config = study_config(study)
    if not config:
        raise SparseNASError(
            f"study {spec.study!r} in {shown_url(spec.storage)} was not created by `nas search`; "
            "choose another --study"
        )
    wanted = spec.identity()
    config = {**IDENTITY_DEFAULTS, **config}  # a study made before a setting existed
    differ = [name for name in IDENTITY if config.get(name) != wanted[name]]
    if differ:
        shown = ", ".join(f"{n}={config.get(n)!r} (now {wanted[n]!r})" for n in differ)
        raise SparseNASError(
            f"study {spec.study!r} in {shown_url(spec.storage)} was created with {shown}; "
            "run it with the same settings to resume, or choose another --study"
        )
