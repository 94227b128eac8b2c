"""Real processes for the search tests: `nas search` commands started, killed and waited for,
a tiny CSV task, and a look into the study they share."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import optuna
import pandas as pd
import sqlalchemy

from nas.search.records import counts_toward_budget

ROOT = Path(__file__).resolve().parents[1]
# Tiny networks and a tiny task: every network trains in well under a second.
TINY = ("--epochs", "1", "--nodes", "10:12", "--strategy", "random")


def tiny_csv(path: Path, rows: int = 60, longest: int = 8) -> Path:
    """``rows`` strings of a/b labelled by the parity of their a's: a task that trains in a
    blink (more and longer strings: a round that lasts long enough to be killed in)."""
    rng = random.Random(0)
    table = []
    for _ in range(rows):
        text = "".join(rng.choice("ab") for _ in range(rng.randint(3, longest)))
        table.append({"sequence": text, "label": text.count("a") % 2})
    pd.DataFrame(table).to_csv(path, index=False)
    return path


def env() -> dict[str, str]:
    """This checkout first on the path, one thread per process."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


def start(*args: str, cwd: Path) -> subprocess.Popen:
    """``nas ARGS`` as a process of its own session (a signal reaches it and its workers)."""
    command = [sys.executable, "-m", "nas.cli", *args]
    return subprocess.Popen(
        command, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run(*args: str, cwd: Path, timeout: float = 300) -> tuple[int, str, str]:
    return finish(start(*args, cwd=cwd), timeout)


def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process alone (SIGKILL: it dies at once, its workers live on)."""
    os.kill(proc.pid, sig)


def wait_until(check: Callable[[], bool], timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def trials(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    """The study's trials ([] while it does not exist yet)."""
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    except KeyError:
        return []
    except Exception:  # noqa: BLE001 (the schema is being created right now)
        return []


def started(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    """Trials whose network started training (the budget's unit)."""
    return [t for t in trials(storage, study) if counts_toward_budget(t)]


def running(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    state = optuna.trial.TrialState.RUNNING
    return [t for t in trials(storage, study) if t.state == state]


def running_in_file(path: Path) -> bool:
    """Whether the SQLite study file holds a running trial, read straight from the file in a
    few milliseconds: ``running`` opens an Optuna storage, whose schema check can outlast a
    tiny search's whole training on a loaded machine (CI saw a search end between polls)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)) as db:
            row = db.execute("SELECT 1 FROM trials WHERE state = 'RUNNING' LIMIT 1").fetchone()
    except sqlite3.Error:  # not created yet, or its schema being written this instant
        return False
    return row is not None


FINISHED_IN_SQL = """
    SELECT t.number, t.state, v.value FROM trials t
    LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0
    WHERE t.state IN ('COMPLETE', 'PRUNED', 'FAIL')
"""


class DirectReads:
    """Polls of a study's tables through one open connection pool, in milliseconds: ``trials``
    opens an Optuna storage (and checks its schema) at every call, which on a fast machine can
    outlast a tiny search (CI saw a PostgreSQL run finish all its networks between two
    polls). ``close`` before stopping the server."""

    def __init__(self, url: str) -> None:
        self.engine = sqlalchemy.create_engine(url)

    def started(self) -> int:
        """Networks that started training (a ``train_seed`` attribute); 0 before the schema."""
        query = "SELECT count(*) FROM trial_user_attributes WHERE key = 'train_seed'"
        try:
            with self.engine.connect() as connection:
                return int(connection.execute(sqlalchemy.text(query)).scalar_one())
        except sqlalchemy.exc.SQLAlchemyError:
            return 0

    def finished(self) -> dict[int, tuple[str, float | None]]:
        """Each finished trial's state and value, by number."""
        with self.engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text(FINISHED_IN_SQL)).all()
        return {number: (state, value) for number, state, value in rows}

    def close(self) -> None:
        self.engine.dispose()
