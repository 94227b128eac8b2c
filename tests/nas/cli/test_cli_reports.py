"""`nas rank`, `nas report`, `nas export` and `nas infer` in-process: outputs, files and
exit codes (one `error:` line and exit 2 for bad input)."""

import csv
import io
import json

from typer.testing import CliRunner

from nas.cli import app
from nas.search.records import ranked_trials

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


def test_export_then_infer(tiny_run, tmp_path):
    out, study = tiny_run
    folder = tmp_path / "net"
    result = runner.invoke(app, ["export", str(out), "--rank", "2", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    second = [t.number for t in ranked_trials(study.get_trials())][1]
    assert f"exported rank 2 (trial {second}," in " ".join(result.stderr.split())
    card = json.loads((folder / "card.json").read_text())
    assert card["rank"] == 2 and card["trial"] == second
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("BPTVVE\n\nBTXXE\n")
    result = runner.invoke(
        app, ["infer", str(folder), "BTSSXXTVVE", "--input", str(inputs), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["input"] for r in rows] == ["BTSSXXTVVE", "BPTVVE", "BTXXE"]
    assert all(r["class"] in ("valid", "invalid") and r["probability"] >= 0.5 for r in rows)
    table = runner.invoke(app, ["infer", str(folder), "BPTVVE"])
    assert table.exit_code == 0 and "BPTVVE" in table.stdout and rows[1]["class"] in table.stdout


def test_export_and_infer_bad_input_is_one_error_line(tiny_run, tmp_path):
    out, _ = tiny_run
    folder = tmp_path / "net"
    assert runner.invoke(app, ["export", str(out), "--out", str(folder)]).exit_code == 0
    unknown = runner.invoke(app, ["infer", str(folder), "BTSSXXTVVE", "BT#E"])
    assert "has symbol(s) '#' outside the network's vocabulary" in error_line(unknown)
    (folder / "weights.pt").write_bytes(b"not a checkpoint")
    corrupt = runner.invoke(app, ["infer", str(folder), "BTSSXXTVVE"])
    assert "does not match its checksum" in error_line(corrupt)
    (folder / "graph.graphml").unlink()
    assert "graph.graphml is missing" in error_line(runner.invoke(app, ["infer", str(folder), "B"]))
    missing = runner.invoke(app, ["infer", str(tmp_path / "none"), "B"])
    assert "does not exist" in error_line(missing)
    no_file = runner.invoke(app, ["infer", str(folder), "--input", str(tmp_path / "no.txt")])
    assert "cannot read input file" in error_line(no_file)
    far = runner.invoke(app, ["export", str(out), "--rank", "7", "--out", str(tmp_path / "y")])
    assert "no saved weights" in error_line(far)


def test_report_writes_html_markdown_and_figures(tiny_run, tmp_path):
    out, _ = tiny_run
    folder = tmp_path / "report"
    result = runner.invoke(app, ["report", str(out), "--out", str(folder), "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.stderr and "PNG figures in" in " ".join(result.stderr.split())
    assert (folder / "report.html").stat().st_size > 1_000_000  # plotly.js inlined
    assert (folder / "report.md").is_file() and list((folder / "figures").glob("*.png"))


def test_report_bad_input_is_one_error_line(tiny_run, tmp_path):
    out, _ = tiny_run
    table = str(out / "evaluations.csv")
    assert "give --out" in error_line(runner.invoke(app, ["report", "--data", table]))
    nothing = runner.invoke(app, ["report", "--out", str(tmp_path / "r")])
    assert "name a run dir" in error_line(nothing)
    missing = runner.invoke(
        app, ["report", str(out), "--out", str(tmp_path / "r"), "--prune-match", "no.csv"]
    )
    assert "prune match file 'no.csv' does not exist" in error_line(missing)
    (tmp_path / "file").write_text("")
    into_file = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "file")])
    assert "it is a file" in error_line(into_file)
    alone = runner.invoke(app, ["report", "--study", "x", "--out", str(tmp_path / "r")])
    assert "--storage and --study go together" in error_line(alone)


def test_help_of_each_command_names_its_options():
    expected = {
        "report": ("--storage", "--study", "--data", "--out", "--top", "--prune-match"),
        "rank": ("--top", "--json", "--csv", "--data"),
        "export": ("--rank", "--out", "card.json"),
        "infer": ("--input", "--json", "probability"),
    }
    for command, words in expected.items():
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        text = " ".join(result.output.split())
        assert all(word in text for word in words), (command, text)


def test_rank_reads_a_study_by_storage_and_name(tiny_run):
    out, study = tiny_run
    by_dir = runner.invoke(app, ["rank", str(out), "--json"])
    storage = f"sqlite:///{out / 'study.db'}"
    by_study = runner.invoke(app, ["rank", "--storage", storage, "--study", "gru-reber", "--json"])
    assert by_study.exit_code == 0, by_study.output
    assert json.loads(by_study.stdout) == json.loads(by_dir.stdout)
    assert len(json.loads(by_dir.stdout)) == len(ranked_trials(study.get_trials()))


def test_an_export_is_never_overwritten_unasked(tiny_run, tmp_path):
    out, _ = tiny_run
    folder = tmp_path / "net"
    folder.mkdir()
    (folder / "card.json").write_text('{"someone": "else"}')
    result = runner.invoke(app, ["export", str(out), "--out", str(folder)])
    assert "--force" in error_line(result)
    assert (folder / "card.json").read_text() == '{"someone": "else"}'  # untouched
    result = runner.invoke(app, ["export", str(out), "--out", str(folder), "--force"])
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "card.json").read_text())["rank"] == 1
