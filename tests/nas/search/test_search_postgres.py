"""`nas search` on a real PostgreSQL server (TEST_DB_URL): several workers and commands
sharing one study, as real processes."""

import json
import subprocess
import sys

import pytest
from search_processes import TINY, env, run, started, tiny_csv, trials


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
