"""Transactions on Optuna's RDB tables that join what Optuna writes one transaction each (its
private ``models``, session helper and ``_..._without_commit`` per-row helpers, as
``nas.search.optuna_adapter`` explains): another worker sees all of a write or none of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from optuna.storages import RDBStorage
from optuna.trial import TrialState


def write_trials(
    storage: RDBStorage,
    trial_ids: Sequence[int],
    *,
    user_attrs: dict[str, Any] | None = None,
    system_attrs: dict[str, Any] | None = None,
    report: tuple[int, float] | None = None,
    state: tuple[TrialState, Sequence[float] | None] | None = None,
) -> None:
    """One transaction of what Optuna writes one transaction each: the same attributes on
    every trial of ``trial_ids`` (and a ``report``, the intermediate value of the one trial,
    through Optuna's own per-row helper, or a final ``state`` and its values, as Optuna's
    ``set_trial_state_values`` sets them). The trials are checked in one read first
    (``UpdateFinishedTrialError`` when any is finished, writing nothing), then each kind of
    attribute is one upsert of all its rows (Optuna checks the trial again for every row)."""
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(storage.scoped_session, True) as session:
        finished = None
        if report is not None:  # checks the trial as Optuna does
            (one,) = trial_ids
            storage._set_trial_intermediate_value_without_commit(session, one, *report)
        elif state is not None:  # the row locked until the commit, as Optuna locks it
            (one,) = trial_ids
            finished = models.TrialModel.find_or_raise_by_id(one, session, for_update=True)
            storage.check_trial_is_updatable(one, finished.state)
        else:
            states = dict(
                session.query(models.TrialModel.trial_id, models.TrialModel.state)
                .filter(models.TrialModel.trial_id.in_(list(trial_ids)))
                .all()
            )
            for trial_id in trial_ids:
                if trial_id not in states:
                    raise KeyError(models.NOT_FOUND_MSG)
                storage.check_trial_is_updatable(trial_id, states[trial_id])
        for model, attrs in (
            (models.TrialUserAttributeModel, user_attrs),
            (models.TrialSystemAttributeModel, system_attrs),
        ):
            if attrs:
                _upsert_attrs(storage, session, model, trial_ids, attrs)
        if finished is not None and state is not None:
            final, values = state
            for objective, value in enumerate(values or []):
                storage._set_trial_value_without_commit(session, finished, objective, value)
            finished.state = final
            finished.datetime_complete = datetime.now()


def _upsert_attrs(
    storage: RDBStorage, session: Any, model: Any, trial_ids: Sequence[int], attrs: dict[str, Any]
) -> None:
    """Insert or replace the trials' attribute rows in one statement where the database has an
    upsert (SQLite, PostgreSQL), as Optuna's per-row helper writes each; elsewhere that
    helper, row by row. Integrity errors (a row another process wrote the same instant) are
    ignored by the caller's session, as Optuna's setters ignore them."""
    dialect = storage.engine.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 24, 0):
        from sqlalchemy.dialects.sqlite import insert
    else:
        for trial_id in trial_ids:
            for key, value in attrs.items():
                storage._set_trial_attr_without_commit(session, model, trial_id, key, value)
        return
    rows = [
        {"trial_id": trial_id, "key": key, "value_json": json.dumps(value)}
        for trial_id in trial_ids
        for key, value in attrs.items()
    ]
    statement = insert(model).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[model.trial_id, model.key],
            set_={"value_json": statement.excluded.value_json},
        )
    )
