"""The study file check every command shares: an empty or junk ``study.db`` is refused, an
old one at once, one that another process is creating right now once it had its moment."""

import os
import sqlite3

import pytest

import nas.search.study_file as study_file
from core.errors import SparseNASError
from nas.search.study_file import check_storage_file, check_study_file


def _age(path, seconds: float) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime - seconds, stat.st_mtime - seconds))


def _never_sleep(seconds: float) -> None:
    raise AssertionError("an old file must be refused without waiting")


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "is an empty file, not a study"),
     (b"not a database at all" * 40, "is not a SQLite database, not a study"),
     (b"SQLite", "is not a SQLite database")],
)  # fmt: skip
def test_an_old_empty_or_junk_file_is_refused_at_once(tmp_path, monkeypatch, content, reason):
    db = tmp_path / "study.db"
    db.write_bytes(content)
    _age(db, 60)
    monkeypatch.setattr(study_file.time, "sleep", _never_sleep)
    with pytest.raises(SparseNASError, match=reason) as refused:
        check_storage_file(f"sqlite:///{db}")
    assert str(refused.value).startswith(f"cannot open storage 'sqlite:///{db}': {db} ")


def test_a_database_and_a_missing_file_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(study_file.time, "sleep", _never_sleep)
    db = tmp_path / "study.db"
    check_study_file("shown", db)  # a new study: whoever opens it creates it
    sqlite3.connect(db).execute("create table t (x)").connection.close()
    _age(db, 60)
    check_study_file("shown", db)
    check_storage_file("postgresql+psycopg://u:secret@host/db")  # not a file: left to Optuna


def test_a_file_being_created_is_given_its_moment(tmp_path, monkeypatch):
    """A fresh empty file (another command creating the study) that becomes a database
    while waited for passes; the check waits on the file, not on a fixed delay."""
    db = tmp_path / "study.db"
    db.touch()
    waits = []

    def sleep(seconds: float) -> None:  # the other process writes during the first wait
        if not waits:
            sqlite3.connect(db).execute("create table t (x)").connection.close()
        waits.append(seconds)

    monkeypatch.setattr(study_file.time, "sleep", sleep)
    check_study_file("shown", db)
    assert len(waits) == 1


def test_a_fresh_file_that_stays_empty_is_refused(tmp_path, monkeypatch):
    db = tmp_path / "study.db"
    db.touch()
    clock = iter(range(1000))
    monkeypatch.setattr(study_file.time, "monotonic", lambda: next(clock) * 0.1)
    monkeypatch.setattr(study_file.time, "sleep", lambda seconds: None)
    with pytest.raises(SparseNASError, match="is an empty file, not a study"):
        check_study_file("shown", db)
