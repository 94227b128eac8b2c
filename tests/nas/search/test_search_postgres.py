"""`nas search` on a real PostgreSQL server (TEST_DB_URL): several workers and commands
sharing one study, as real processes."""

import json
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest
from search_processes import TINY, env, finish, run, start, started, tiny_csv, trials


@pytest.mark.slow
def test_two_workers_on_postgresql_train_exactly_the_budget_and_both_get_work(pg_url, tmp_path):
    data = tiny_csv(tmp_path / "parity.csv")
    code, out, err = run(
        "search", "--budget", "8", *TINY, "--task", f"csv:{data}", "--storage", pg_url,
        "--study", "pg", "--out", "run", "--workers", "2", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["trials"].get("ok") == 8 and summary["storage"] == pg_url
    assert set(summary["trials"]) <= {"ok", "surplus"}  # surplus: asked beyond, never trained
    done = started(pg_url, "pg")
    assert len(done) == 8 and all(t.state.is_finished() for t in done)
    assert len({t.user_attrs["worker"] for t in done}) == 2  # worker 1 got work too
    assert not [t for t in trials(pg_url, "pg") if not t.state.is_finished()]  # none waiting


def test_a_missing_driver_is_one_line_saying_what_to_install(tmp_path):
    hide = "import sys; sys.modules['psycopg'] = None; from nas.cli import app; app()"
    command = [sys.executable, "-c", hide, "search", "--budget", "1"]
    command += ["--storage", "postgresql://u@127.0.0.1:1/db", "--out", "run"]
    result = subprocess.run(
        command, cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open storage")
    assert "pip install 'sparse-rnn-nas[postgres]'" in lines[0]
    assert "postgresql+psycopg://" in lines[0]  # postgresql:// means psycopg 3


def _with_password(url: str, password: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)


def _worker_command_lines() -> list[str]:
    """The command lines of the search's worker processes running now, as ``ps`` shows
    them to any local user."""
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with suppress(OSError):
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "nas.search.workers" in text:
                lines.append(text)
    return lines


@pytest.mark.slow
def test_a_storage_password_shows_in_no_output_file_or_command_line(pg_url, tmp_path):
    """The server accepts any password here (trust): what matters is where it shows."""
    secret = "Pw-5ecret-q7"
    url = _with_password(pg_url, secret)
    data = tiny_csv(tmp_path / "parity.csv")
    args = ("search", "--budget", "6", *TINY, "--task", f"csv:{data}", "--storage", url,
            "--study", "pw", "--out", "run", "--workers", "2", "--json")  # fmt: skip
    proc = start(*args, cwd=tmp_path)
    seen: list[str] = []
    while proc.poll() is None:
        seen += _worker_command_lines()
        time.sleep(0.1)
    code, out, err = finish(proc)
    assert code == 0, err
    assert seen, "no worker process was seen running"
    assert not [line for line in seen if secret in line]
    assert secret not in out and secret not in err
    summary = json.loads(out.strip().splitlines()[-1])
    user, _, rest = pg_url.partition("@")
    assert summary["storage"] == f"{user}:***@{rest}"  # masked, as every message shows it
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert files and not [p for p in files if secret.encode() in p.read_bytes()]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["storage"] == pg_url  # without the password
    code, out, err = run(*args, cwd=tmp_path)  # the same command resumes: nothing to train
    assert code == 0 and secret not in out + err
    assert len(started(pg_url, "pw")) == 6
    code, out, err = run("report", "--storage", url, "--study", "pw", "--out", "rep", cwd=tmp_path)
    assert code == 0, err
    code, ranked, err2 = run("rank", "--storage", url, "--study", "pw", "--json", cwd=tmp_path)
    assert code == 0 and secret not in out + err + ranked + err2
    written = [p for p in (tmp_path / "rep").rglob("*") if p.is_file()]
    assert written and not [p for p in written if secret.encode() in p.read_bytes()]


def test_a_storage_that_cannot_be_opened_names_it_without_its_password(tmp_path):
    secret = "Pw-5ecret-q7"
    result = subprocess.run(
        [sys.executable, "-m", "nas.cli", "search", "--budget", "1", "--out", "run",
         "--storage", f"postgresql+psycopg://user:{secret}@127.0.0.1:1/db"],
        cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot open storage 'postgresql+psycopg://user:***@")
    assert secret not in result.stdout + result.stderr
