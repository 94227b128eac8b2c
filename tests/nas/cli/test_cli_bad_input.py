"""The bad-input matrix (issue 16): every bad option or file of every command is one
`error: …` line on stderr and exit code 2, before any training and with no progress bar;
and an error appears fast, because the commands check their options before they import
torch, Optuna or pandas."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from predictor_fixtures import our_table
from typer.testing import CliRunner

from nas.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Good and bad input files, by the name the table uses."""
    folder = tmp_path_factory.mktemp("inputs")
    made = {"DIR": folder, "FILE/x": folder / "plain.txt" / "x.csv"}
    texts = {
        "TRIANGLE": "0 1\n1 2\n2 0\n",
        "NEGATIVE": "-1 0\n0 1\n1 -1\n",
        "EMPTY": "",
        "WORDS": "hello world\n",
        "SPLIT": "0 1\n2 3\n",
        "LOOP": "0 0\n0 1\n",
        "CSV1CLASS": "sequence,label\nab,1\nba,1\n",
        "CSVNOCOL": "text,label\nab,0\nba,1\n",
        "plain.txt": "a file, not a folder\n",
    }
    for name, text in texts.items():
        made[name] = folder / (name if "." in name else f"{name.lower()}.txt")
        made[name].write_text(text)
    table = folder / "table.csv"
    our_table(30, repeats=1, seed=0).to_csv(table, index=False)
    made["TABLE"] = table
    model = folder / "model.joblib"
    trained = runner.invoke(
        app, ["predictor", "train", "--data", str(table), "--model", "bayesridge",
              "--out", str(model)],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    made["MODEL"] = model
    made["STUDYDB"] = folder / "empty-study" / "study.db"
    made["STUDYDB"].parent.mkdir()
    made["STUDYDB"].touch()
    return made


SEARCH = ["search", "--budget", "2", "--epochs", "1", "--nodes", "10:12"]
EVALUATE = ["evaluate", "--epochs", "1", "--nodes", "10"]
CASES = [
    # search: every setting, storages, files, workers
    (["search", "--budget", "2", "--cell", "nope"], "unknown cell 'nope'"),
    ([*SEARCH, "--task", "nope"], "unknown task 'nope'"),
    ([*SEARCH, "--task", "csv:missing.csv"], "missing.csv"),
    ([*SEARCH, "--task", "csv:CSV1CLASS"], "single class"),
    ([*SEARCH, "--task", "csv:CSVNOCOL"], "column 'sequence' not found"),
    ([*SEARCH, "--families", "ws,xx"], "graph family"),
    ([*SEARCH, "--strategy", "grid"], "strategy"),
    ([*SEARCH, "--objective", "speed"], "objective"),
    (["search", "--budget", "2", "--nodes", "20:10"], "node"),
    (["search", "--budget", "2", "--nodes", "2:10"], "node"),
    (["search", "--budget", "2", "--nodes", "ten"], "LOW:HIGH"),
    (["search", "--budget", "0"], "budget must be an integer >= 1"),
    ([*SEARCH, "--epochs", "0"], "epochs must be an integer >= 1"),
    ([*SEARCH, "--grace", "0"], "grace"),
    ([*SEARCH, "--workers", "0"], "workers must be an integer >= 1"),
    ([*SEARCH, "--workers", "2", "--storage", "sqlite:///:memory:"], "other processes"),
    ([*SEARCH, "--storage", "nosuch://x"], "cannot open storage"),
    ([*SEARCH, "--storage", "sqlite:///STUDYDB"], "is an empty file, not a study"),
    ([*SEARCH, "--warm-start", "missing.csv"], "missing.csv"),
    ([*SEARCH, "--study", " "], "study must not be empty"),
    # evaluate: settings, devices, graph files
    (["evaluate", "--cell", "nope"], "unknown cell 'nope'"),
    (["evaluate", "--family", "xx"], "family"),
    (["evaluate", "--nodes", "2"], "got nodes=2"),
    ([*EVALUATE, "--device", "foo"], "unknown device 'foo'"),
    ([*EVALUATE, "--epochs", "0"], "epochs must be an integer >= 1"),
    ([*EVALUATE, "--lr", "0"], "lr"),
    ([*EVALUATE, "--batch-size", "0"], "batch_size"),
    ([*EVALUATE, "--task", "nope"], "unknown task 'nope'"),
    ([*EVALUATE, "--graph", "missing.txt"], "missing.txt"),
    ([*EVALUATE, "--graph", "NEGATIVE"], "negative node label (-1)"),
    ([*EVALUATE, "--graph", "EMPTY"], "is empty"),
    ([*EVALUATE, "--graph", "WORDS"], "not two integer node labels"),
    ([*EVALUATE, "--graph", "SPLIT"], "disconnected"),
    ([*EVALUATE, "--graph", "LOOP"], "self-loop"),
    # sample and properties: counts, families, files, --out
    (["sample", "--count", "-1"], "count must be an integer >= 1"),
    (["sample", "--count", "0"], "count must be an integer >= 1"),
    (["sample", "--family", "xx"], "graph family"),
    (["sample", "--count", "2", "--out", "DIR"], "it is a folder, not a file"),
    (["sample", "--count", "2", "--out", "FILE/x"], "cannot write"),
    (["properties", "missing.txt"], "missing.txt"),
    (["properties", "TRIANGLE", "--out", "DIR"], "it is a folder, not a file"),
    (["properties", "TRIANGLE", "--out", "FILE/x"], "cannot write"),
    (["properties", "SPLIT"], "disconnected"),
    # predictor: files, models, features, --out
    (["predictor", "eval", "--data", "missing.csv"], "missing.csv"),
    (["predictor", "eval", "--data", "TABLE", "--models", "rf,svm"], "svm"),
    (["predictor", "eval", "--data", "TABLE", "--features", "most"], "most"),
    (["predictor", "train", "--data", "TABLE", "--out", "DIR"], "folder"),
    (["predictor", "train", "--data", "TABLE", "--model", "svm", "--out", "m.joblib"], "svm"),
    (["predictor", "predict", "--model", "missing.joblib", "--data", "TABLE"], "missing"),
    (["predictor", "predict", "--model", "TABLE", "--data", "TABLE"], "TABLE"),
    (["predictor", "predict", "--model", "MODEL", "--data", "TABLE", "--out", "DIR"], "folder"),
    (["predictor", "predict", "--model", "MODEL", "--data", "TABLE", "--out", "FILE/x"],
     "cannot write"),
    # prune: settings and --out, checked before the dense model trains
    (["prune", "--cell", "nope"], "unknown cell 'nope'"),
    (["prune", "--target", "xx"], "xx"),
    (["prune", "--epochs", "1", "--out", "FILE/x"], "cannot write"),
    (["prune", "--epochs", "1", "--match", "missing-run"], "missing-run"),
    # issue 32, item 5: every size has an upper bound, checked before any work
    (["evaluate", "--nodes", "1000000000"], "nodes must be an integer <= 500"),
    (["evaluate", "--nodes", "501", "--family", "er"], "nodes must be an integer <= 500"),
    (["sample", "--count", "1000000000000"], "count must be an integer <= 1000000"),
    (["sample", "--count", "1000001", "--out", "s.csv"], "count must be an integer <= 1000000"),
    (["search", "--budget", "2", "--nodes", "10:100000000"], "3 <= low <= high <= 500"),
    (["search", "--budget", "2", "--nodes", "501:600"], "3 <= low <= high <= 500"),
    # issue 32, item 8: checked before the progress bar, or the bar is erased by the error
    ([*EVALUATE, "--batch-candidates", "0"], "batch_candidates must be an integer >= 1"),
    (["properties", *["TRIANGLE"] * 21, "SPLIT"], "disconnected"),
]  # fmt: skip

# issue 32, item 7: Click's usage errors, one line naming the option and what it accepts
USAGE = [
    (["evaluate", "--nodes", "12.5"], "--nodes must be an integer (got '12.5')"),
    (["evaluate", "--nodes", "abc"], "--nodes must be an integer (got 'abc')"),
    (["evaluate", "--nodes=abc"], "--nodes must be an integer (got 'abc')"),
    (["evaluate", "--p", "x"], "--p must be a number (got 'x')"),
    (["evaluate", "--lr", "fast"], "--lr must be a number (got 'fast')"),
    (["evaluate", "--batch-candidates", "all"], "--batch-candidates must be an integer"),
    (["evaluate", "--nodes"], "option --nodes needs a value: an integer"),
    (["evaluate", "--bogus"], "nas evaluate has no option --bogus"),
    (["evaluate", "--batch"], "has no option --batch (did you mean --batch-size?)"),
    (["evaluate", "--json=yes"], "--json"),
    (["evaluate", "extra"], "unexpected extra argument"),
    (["sample", "--count", "ten"], "--count must be an integer (got 'ten')"),
    (["sample", "--count", "2.5", "--out", "s.csv"], "--count must be an integer"),
    (["sample", "--seed", "x"], "--seed must be an integer (got 'x')"),
    (["sample", "--count"], "option --count needs a value: an integer"),
    (["properties"], "missing argument FILES: a path"),
    (["properties", "TRIANGLE", "--bogus"], "nas properties has no option --bogus"),
    (["properties", "TRIANGLE", "--out"], "option --out needs a value: a path"),
    (["search", "--budget", "ten"], "--budget must be an integer (got 'ten')"),
    (["search"], "missing option --budget: an integer"),
    (["search", "--budget", "2", "--epochs", "1.5"], "--epochs must be an integer"),
    (["search", "--budget", "2", "--grace", "soon"], "--grace must be a number (got 'soon')"),
    (["search", "--budget", "2", "--workers", "two"], "--workers must be an integer"),
    (["search", "--budget", "2", "--bogus"], "nas search has no option --bogus"),
    (["rank", "DIR", "--top", "x"], "--top must be an integer (got 'x')"),
    (["rank", "--bogus"], "nas rank has no option --bogus"),
    (["report", "DIR", "--top", "1.5", "--out", "r"], "--top must be an integer (got '1.5')"),
    (["report", "--bogus", "--out", "r"], "nas report has no option --bogus"),
    (["export", "DIR"], "missing option --out: a path"),
    (["export", "--out", "x"], "missing argument RUN_DIR: a path"),
    (["export", "DIR", "--out", "x", "--rank", "best"], "--rank must be an integer"),
    (["infer"], "missing argument FOLDER: a path"),
    (["infer", "DIR", "--input"], "option --input needs a value: a path"),
    (["infer", "DIR", "--bogus"], "nas infer has no option --bogus"),
    (["prune", "--hidden-size", "big"], "--hidden-size must be an integer (got 'big')"),
    (["prune", "--epochs", "1.5", "--out", "p"], "--epochs must be an integer (got '1.5')"),
    (["prune", "--lr", "x"], "--lr must be a number (got 'x')"),
    (["prune", "--bogus"], "nas prune has no option --bogus"),
    (["nosuch"], "no such command 'nosuch'; choose one of evaluate"),
    (["--bogus"], "nas has no option --bogus"),
]  # fmt: skip
CASES += USAGE


def _swap(args, files):
    out = []
    for arg in args:
        for name, path in files.items():
            if name in arg and name.isupper() or arg == name:
                arg = arg.replace(name, str(path))
        out.append(arg)
    return out


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_error_line_exit_2_and_no_work(args, message, files, tmp_path,
                                                        monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    given = _swap(args, files)
    result = runner.invoke(app, given)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr  # no bar
    expected = message if message != "TABLE" else str(files["TABLE"])
    assert expected in lines[0]
    assert result.stdout == "" and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()  # refused before anything was written
    assert not any(tmp_path.iterdir())  # no --out file or folder either


@pytest.mark.parametrize(
    ("args", "message"),
    [(["evaluate", "--nodes", "12.5"], "error: --nodes must be an integer (got '12.5')"),
     (["export", "RUN"], "error: missing option --out: a path, folder to write the network into"),
     (["sample", "--count", "1000000000000"],
      "error: count must be an integer <= 1000000 (got count=1000000000000)")],
)  # fmt: skip
def test_the_nas_command_itself_prints_the_one_line(args, message, tmp_path):
    """The installed ``nas`` command (not only the test runner) turns Click's usage errors
    into the one line: exit 2, no usage box, nothing on stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "nas.cli", *args]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == message + "\n" and result.stdout == ""
    assert not any(tmp_path.iterdir())


def test_help_and_no_arguments_are_unchanged():
    """``--help`` still exits 0 and ``nas`` alone still shows the help (exit 2)."""
    assert runner.invoke(app, ["--help"]).exit_code == 0
    assert runner.invoke(app, ["evaluate", "--help"]).exit_code == 0
    bare = runner.invoke(app, [])
    assert bare.exit_code == 2 and "evaluate" in bare.output and "error:" not in bare.output


def test_the_bounds_are_stated_in_help():
    def shown(command: str) -> str:  # the help's words, without the box and line breaks
        return " ".join(runner.invoke(app, [command, "--help"]).output.replace("│", " ").split())

    assert "at most 500" in shown("evaluate")
    assert "<= 500" in shown("search")
    assert "at most 1,000,000" in shown("sample")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it_is_refused_before_training(files, tmp_path):
    result = runner.invoke(app, [*EVALUATE, "--device", "cuda"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: device 'cuda' asked for, but this machine has no CUDA"


def test_an_error_appears_fast_because_heavy_imports_come_after_the_checks(tmp_path):
    """torch, Optuna and pandas take seconds to import; a bad option is refused first (on an
    idle machine in about a second: the limit here leaves room for a busy CI machine)."""
    command = [sys.executable, "-m", "nas.cli", "search", "--budget", "2", "--cell", "nope"]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    began = time.perf_counter()
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown cell 'nope'")
    assert elapsed < 3.5, f"{elapsed:.1f} s"
    heavy = "{'torch', 'optuna', 'pandas'}"
    probe = f"import sys, nas.cli.search; print(sorted({heavy} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True)  # fmt: skip
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_the_evaluate_path_imports_nothing_it_does_not_use(tmp_path):
    """scikit-learn (only the digits task), pandas (only tables) and matplotlib.pyplot (which
    igraph loads for plotting we never do) cost ~2 s of `nas evaluate`'s start between them;
    after the path's imports and a Reber task none of them is loaded, and matplotlib still
    imports afterwards."""
    heavy = "{'sklearn', 'pandas', 'matplotlib.pyplot'}"
    probe = (
        "import sys, nas.cli.evaluate, models.evaluation, nas.experiments.topologies; "
        "from nas.tasks import load_task; load_task('reber', n_strings=40); "
        "import graphs.properties as p; p.graph_properties(p.nx.cycle_graph(5)); "
        f"print(sorted({heavy} & set(sys.modules))); import matplotlib.pyplot"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_the_prune_command_checks_its_options_before_it_imports_torch(tmp_path):
    """`nas prune` loads without torch, pandas or Optuna and refuses a bad option before
    importing them; they come only once the options are good."""
    heavy = "{'torch', 'optuna', 'pandas'}"
    probe = (
        "import sys; from typer.testing import CliRunner; from nas.cli import app; "
        "import nas.cli.prune; loaded = sorted(HEAVY & set(sys.modules)); "
        "bad = CliRunner().invoke(app, ['prune', '--cell', 'nope']); "
        "print(bad.exit_code, loaded, sorted(HEAVY & set(sys.modules)))"
    ).replace("HEAVY", heavy)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "2 [] []", loaded.stderr


def test_an_unexpected_error_of_a_command_reaches_the_user_as_itself(monkeypatch):
    """A bug inside a command (not bad input) keeps its own exception: the app's usage-error
    handling lets it through unchanged, and Typer's Abort is "Aborted!" with exit 1."""
    import importlib

    import typer

    module = importlib.import_module("nas.cli.app")  # nas.cli.app is also the Typer app

    def fail(*args, **kwargs):
        raise LookupError("a bug")

    monkeypatch.setattr(module.LazyCommands, "invoke", fail)
    with pytest.raises(LookupError, match="a bug"):
        module.app(["rank", "x"], standalone_mode=True)

    def abort(*args, **kwargs):
        raise typer.Abort()

    monkeypatch.setattr(module.LazyCommands, "invoke", abort)
    with pytest.raises(SystemExit) as stop:
        module.app(["rank", "x"], standalone_mode=True)
    assert stop.value.code == 1
