"""`nas rank`, `nas report`, `nas export` and `nas infer` in-process: outputs, files and
exit codes (one `error:` line and exit 2 for bad input)."""

import csv
import io
import json

from typer.testing import CliRunner

from nas.cli import app
from nas.search.results import ranked_trials

runner = CliRunner()


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


def test_rank_prints_the_table_json_and_csv(tiny_run):
    out, study = tiny_run
    expected = [t.number for t in ranked_trials(study.get_trials())][:3]
    result = runner.invoke(app, ["rank", str(out), "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "gru-reber: top 3 of" in result.stdout
    result = runner.invoke(app, ["rank", str(out), "--top", "3", "--json"])
    rows = json.loads(result.stdout)
    assert [row["trial"] for row in rows] == expected
    assert [row["rank"] for row in rows] == [1, 2, 3]
    result = runner.invoke(app, ["rank", str(out), "--top", "3", "--csv"])
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(row["trial"]) for row in table] == expected


def test_rank_bad_input_is_one_error_line(tiny_run, tmp_path):
    out, _ = tiny_run
    assert "does not exist" in error_line(runner.invoke(app, ["rank", str(tmp_path / "x")]))
    assert "not a search's out dir" in error_line(runner.invoke(app, ["rank", str(tmp_path)]))
    assert "top must be" in error_line(runner.invoke(app, ["rank", str(out), "--top", "0"]))
    both = runner.invoke(app, ["rank", str(out), "--json", "--csv"])
    assert "one of --json and --csv" in error_line(both)
