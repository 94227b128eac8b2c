"""The bad-input matrix (issue 32): every case of ``bad_input_cases.CASES`` is one
`error: …` line on stderr, exit code 2, no progress bar, nothing on stdout and nothing
written (the working folder and the input files are listed before and after). Cases run
in-process; a representative one per command runs as the real ``nas`` command, which must
refuse it before it imports torch, pandas, Optuna, scikit-learn or plotly (the measure of a
fast error that does not depend on the machine's load; benchmarks/bad_inputs.py times them)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from bad_input_cases import CASES, EVALUATE, REPRESENTATIVE, make_inputs, swap
from typer.testing import CliRunner

from nas.cli import app
from nas.cli.app import COMMANDS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("torch", "pandas", "optuna", "sklearn", "xgboost", "plotly.graph_objects", "matplotlib")
"""What a bad input must not import. igraph imports plotly's top package (lazy, a few ms),
so plotly counts from its figure classes on."""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("inputs"))


def listing(folder: Path) -> list[tuple[str, int, int]]:
    """Every file and folder under ``folder`` with its size and modification time."""
    found = []
    for path in sorted(folder.rglob("*")):
        stat = path.stat()
        found.append((str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    return found


def test_the_matrix_covers_every_command_with_200_cases():
    commands = {" ".join(a[:2]) if a[0] == "predictor" else a[0] for a, _ in CASES}
    listed = runner.invoke(app, ["--help"]).output
    named = {"predictor train", "predictor eval", "predictor predict"}
    named |= {c for c in ("evaluate", "sample", "properties", "search", "prune", "report",
                          "rank", "export", "infer") if c in listed}  # fmt: skip
    assert named <= commands and len(CASES) >= 200
    assert len({tuple(a) for a, _ in CASES}) == len(CASES)  # no case twice


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_error_line_exit_2_and_nothing_written(args, message, inputs, tmp_path,
                                                                monkeypatch):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    folder = inputs["TABLE"].parent
    before = listing(folder)
    result = runner.invoke(app, swap(args, inputs))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr  # no bar, no box
    assert swap([message], inputs)[0] in lines[0]
    assert result.stdout == "" and "Traceback" not in result.output
    assert not any(tmp_path.iterdir())  # no --out file or folder, no runs/
    assert listing(folder) == before  # nothing written beside or into the inputs


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


@pytest.mark.parametrize(
    "command",
    [[], *([c] for c in COMMANDS), ["predictor"],
     *(["predictor", c] for c in ("train", "eval", "predict"))],
    ids=lambda c: " ".join(c) or "nas",
)  # fmt: skip
def test_no_help_offers_shell_completion(command):
    """The app installs no shell completion, so no ``--help`` lists Typer's
    ``--install-completion`` / ``--show-completion`` (each command is a Typer app of its
    own and would add them)."""
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Options" in result.output
    assert "completion" not in result.output.lower()


def test_the_bounds_are_stated_in_help():
    def shown(command: str) -> str:  # the help's words, without the box and line breaks
        return " ".join(runner.invoke(app, [command, "--help"]).output.replace("│", " ").split())

    assert "at most 500" in shown("evaluate")
    assert "<= 500" in shown("search")
    assert "at most 1,000,000" in shown("sample")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_machine_without_it_is_refused_before_training():
    result = runner.invoke(app, [*EVALUATE, "--device", "cuda"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: device 'cuda' asked for, but this machine has no CUDA"


WRAPPER = """
import atexit, sys
heavy = sys.argv.pop(1).split(",")
atexit.register(lambda: print(sorted(name for name in heavy if name in sys.modules)))
from nas.cli import run
sys.argv[0] = "nas"
run()
"""
"""The ``nas`` command, which prints the heavy modules it imported as it exits."""


@pytest.mark.parametrize(
    ("args", "message"), REPRESENTATIVE, ids=[" ".join(a) for a, _ in REPRESENTATIVE]
)
def test_a_real_nas_process_refuses_bad_input_before_any_heavy_import(args, message, inputs,
                                                                      tmp_path):  # fmt: skip
    """One bad input per command, as the user types it, in a fresh process: the one line,
    exit 2, nothing written, and none of torch, pandas, Optuna, scikit-learn, XGBoost,
    plotly's figures or matplotlib imported (each costs a fraction of a second to seconds
    of start-up; an error must not wait for them)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", WRAPPER, ",".join(HEAVY), *swap(args, inputs)]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert result.stdout == "[]\n"  # no heavy module when the error was printed
    assert not any(tmp_path.iterdir())


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
