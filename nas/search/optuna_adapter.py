"""Optuna's internals, in one place: the search needs a few things Optuna has no public API
for, and each use here says why. Nothing else in the project touches a private name of
Optuna's.

- ``HeartbeatStorage``: Optuna's RDB storage whose every operation is retried while the
  database server cannot be reached, and whose stale-trial check also fails a trial that
  never sent a heartbeat (its private ``_get_stale_trial_ids``); the ages of running trials
  are read from its tables (its private models and session helper).
- A trial's storage id (``Trial._trial_id``) and a study's (``Study._study_id``), and the
  study's storage object (``Study._storage``): heartbeats are recorded by trial id through
  the storage, and Optuna wraps an RDB storage in a cache (``_backend``). A new trial is
  asked through the storage (``ask_new``: ``create_new_trial`` and ``Trial(study, id)``, as
  ``Study.ask`` does) when no trial is queued, skipping ``Study.ask``'s read of the queue.
- Writes Optuna makes one transaction each, joined (``set_user_attrs``,
  ``set_trials_user_attrs``, ``tell_with_attrs``, ``PrunerView``): a trial's attributes (or
  one attribute of a batch of trials), a trial's record with its final state, and an epoch's
  report with the pruner's rung, each in one session (the transactions themselves, on
  Optuna's private models and per-row helpers, are ``nas.search.joined_writes``), and the
  trial's own cached copy (``Trial._cached_frozen_trial``) updated as Optuna's setters do.
- The pruner's reads of the study (a whole read per report) shared by the reports of one
  epoch boundary (``PrunerView``): Optuna's pruners take a study and a trial whose system
  attributes are read lazily (``_LazyTrialSystemAttrs``).
"""

from __future__ import annotations

import copy
import functools
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, Trial, TrialState
from optuna.trial._trial import _LazyTrialSystemAttrs

from core.errors import SparseNASError
from nas.search.joined_writes import write_trials
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attrs_on_tell: dict[int, dict[str, Any]] = {}
        """User attributes ``tell_with_attrs`` writes with a trial's final state, by trial id."""

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        """Optuna's, and a finished trial's ``attrs_on_tell`` in the same transaction."""
        attrs = self.attrs_on_tell.get(trial_id)
        if not attrs or not state.is_finished():
            return super().set_trial_state_values(trial_id, state, values)
        write_trials(self, [trial_id], user_attrs=attrs, state=(state, values))
        return True

    def set_trials_user_attrs(self, trial_ids: Sequence[int], attrs: dict[str, Any]) -> None:
        """Several user attributes on several trials in one transaction
        (``set_trial_user_attr`` commits each)."""
        write_trials(self, trial_ids, user_attrs=attrs)

    def set_trial_report(
        self, trial_id: int, step: int, value: float, system_attrs: dict[str, Any]
    ) -> None:
        """An epoch's intermediate value and the pruner's system attributes in one
        transaction."""
        write_trials(self, [trial_id], report=(step, value), system_attrs=system_attrs)

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
    "set_trial_intermediate_value", "set_trial_report", "set_trial_state_values",
    "set_trial_system_attr", "set_trial_user_attr", "set_trials_user_attrs",
):  # fmt: skip
    setattr(HeartbeatStorage, _name, _retrying(getattr(HeartbeatStorage, _name)))


def set_user_attrs(study: optuna.Study, trial: Trial, attrs: dict[str, Any]) -> None:
    """``trial.set_user_attr`` for each of ``attrs``, in one storage transaction: another
    worker sees all of them or none. Raises ``UpdateFinishedTrialError``, writing none,
    when the trial is finished (another worker took it for lost)."""
    set_trials_user_attrs(study, [trial], attrs)


def tell_with_attrs(
    study: optuna.Study,
    trial: Trial,
    state: TrialState,
    values: Sequence[float] | None = None,
    attrs: dict[str, Any] | None = None,
) -> None:
    """``study.tell``, with ``attrs`` (the trial's record) written in the same transaction as
    its final state where the storage has transactions. A worker killed between two writes
    would leave a record on a trial still running, which the heartbeat check then fails and
    queues again while its record counts it as trained: one network trained twice.
    For a finished trial it raises, writing nothing, what ``study.tell`` raises: ValueError
    when the trial read as finished, ``UpdateFinishedTrialError`` when another worker
    finished it between that read and the write."""
    backend = rdb_backend(study)
    if not attrs or not isinstance(backend, HeartbeatStorage):
        set_user_attrs(study, trial, attrs or {})
        study.tell(trial, values, state=state)
        return
    backend.attrs_on_tell[trial_id(trial)] = attrs
    try:
        study.tell(trial, values, state=state)
    finally:
        backend.attrs_on_tell.pop(trial_id(trial), None)
    trial._cached_frozen_trial.user_attrs.update(attrs)  # as Trial.set_user_attr does


def set_trials_user_attrs(
    study: optuna.Study, trials: Sequence[Trial], attrs: dict[str, Any]
) -> None:
    """``set_user_attrs`` of the same ``attrs`` on each of ``trials``, all in one storage
    transaction. Raises ``UpdateFinishedTrialError``, writing none, when any of them is
    finished; storages without transactions write trial by trial (those before it keep
    theirs)."""
    if not attrs or not trials:
        return
    backend = rdb_backend(study)
    if not isinstance(backend, RDBStorage):  # in-memory and journal storages: one by one
        for trial in trials:
            for key, value in attrs.items():
                trial.set_user_attr(key, value)
        return
    ids = list(dict.fromkeys(trial_id(trial) for trial in trials))  # a row once per upsert
    if isinstance(backend, HeartbeatStorage):
        backend.set_trials_user_attrs(ids, attrs)
    else:
        write_trials(backend, ids, user_attrs=attrs)
    for trial in trials:
        trial._cached_frozen_trial.user_attrs.update(attrs)  # as Trial.set_user_attr does


