"""`nas search` in-process (registered on a test app as nas.cli will): output, files, exit codes."""

import json

import optuna
import pytest
import typer
from typer.testing import CliRunner

import models.engine.stream
from models.engine.stream import _train_epoch as real_train_epoch
from nas.cli.search import search_command
from nas.search.spec import SearchSpec

runner = CliRunner()
app = typer.Typer(pretty_exceptions_enable=False)
app.command("search")(search_command)


@app.callback()
def main() -> None:
    """Test app: `search` as a subcommand, as in `nas`."""


@pytest.fixture(autouse=True)
def small(small_reber):
    """A 200-string Reber task (the command also quietens Optuna's logger: restore it)."""
    small_reber(200)
    yield
    optuna.logging.set_verbosity(optuna.logging.INFO)


def search(tmp_path, *options: str):
    base = ["search", "--budget", "4", "--epochs", "1", "--nodes", "10:12"]
    base += ["--strategy", "random", "--out", str(tmp_path / "run")]
    return runner.invoke(app, [*base, *options], env={"COLUMNS": "120"})  # one line a header


def test_help_says_what_the_budget_counts():
    result = runner.invoke(app, ["search", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "networks whose training starts" in text
    for option in ("--cell", "--budget", "--task", "--epochs", "--strategy", "--objective"):
        assert option in text
    for option in ("--nodes", "--families", "--storage", "--study", "--out", "--seed"):
        assert option in text
    assert "--warm-start" in text and "--json" in text


def test_search_prints_the_ranked_table_and_writes_its_files(tmp_path):
    result = search(tmp_path)
    assert result.exit_code == 0, result.output
    assert "best 4 topologies (gru, reber)" in result.stdout
    for header in ("family", "nodes", "edges", "layers", "nonzero", "predicted", "valid", "test"):
        assert header in result.stdout
    assert "4 ok" in result.stdout
    out = tmp_path / "run"
    for name in ("evaluations.csv", "evaluations.parquet", "config.json", "study.db"):
        assert (out / name).is_file()
    assert len(list((out / "best").glob("*.graphml"))) == 4


def test_json_output_and_resume(tmp_path):
    first = search(tmp_path, "--json")
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["study"] == "gru-reber" and payload["trials"] == {"ok": 4}
    assert len(payload["best"]) == 4 and payload["best"][0]["rank"] == 1
    assert payload["best"][0]["valid_acc"] >= payload["best"][-1]["valid_acc"]  # ranked by it
    assert all(0.0 <= row["test_acc"] <= 1.0 for row in payload["best"])
    again = json.loads(search(tmp_path, "--json").stdout)
    assert again["best"] == payload["best"] and again["trials"] == {"ok": 4}


def test_pareto_prints_the_front(tmp_path):
    result = search(tmp_path, "--objective", "pareto", "--study", "front")
    assert result.exit_code == 0, result.output
    assert "Pareto front: accuracy vs nonzero parameters" in result.stdout
    payload = json.loads(
        search(tmp_path, "--objective", "pareto", "--study", "front", "--json").stdout
    )
    sizes = [row["params_nonzero"] for row in payload["pareto_front"]]
    assert sizes == sorted(sizes) and sizes


@pytest.mark.parametrize(
    "options",
    [
        ["--cell", "transformer"],
        ["--budget", "0"],
        ["--nodes", "2:10"],
        ["--nodes", "30:10"],
        ["--families", "ws,hypercube"],
        ["--strategy", "grid"],
        ["--objective", "speed"],
        ["--task", "csv:no/such/file.csv"],
        ["--storage", "nosuchdb://x"],
        ["--warm-start", "no/such/table.csv"],
    ],
    ids=lambda options: "=".join(options),
)
def test_bad_input_exits_2_with_an_error_line_and_writes_nothing(tmp_path, options):
    result = search(tmp_path, *options)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_other_settings_on_an_existing_study_exit_2_and_change_nothing(tmp_path):
    assert search(tmp_path).exit_code == 0
    url = f"sqlite:///{tmp_path / 'run' / 'study.db'}"

    def content():
        study = optuna.load_study(study_name="gru-reber", storage=url)
        trials = [(t.number, t.state, t.params, t.user_attrs) for t in study.trials]
        return study.user_attrs, trials

    before = content()
    result = search(tmp_path, "--epochs", "3")
    assert result.exit_code == 2 and "epochs=1 (now 3)" in result.stderr
    assert content() == before


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, monkeypatch):
    calls = []

    def interrupt_the_second_epoch(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_train_epoch(*args)

    monkeypatch.setattr(models.engine.stream, "_train_epoch", interrupt_the_second_epoch)
    result = search(tmp_path, "--budget", "10", "--epochs", "2")  # one stack: two epochs
    assert result.exit_code == 130
    assert "run the same command again to resume" in " ".join(result.stderr.split())


def test_a_rerun_keeps_the_run_s_settings_and_never_rewrites_them_silently(tmp_path):
    """Issue 32, item 14, with real reruns of one out dir: options left out take the run's
    recorded settings; another --seed (a worker's own) trains on and leaves config.json's
    seeds alone; another value of a kept setting is one error line naming it with both
    values, and nothing changes."""
    out = tmp_path / "run"
    assert search(tmp_path, "--budget", "3", "--seed", "0").exit_code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["strategy"] == "random" and config["seed"] == 0
    # left out: epochs, nodes and the strategy come from the record (defaults would differ)
    bare = ["search", "--budget", "4", "--out", str(out), "--seed", "7", "--json"]
    rerun = runner.invoke(app, bare)
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["trials"] == {"ok": 4}
    again = json.loads((out / "config.json").read_text())
    changed = {k for k in config if config[k] != again[k]}
    assert changed <= {"budget", "warmup_trials"}, changed  # seeds and the rest as they were
    assert again["warmup_trials"] == SearchSpec.from_json(again).warmup_trials  # of the budget
    assert again["budget"] == 4 and again["seed"] == 0 and again["epochs"] == 1

    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    refused = search(tmp_path, "--budget", "5", "--strategy", "tpe")
    lines = refused.stderr.splitlines()
    assert refused.exit_code == 2 and len(lines) == 1, refused.output
    assert "strategy='random' (now 'tpe')" in lines[0] and lines[0].startswith("error: ")
    both = runner.invoke(app, [*bare[:-1], "--epochs", "2", "--nodes", "10:13"])
    assert both.exit_code == 2
    assert "epochs=1 (now 2), nodes=[10, 12] (now [10, 13])" in both.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_the_readout_is_recorded_and_a_rerun_with_another_one_is_refused(tmp_path):
    out = tmp_path / "run"
    assert search(tmp_path, "--budget", "2", "--readout", "sinks").exit_code == 0
    assert json.loads((out / "config.json").read_text())["readout"] == "sinks"
    kept = search(tmp_path, "--budget", "3", "--json")  # left out: the run's read-out
    assert kept.exit_code == 0, kept.output
    assert json.loads((out / "config.json").read_text())["readout"] == "sinks"
    refused = search(tmp_path, "--budget", "4", "--readout", "all")
    assert refused.exit_code == 2
    assert "readout='sinks' (now 'all')" in refused.stderr


def test_a_run_recorded_before_the_readout_resumes_as_the_last_layers(tmp_path):
    """config.json and the study of a run made before the setting existed lack it: every
    network of theirs read the last layer, so that is what a resume keeps to."""
    out = tmp_path / "run"
    assert search(tmp_path, "--budget", "2").exit_code == 0
    config = json.loads((out / "config.json").read_text())
    assert config.pop("readout") == "last"
    (out / "config.json").write_text(json.dumps(config))
    storage = optuna.storages.RDBStorage(f"sqlite:///{out / 'study.db'}")
    study = optuna.load_study(study_name="gru-reber", storage=storage)
    identity = dict(study.user_attrs["search_config"])
    del identity["readout"]
    study.set_user_attr("search_config", identity)
    del storage
    resumed = search(tmp_path, "--budget", "3", "--json")
    assert resumed.exit_code == 0, resumed.output
    refused = search(tmp_path, "--budget", "4", "--readout", "sinks")
    assert refused.exit_code == 2
    assert "readout='last' (now 'sinks')" in refused.stderr
