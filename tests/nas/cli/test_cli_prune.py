"""`nas prune` run in-process on a tiny Reber task: files, JSON, exit codes."""

import json

import networkx as nx
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from graphs.io import write_graph
from nas.cli.prune import prune_command

runner = CliRunner()
app = typer.Typer(pretty_exceptions_enable=False)
app.command("prune")(prune_command)
app.command("noop")(lambda: None)  # two commands, so `prune` stays a subcommand as in nas.cli
TINY = ["--hidden-size", "4", "--layers", "2", "--epochs", "1", "--retrain-epochs", "1"]


@pytest.fixture
def small_task(small_reber):
    small_reber(300)


def test_prune_writes_tables_and_plots(small_task, tmp_path):
    out = tmp_path / "out"
    args = ["prune", *TINY, "--percent", "50,100", "--target", "both,h2h", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("prune_results.csv", "prune_history.csv", "prune_expansion.csv"):
        assert (out / name).stat().st_size > 0
    for name in ("prune_accuracy.png", "prune_regain.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(out / "prune_results.csv")
    assert len(table) == 4 and set(table["target"]) == {"both", "h2h"}
    full = table[(table["target"] == "both") & (table["percent"] == 100)].iloc[0]
    assert full["sparsity"] == 1.0 and full["recurrent_nonzero"] == 0
    assert "acc_epoch_1" in table.columns and "ramanujan_gap_min" in table.columns
    assert "dense gru base model" in result.stdout and "h2h" in result.stdout


def test_prune_json_and_match(small_task, tmp_path):
    graph = tmp_path / "worked.graphml"
    write_graph(nx.Graph([(0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]), graph)
    result = runner.invoke(app, ["prune", *TINY, "--match", str(graph), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["results"] == []  # --match alone runs no percent sweep
    match = record["match"]
    assert match["budget_epochs"] == 2 and match["nodes"] == 5
    assert 0.0 <= match["sparse_rnn_acc"] <= 1.0
    assert 0.0 <= match["dense_retrained_acc"] <= 1.0


def test_embedding_width_reaches_the_dense_model(small_task):
    args = ["prune", *TINY, "--percent", "50", "--embedding-dim", "5", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["spec"]["embedding_dim"] == 5
    # GRU layer 0 input matrix: 3 gates x 4 units x 5 inputs, then h2h and layer 1
    assert record["base"]["recurrent_weights"] == 3 * 4 * (5 + 4) + 3 * 4 * (4 + 4)


def test_prune_match_prints_both_accuracies(small_task, tmp_path):
    graph = tmp_path / "worked.txt"
    graph.write_text("0 2\n1 2\n1 3\n2 3\n2 4\n3 4\n")
    result = runner.invoke(app, ["prune", *TINY, "--match", str(graph), "--cell", "lstm"])
    assert result.exit_code == 0, result.output
    assert "Sparse-RNN test acc" in result.stdout and "pruned dense test acc" in result.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--percent", "10,150"], "percent must be in [0.0, 100.0] (got percent=150.0)"),
        (["--percent", "half"], "(got 'half')"),
        (["--target", "weights"], "unknown pruning target 'weights'"),
        (["--method", "lottery"], "unknown pruning method 'lottery'"),
        (["--cell", "rnn"], "unknown cell 'rnn'"),
        (["--retrain-epochs", "0"], "retrain_epochs=0"),
        (["--embedding-dim", "0"], "embedding_dim=0"),
        (["--match", "missing.graphml"], "missing.graphml"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(small_task, args, fragment):
    result = runner.invoke(app, ["prune", *args])
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.stderr.split())  # rich may wrap the line
    assert "Traceback" not in result.output


def test_a_graph_too_big_for_the_dense_model_exits_2(small_task, tmp_path):
    graph = tmp_path / "big.graphml"
    write_graph(nx.complete_graph(12), graph)
    args = ["prune", "--hidden-size", "1", "--layers", "1", "--match", str(graph)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "more than the dense model" in " ".join(result.stderr.split())


def _fake_run(folder, cell="gru"):
    """A search out dir whose evaluations.csv ranks three networks (ties: fewer params)."""
    folder.mkdir()
    rows = [
        {"trial": 0, "status": "ok", "test_acc": 0.9, "params_nonzero": 50, "edge_list": "0-1 1-2"},
        {"trial": 1, "status": "ok", "test_acc": 0.95, "params_nonzero": 80, "edge_list": "0-1"},
        {
            "trial": 2,
            "status": "ok",
            "test_acc": 0.9,
            "params_nonzero": 40,
            "edge_list": "0-1 1-2 2-3",
        },
        {
            "trial": 3,
            "status": "diverged",
            "test_acc": None,
            "params_nonzero": 9,
            "edge_list": "0-1",
        },
    ]
    pd.DataFrame([{**row, "cell": cell} for row in rows]).to_csv(folder / "evaluations.csv")
    return folder


@pytest.mark.parametrize("rank, nodes, trial", [(1, 2, 1), (2, 4, 2), (3, 3, 0)])
def test_match_a_search_out_dir_by_rank(small_task, tmp_path, rank, nodes, trial):
    run = _fake_run(tmp_path / "run")
    args = ["prune", *TINY, "--match", str(run), "--rank", str(rank)]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["match"]["nodes"] == nodes
    shown = runner.invoke(app, args)
    assert f"rank {rank} (trial {trial}" in " ".join(shown.stdout.split())


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--rank", "4"], "has 3 finished networks; rank 4 is beyond"),
        (["--rank", "0"], "rank must be an integer >= 1"),
        (["--cell", "lstm"], "searched gru networks, not lstm: match the same cell"),
    ],
)
def test_bad_match_of_a_run_exits_2(small_task, tmp_path, args, fragment):
    run = _fake_run(tmp_path / "run")
    result = runner.invoke(app, ["prune", *TINY, "--match", str(run), *args])
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.stderr.split())


def test_rank_needs_a_run_dir_and_a_run_dir_needs_its_table(small_task, tmp_path):
    graph = tmp_path / "g.txt"
    graph.write_text("0 1\n1 2\n")
    for args, fragment in [
        (["--rank", "2"], "a rank needs a search's out dir to match"),
        (["--match", str(graph), "--rank", "2"], "is a file"),
        (
            ["--match", str(tmp_path)],
            "is not a search's out dir (no study.db and no evaluations.csv)",
        ),
    ]:
        result = runner.invoke(app, ["prune", *TINY, *args])
        assert result.exit_code == 2, result.output
        assert fragment in " ".join(result.stderr.split())


@pytest.mark.parametrize("method", ["random", "expander", "anti-expander", "degree-blocks"])
def test_each_mask_method_prunes_to_the_asked_sparsity(small_task, method):
    args = ["prune", *TINY, "--percent", "80", "--target", "h2h", "--method", method, "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["results"]
    assert row["method"] == method and row["target"] == "h2h"
    assert row["pruned"] == round(0.8 * row["targeted"])


def test_ramanujan_writes_its_steps_into_the_history(small_task, tmp_path):
    out = tmp_path / "out"
    args = ["prune", *TINY, "--percent", "80", "--method", "ramanujan", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    row = pd.read_csv(out / "prune_results.csv").iloc[0]
    history = pd.read_csv(out / "prune_history.csv")
    steps = history[history["phase"] == "step"]
    assert len(steps) >= 2 and steps["pruned"].iloc[-1] == row["pruned"]
    assert row["pruned"] <= round(0.8 * row["targeted"])
    assert steps["ramanujan_gap_min"].min() >= -1e-9


def test_an_unknown_method_is_one_error_line(small_task):
    result = runner.invoke(app, ["prune", *TINY, "--method", "bogus"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "bogus" in lines[0]