class _BoundaryStorage:
    """The study's storage as the pruner sees it in one epoch boundary: the study read once
    (at the pruner's first look), the system attributes written since then by this boundary's
    reports laid over it, and the writes of the report being decided held back (``held``)
    until it is written; every other operation goes to the study's storage."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.storage = storage_of(study)
        self.read: dict[int, FrozenTrial] | None = None  # by trial id
        self.held: dict[str, Any] = {}
        self.study_ids: dict[str, int] = {}

    def trials(self) -> dict[int, FrozenTrial]:
        if self.read is None:
            self.read = {trial_id(t): t for t in self.study.get_trials(deepcopy=False)}
        return self.read

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Any = None
    ) -> list[FrozenTrial]:
        trials = sorted(self.trials().values(), key=lambda t: t.number)
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        trial = self.trials().get(trial_id)
        if trial is None:  # asked after the read (not by this worker: it reads anew then)
            return self.storage.get_trial_system_attrs(trial_id)
        return dict(trial.system_attrs)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.held[key] = value

    def get_study_id_from_name(self, study_name: str) -> int:
        if study_name not in self.study_ids:  # Hyperband makes a study per report
            self.study_ids[study_name] = self.storage.get_study_id_from_name(study_name)
        return self.study_ids[study_name]

    def written(self, trial_id: int, step: int, value: float) -> None:
        """The report and the held attributes are stored: lay them over the read (a copy of
        the trial, never the cached storage's own object)."""
        trial = (self.read or {}).get(trial_id)
        if trial is not None:
            trial = copy.copy(trial)
            trial.system_attrs = {**trial.system_attrs, **self.held}
            trial.intermediate_values = {**trial.intermediate_values, step: value}
            self.read[trial_id] = trial  # type: ignore[index]
        self.held = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


class PrunerView:
    """``trial.report`` and ``trial.should_prune`` with one read of the study per epoch
    boundary instead of two reads and two writes per report.

    Optuna's pruners read the trial's system attributes and the whole study at every
    report. Here the reports of one boundary share one read, each seeing the rungs the ones
    before it wrote (so a lone worker's decisions are Optuna's own), and each report is one
    transaction: its value and its rung. Another worker's rungs written during the boundary
    are seen at the next one. A boundary ends when a trial reports again, or at
    ``new_boundary`` (the scheduler's ask and tell)."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.reported: set[int] = set()
        self.storage: _BoundaryStorage | None = None
        self.view: optuna.Study | None = None

    def new_boundary(self) -> None:
        self.reported.clear()
        if self.storage is not None:
            self.storage.read = None

    def report(self, trial: Trial, value: float, step: int, consult: bool = True) -> bool:
        """Store ``value`` as the trial's epoch ``step`` and return whether the study's
        pruner stops it (not asked, so False, unless ``consult``). Raises
        ``UpdateFinishedTrialError`` (storing nothing) when the trial is finished (another
        worker took it for lost)."""
        if trial.number in self.reported:
            self.new_boundary()
        self.reported.add(trial.number)
        backend = rdb_backend(self.study)
        frozen = trial._cached_frozen_trial
        if not isinstance(backend, RDBStorage) or step in frozen.intermediate_values:
            trial.report(value, step)  # Optuna's own way (and its warning for a repeat)
            return consult and trial.should_prune()
        if self.storage is None:
            self.storage = _BoundaryStorage(self.study)
            self.view = optuna.Study(
                self.study.study_name, self.storage,  # type: ignore[arg-type]
                sampler=self.study.sampler, pruner=self.study.pruner,
            )  # fmt: skip
        storage, view = self.storage, self.view
        assert view is not None
        view.pruner = self.study.pruner
        value, step = float(value), int(step)
        latest = copy.copy(frozen)
        latest.intermediate_values = {**frozen.intermediate_values, step: value}
        latest.system_attrs = _LazyTrialSystemAttrs(trial_id(trial), storage)
        try:
            prune = consult and self.study.pruner.prune(view, latest)
            if isinstance(backend, HeartbeatStorage):
                backend.set_trial_report(trial_id(trial), step, value, storage.held)
            else:
                write_trials(
                    backend, [trial_id(trial)], report=(step, value), system_attrs=storage.held
                )
        except BaseException:
            storage.held = {}  # nothing was stored
            raise
        storage.written(trial_id(trial), step, value)
        frozen.intermediate_values[step] = value  # as Trial.report does
        return prune


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


def ask_new(study: optuna.Study) -> Trial:
    """A new trial, as ``Study.ask`` makes one when no trial is queued, without its look for a
    queued one first: that look reads every unfinished trial of the study again (Optuna's
    cache re-reads them all), so asking a stack of networks read the stack's trials once per
    ask. For a caller whose fresh read of the study shows no queued trial; one another worker
    queues meanwhile waits for the next read, as it would for a worker that asked first."""
    return Trial(study, storage_of(study).create_new_trial(study_id(study)))


def record_heartbeat(study: optuna.Study, trial: Trial) -> None:
    """A trial's sign of life, recorded now (Optuna records heartbeats only inside
    ``optimize``; the search asks and tells by hand)."""
    storage_of(study).record_heartbeat(trial_id(trial))


def fail_stale_trials(study: optuna.Study) -> None:
    """Optuna's own stale-trial check, without its "experimental" warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
