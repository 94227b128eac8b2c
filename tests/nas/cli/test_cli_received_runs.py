"""A run dir received from someone else is read from its files: `nas rank`, `nas report`
and `nas export` never connect to a storage its config.json names, and refuse a study.db
that is no study (as `nas search` does) instead of quietly reading evaluations.csv."""

import json
import shutil

import pytest
from typer.testing import CliRunner

import nas.reports.data  # bound to the real read_study before a test patches it
import nas.search.results
from nas.cli import app

runner = CliRunner()
SERVER = "postgresql+psycopg://someone:pw@db.example.invalid:5432/theirs"


@pytest.fixture
def received(tiny_run, tmp_path):
    """A copy of the tiny search's out dir, without its study (study.db and the write-ahead
    log the open study keeps beside it)."""
    out, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    for path in run.glob("study.db*"):
        path.unlink()
    return run


def test_a_storage_named_in_config_json_is_never_connected_to(received, monkeypatch):
    config = json.loads((received / "config.json").read_text())
    (received / "config.json").write_text(json.dumps({**config, "storage": SERVER}))

    def refuse(*args, **kwargs):
        raise AssertionError("connected to the storage config.json names")

    monkeypatch.setattr(nas.search.results, "read_study", refuse)
    result = runner.invoke(app, ["rank", str(received), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)  # ranked from evaluations.csv


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 40], ids=["empty", "junk"])
@pytest.mark.parametrize("command", ["rank", "report", "export"])
def test_a_study_db_that_is_no_study_is_refused_by_every_reader(
    received, tmp_path, content, command
):
    (received / "study.db").write_bytes(content)
    args = [command, str(received)]
    if command == "export":
        args += ["--out", str(tmp_path / "exported")]
    result = runner.invoke(app, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("error: cannot open storage")
    assert not (tmp_path / "exported").exists()  # nothing written
