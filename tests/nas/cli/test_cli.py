"""The `nas` command line, run in-process: outputs, JSON shape and exit codes."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphs.io import write_graph
from graphs.properties import PROPERTY_NAMES
from nas.cli import app

runner = CliRunner()
THESIS_TABLE = str(Path(__file__).parents[2] / "data" / "thesis_table.csv")
WORKED = [(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


@pytest.fixture
def small_task(small_reber):
    small_reber(400)


def test_evaluate_json_has_metrics_and_every_property(small_task):
    result = runner.invoke(
        app,
        ["evaluate", "--cell", "gru", "--family", "ws", "--nodes", "12", "--epochs", "2"]
        + ["--json"],
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    for key in ("test_acc", "test_loss", "train_seconds", "epochs", "params_total"):
        assert key in record
    assert record["status"] == "ok" and record["epochs"] == 2
    assert record["params_nonzero"] < record["params_total"]
    assert set(PROPERTY_NAMES) <= set(record)
    assert record["nodes"] == 12 and len(record["history"]) == 2


def test_evaluate_graph_file_prints_a_summary(small_task, tmp_path):
    import networkx as nx

    path = tmp_path / "worked.graphml"
    write_graph(nx.Graph(WORKED), path)
    result = runner.invoke(
        app, ["evaluate", "--graph", str(path), "--cell", "lstm", "--epochs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "layer_sizes" in result.stdout and "2 1 1 1" in result.stdout


def test_evaluate_is_reproducible_with_a_seed(small_task):
    args = ["evaluate", "--nodes", "10", "--epochs", "1", "--seed", "3", "--json"]
    first = json.loads(runner.invoke(app, args).stdout)
    again = json.loads(runner.invoke(app, args).stdout)
    assert first["test_loss"] == again["test_loss"]
    assert first["edge_list"] == again["edge_list"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cell", "gruu"], "unknown cell 'gruu'"),
        (["--family", "xx"], "family"),
        (["--family", "ba", "--nodes", "10", "--m", "10"], "m"),
        (["--epochs", "0"], "epochs must be an integer >= 1"),
        (["--graph", "missing.graphml"], "missing.graphml"),
        (["--task", "mnist"], "mnist"),
        (["--task", "csv:nowhere.csv"], "nowhere.csv"),
    ],
)
def test_bad_evaluate_input_is_one_error_line_and_exit_2(args, message):
    result = runner.invoke(app, ["evaluate", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_sample_writes_properties_and_edge_lists(tmp_path):
    out = tmp_path / "props.csv"
    result = runner.invoke(
        app, ["sample", "--family", "ba,er", "--count", "4", "--seed", "0", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(out)
    assert len(table) == 8 and sorted(set(table["family"])) == ["ba", "er"]
    assert set(PROPERTY_NAMES) <= set(table.columns)
    assert table["nodes"].between(10, 50).all()
    again = runner.invoke(
        app, ["sample", "--family", "ba,er", "--count", "4", "--seed", "0", "--json"]
    )
    assert [r["edge_list"] for r in json.loads(again.stdout)] == list(table["edge_list"])


def test_sample_rejects_an_unknown_family():
    result = runner.invoke(app, ["sample", "--family", "ws,tree"])
    assert result.exit_code == 2 and "tree" in result.stderr


def test_properties_of_files_one_row_each(tmp_path):
    import networkx as nx

    paths = []
    for i in range(3):
        path = tmp_path / f"g{i}.txt"
        write_graph(nx.path_graph(4 + i), path)
        paths.append(str(path))
    result = runner.invoke(app, ["properties", *paths, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["graph"] for r in rows] == ["g0.txt", "g1.txt", "g2.txt"]
    assert [r["diameter"] for r in rows] == [3, 4, 5]


def test_properties_of_a_disconnected_file_is_an_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("0 1\n2 3\n")
    result = runner.invoke(app, ["properties", str(path)])
    assert result.exit_code == 2 and "bad.txt" in result.stderr


def test_evaluate_several_graphs_together_gives_a_json_list(small_task, tmp_path):
    import networkx as nx

    from graphs.generators import barabasi_albert

    write_graph(nx.Graph(WORKED), tmp_path / "a.graphml")
    write_graph(barabasi_albert(10, 2, seed=0), tmp_path / "b.txt")
    result = runner.invoke(app, ["evaluate", "--graph", str(tmp_path), "--epochs", "1", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["graph"] for r in records] == [str(tmp_path / "a.graphml"), str(tmp_path / "b.txt")]
    assert [r["nodes"] for r in records] == [5, 10]
    alone = runner.invoke(
        app, ["evaluate", "--graph", str(tmp_path / "b.txt"), "--epochs", "1", "--json"]
    )
    assert json.loads(alone.stdout)["test_loss"] == pytest.approx(records[1]["test_loss"])


def test_evaluate_rejects_an_empty_folder_and_a_bad_batch_count(tmp_path):
    result = runner.invoke(app, ["evaluate", "--graph", str(tmp_path)])
    assert result.exit_code == 2 and "holds no graph files" in result.stderr
    result = runner.invoke(app, ["evaluate", "--batch-candidates", "0"])
    assert result.exit_code == 2 and "batch_candidates must be an integer >= 1" in result.stderr


@pytest.mark.parametrize("command", ["sample", "properties", "predictor-train", "prune"])
@pytest.mark.parametrize("where", ["a folder", "inside a file"])
def test_a_bad_out_is_one_error_line_and_exit_2(command, where, tmp_path, small_task):
    blocker = tmp_path / "blocker.txt"
    blocker.write_text("not a folder")
    folder = tmp_path / "folder"
    folder.mkdir()
    if command == "prune":  # --out is a folder: an existing file is bad, and so is a path in it
        out = blocker if where == "a folder" else blocker / "sub"
    else:  # --out is a file: an existing folder is bad, and so is a path inside a file
        out = folder if where == "a folder" else blocker / "table.csv"
    graph = tmp_path / "g.txt"
    graph.write_text("0 1\n1 2\n")
    args = {
        "sample": ["sample", "--count", "2"],
        "properties": ["properties", str(graph)],
        "predictor-train": ["predictor", "train", "--data", THESIS_TABLE],
        "prune": ["prune", "--hidden-size", "4", "--layers", "2", "--epochs", "1"],
    }[command]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write")
