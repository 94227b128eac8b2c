"""Storage URLs shown masked and stored without their password (nas.search.urls)."""

import pytest

from nas.search.urls import redacted, shown_url, stored_url

PG = "postgresql+psycopg://user:S3cret@db.example:5432/nas?sslmode=require"


def test_a_password_is_masked_when_shown_and_dropped_when_stored():
    assert shown_url(PG) == "postgresql+psycopg://user:***@db.example:5432/nas?sslmode=require"
    assert stored_url(PG) == "postgresql+psycopg://user@db.example:5432/nas?sslmode=require"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///runs/gru-reber/study.db",
        "postgresql+psycopg://user@db.example/nas",
        "sqlite://",
        None,
    ],
)
def test_urls_without_a_password_are_left_as_they_are(url):
    assert shown_url(url) == url and stored_url(url) == url


def test_an_escaped_password_and_a_url_sqlalchemy_cannot_read_are_masked_too():
    assert shown_url("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert stored_url("postgresql://u:p%40ss@h/db") == "postgresql://u@h/db"
    assert shown_url("not a url://u:pw@h") == "not a url://u:***@h"


def test_an_error_message_quoting_the_password_is_redacted():
    message = 'connection to "db.example" failed for user "user" with password S3cret'
    assert redacted(message, PG).endswith("with password ***")
    assert redacted(message, "sqlite:///x.db") == message


def test_a_sqlite_url_names_its_file_and_other_storages_none():
    from pathlib import Path

    from nas.search.urls import sqlite_path

    assert sqlite_path("sqlite:///runs/gru-reber/study.db") == Path("runs/gru-reber/study.db")
    assert sqlite_path("sqlite:////abs/study.db") == Path("/abs/study.db")
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///x.db?timeout=5", PG, None):
        assert sqlite_path(url) is None
