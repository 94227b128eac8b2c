"""A fresh PostgreSQL database per test, on the server ``TEST_DB_URL`` points at (as in
Optuna's own storage tests); without it the PostgreSQL tests skip, except under CI
(``CI=true``), where a skip would hide them and is a failure."""

from __future__ import annotations

import os
import uuid

import pytest


def _admin_url() -> str:
    url = os.environ.get("TEST_DB_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but TEST_DB_URL is not set: .ci/run starts the server")
        pytest.skip("TEST_DB_URL is not set (a PostgreSQL server the tests may create in)")
    return url


@pytest.fixture
def pg_url() -> str:
    """``postgresql+psycopg://…/nas_test_<random>``: created for the test, dropped after."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(_admin_url())
    name = f"nas_test_{uuid.uuid4().hex[:12]}"
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
        hide_password=False
    )
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
