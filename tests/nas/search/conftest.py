"""A fresh PostgreSQL database per test, on the server ``TEST_DB_URL`` points at (as in
Optuna's own storage tests); without it the PostgreSQL tests skip, except under CI
(``CI=true``), where a skip would hide them and is a failure."""

from __future__ import annotations

import contextlib
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


class PostgresServer:
    """A PostgreSQL cluster of the test's own (so it can be stopped and started): initdb in
    a temp folder, loopback, a free port; as the ``postgres`` user when run as root (initdb
    and the server refuse root)."""

    def __init__(self, folder, bin_dir) -> None:
        import socket

        self.folder, self.bin = folder, bin_dir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            import shutil

            shutil.chown(folder, "postgres")
        self._run("initdb", "-D", f"{folder}/data", "-U", "postgres", "--auth=trust")

    def _run(self, tool: str, *args: str) -> None:
        import subprocess

        command = [f"{self.bin}/{tool}", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}"
        self._run("pg_ctl", "-D", f"{self.folder}/data", "-l", f"{self.folder}/log", "-w",
                  "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", f"{self.folder}/data", "-m", "fast", "-w", "stop")


@pytest.fixture
def pg_server():
    """A PostgreSQL server of this test's own, started; stopped at the end. Needs the server
    binaries (``PG_BIN``, default Debian's /usr/lib/postgresql/15/bin); CI has them."""
    bin_dir = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
    if not os.path.exists(f"{bin_dir}/initdb"):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but there is no PostgreSQL server in {bin_dir}")
        pytest.skip(f"no PostgreSQL server binaries in {bin_dir} (set PG_BIN)")
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="nas-pg-")  # pytest's folders are closed to others
    os.chmod(folder, 0o755)
    try:
        server = PostgresServer(folder, bin_dir)
        server.start()
        yield server
        with contextlib.suppress(Exception):  # already stopped
            server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
