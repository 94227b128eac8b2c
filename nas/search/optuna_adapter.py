"""Optuna's internals, in one place: the search needs a few things Optuna has no public API
for, and each use here says why. Nothing else in the project touches a private name of
Optuna's.

- ``HeartbeatStorage``: Optuna's RDB storage whose every operation is retried while the
  database server cannot be reached, and whose stale-trial check also fails a trial that
  never sent a heartbeat (its private ``_get_stale_trial_ids``); the ages of running trials
  are read from its tables (its private models and session helper).
- A trial's storage id (``Trial._trial_id``) and a study's (``Study._study_id``), and the
  study's storage object (``Study._storage``): heartbeats are recorded by trial id through
  the storage, and Optuna wraps an RDB storage in a cache (``_backend``).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, Trial, TrialState

from core.errors import SparseNASError
from nas.search.urls import redacted, shown_url

RETRY_SECONDS = 120
"""How long a storage operation is retried while the database server cannot be reached."""
RETRY_PAUSE = 2.0
"""Seconds between those retries."""


class StorageUnreachable(SparseNASError):
    """The database server could not be reached for ``RETRY_SECONDS``."""


def _connection_lost(exc: BaseException) -> bool:
    """Whether a storage error means the database server cannot be reached (as opposed to
    bad data): those are retried for ``RETRY_SECONDS``."""
    import sqlalchemy.exc

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlalchemy.exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
            return "locked" not in str(seen)
        seen = seen.__cause__ or seen.__context__
    return False


def _retrying(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: HeartbeatStorage, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + RETRY_SECONDS
        warned = False
        while True:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                if not _connection_lost(exc):
                    raise
                if time.monotonic() > deadline:
                    reason = redacted(" ".join(str(exc.__cause__ or exc).split()), self.url)[:160]
                    raise StorageUnreachable(
                        f"lost the storage {shown_url(self.url)!r} for more than {RETRY_SECONDS} s "
                        f"({reason}); finished trials are kept: run the same command again "
                        "once the server is back"
                    ) from None
                if not warned and threading.current_thread() is threading.main_thread():
                    print(
                        f"storage unreachable, retrying for up to {RETRY_SECONDS} s",
                        file=sys.stderr,
                        flush=True,
                    )
                    warned = True
                time.sleep(RETRY_PAUSE)

    return call


class HeartbeatStorage(RDBStorage):
    """Optuna's RDB storage, with two additions for workers that die or lose the server:

    - a running trial with no heartbeat at all (its worker died between asking for it and
      its first heartbeat) is stale too once it started ``grace_period`` seconds ago (Optuna
      only fails trials that have a heartbeat);
    - every operation is retried while the server cannot be reached (a restart, a network
      outage) for up to ``RETRY_SECONDS``, then raises ``StorageUnreachable``.
    """

    def running_ages(self, study_id: int) -> dict[int, float]:
        """Seconds since each running trial's last sign of life (its heartbeat or, before
        the first, its start), by trial id."""
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
        from sqlalchemy import func, orm

        ages = {}
        with _create_scoped_session(self.scoped_session, True) as session:
            server_now = session.execute(func.now()).scalar().replace(tzinfo=None)
            running = (
                session.query(models.TrialModel)
                .options(orm.selectinload(models.TrialModel.heartbeats))
                .filter(models.TrialModel.state == TrialState.RUNNING)
                .filter(models.TrialModel.study_id == study_id)
                .all()
            )
            for trial in running:
                if trial.heartbeats:  # recorded with the server's clock
                    age = server_now - trial.heartbeats[0].heartbeat
                elif trial.datetime_start is not None:  # the asking worker's clock
                    age = datetime.now() - trial.datetime_start
                else:
                    continue
                ages[trial.trial_id] = age.total_seconds()
        return ages

    # Optuna fails only trials that have a heartbeat (its private hook, overridden): ours also
    # fails a trial whose worker died before its first beat.
    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        grace = self.grace_period or 2 * (self.heartbeat_interval or 0)
        return [i for i, age in self.running_ages(study_id).items() if age > grace]


# Every storage call the search makes, wrapped in the retry: the public ones and the private
# ones Optuna's Study and its cached storage call on the RDB storage underneath.
for _name in (
    "_create_new_trial", "_get_best_trial_id", "_get_trials", "_set_trial_param",
    "create_new_study", "delete_study", "get_all_studies", "get_study_directions",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_system_attrs",
    "get_study_user_attrs", "get_trial", "get_trial_id_from_study_id_trial_number",
    "record_heartbeat", "running_ages", "set_study_system_attr", "set_study_user_attr",
    "set_trial_intermediate_value", "set_trial_state_values", "set_trial_system_attr",
    "set_trial_user_attr",
):  # fmt: skip
    setattr(HeartbeatStorage, _name, _retrying(getattr(HeartbeatStorage, _name)))


def storage_of(study: optuna.Study) -> BaseStorage:
    """The study's own storage object (Optuna has no public accessor): heartbeats must go
    through the very storage the study writes with."""
    return study._storage


def rdb_backend(study: optuna.Study) -> BaseStorage:
    """The storage under Optuna's cache wrapper (``_CachedStorage._backend``), where our
    ``HeartbeatStorage`` methods live."""
    storage = storage_of(study)
    return getattr(storage, "_backend", storage)


def study_id(study: optuna.Study) -> int:
    """The study's id in its storage (no public accessor)."""
    return study._study_id


def trial_id(trial: Trial | FrozenTrial) -> int:
    """The trial's id in its storage: what ``record_heartbeat`` takes (no public accessor)."""
    return trial._trial_id


def finished_in_storage(study: optuna.Study, trial: Trial) -> bool:
    """Whether the storage holds ``trial`` as finished (another worker may have failed it as
    lost): a ``Trial`` object does not know (no public read of its stored state)."""
    return storage_of(study).get_trial(trial_id(trial)).state.is_finished()


def record_heartbeat(study: optuna.Study, trial: Trial) -> None:
    """A trial's sign of life, recorded now (Optuna records heartbeats only inside
    ``optimize``; the search asks and tells by hand)."""
    storage_of(study).record_heartbeat(trial_id(trial))


def fail_stale_trials(study: optuna.Study) -> None:
    """Optuna's own stale-trial check, without its "experimental" warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
