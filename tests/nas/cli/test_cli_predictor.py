"""`nas predictor` (nas/predictor_cli.py) run in-process: exit codes, JSON, files written."""

import json

import pandas as pd
import pytest
from predictor_fixtures import THESIS_TABLE, our_table
from typer.testing import CliRunner

from nas.cli.predictor import predictor_app

runner = CliRunner()
FAST = ["--cv", "3", "--repeats", "1", "--n-estimators", "10"]


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "evaluations.csv"
    our_table(30, repeats=1, seed=0).to_csv(path, index=False)
    return path


def test_eval_json_has_every_key_and_writes_a_plot(table_csv, tmp_path):
    plot = tmp_path / "plots" / "oof.png"
    result = runner.invoke(
        predictor_app,
        ["eval", "--data", str(table_csv), "--models", "bayesridge,rf", "--json"]
        + ["--plot", str(plot), *FAST],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["models"]) == {"bayesridge", "rf"}
    for scores in (*report["models"].values(), report["baseline"]):
        for key in ("r2_mean", "r2_std", "kendall_tau_mean", "kendall_tau_std"):
            assert isinstance(scores[key], float)
        for key in ("spearman_mean", "mae_mean", "top10_precision_mean"):
            assert key in scores
    assert "noise_ceiling" in report and report["noise_ceiling"] is None
    assert report["rows"] == 30 and report["cell"] == "gru"
    assert report["importance"] and report["correlations"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_prints_a_table(table_csv):
    args = ["eval", "--data", str(table_csv), "--models", "bayesridge", "--no-importance"]
    result = runner.invoke(predictor_app, [*args, *FAST])
    assert result.exit_code == 0, result.output
    for text in ("bayesridge", "size-only", "noise ceiling", "Kendall τ", "±"):
        assert text in result.stdout


def test_eval_mean_over_seeds_scores_one_row_per_graph(tmp_path):
    path = tmp_path / "repeats.csv"
    our_table(18, repeats=3, noise=0.02, seed=1).to_csv(path, index=False)
    args = ["eval", "--data", str(path), "--models", "bayesridge", "--no-importance", "--json"]
    runs = json.loads(runner.invoke(predictor_app, [*args, *FAST]).stdout)
    result = runner.invoke(predictor_app, [*args, *FAST, "--mean-over-seeds"])
    assert result.exit_code == 0, result.output
    means = json.loads(result.stdout)
    assert runs["rows"] == 54 and means["rows"] == 18
    single = runs["noise_ceiling"]
    assert means["noise_ceiling"] == pytest.approx(3 * single / (1 + 2 * single))


def test_eval_mean_over_seeds_without_graph_ids_is_a_one_line_error(tmp_path):
    path = tmp_path / "anonymous.csv"
    our_table(6, seed=1).drop(columns=["edge_list"]).to_csv(path, index=False)
    args = ["eval", "--data", str(path), "--models", "bayesridge", "--mean-over-seeds"]
    result = runner.invoke(predictor_app, [*args, *FAST])
    assert result.exit_code == 2
    assert "which rows are one graph" in result.stderr and len(result.stderr.splitlines()) <= 2


def test_eval_of_the_thesis_format_warns_about_missing_features():
    args = ["eval", "--data", str(THESIS_TABLE), "--models", "rf", "--no-importance", "--json"]
    result = runner.invoke(predictor_app, [*args, *FAST])
    assert result.exit_code == 0, result.output
    assert "warning: 18 feature(s) missing" in result.stderr
    assert len(json.loads(result.stdout)["features"]) == 23


def test_train_then_predict(table_csv, tmp_path):
    model = tmp_path / "model.joblib"
    result = runner.invoke(
        predictor_app,
        ["train", "--data", str(table_csv), "--out", str(model), "--model", "auto"]
        + ["--n-estimators", "10", "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["chosen"] in summary["inner_kendall_tau"] and model.exists()

    props = tmp_path / "props.csv"
    pd.read_csv(table_csv).drop(columns=["test_acc", "status"]).head(5).to_csv(props)
    out = tmp_path / "preds.csv"
    args = ["predict", "--model", str(model), "--data", str(props)]
    result = runner.invoke(predictor_app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    predictions = pd.read_csv(out)
    assert len(predictions) == 5
    assert predictions["predicted_acc"].between(0.5, 1.2).all()
    assert "predicted_std" in predictions
    result = runner.invoke(predictor_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 5
    result = runner.invoke(predictor_app, args)
    assert result.exit_code == 0 and "predicted_acc" in result.stdout


def test_train_prints_a_summary(table_csv, tmp_path):
    args = ["train", "--data", str(table_csv), "--out", str(tmp_path / "m.joblib")]
    result = runner.invoke(predictor_app, [*args, "--model", "rf", "--features", "thesis"])
    assert result.exit_code == 0, result.output
    assert "saved to" in result.stdout and "rf" in result.stdout


def test_train_tune_saves_the_grid_point_it_chose(table_csv, tmp_path):
    out = tmp_path / "tuned.zip"
    args = ["train", "--data", str(table_csv), "--out", str(out), "--model", "extratrees"]
    result = runner.invoke(predictor_app, [*args, "--n-estimators", "10", "--tune", "--json"])
    assert result.exit_code == 0, result.output
    from predictors.persistence import load_predictor

    estimator = load_predictor(out).estimator
    assert estimator.tune and set(estimator.best_params_) == {
        "model__max_features",
        "model__min_samples_leaf",
    }
    refused = runner.invoke(predictor_app, ["train", "--data", "missing.csv", "--out", "m.zip"]
                            + ["--model", "xgboost", "--tune"])  # fmt: skip
    assert refused.exit_code == 2 and "tune searches the forests' grid" in refused.stderr


def test_eval_tune_applies_to_the_forests_only(table_csv):
    args = ["eval", "--data", str(table_csv), "--models", "extratrees,bayesridge", "--json"]
    plain = json.loads(runner.invoke(predictor_app, [*args, *FAST, "--no-importance"]).stdout)
    result = runner.invoke(predictor_app, [*args, *FAST, "--no-importance", "--tune"])
    assert result.exit_code == 0, result.output
    tuned = json.loads(result.stdout)
    assert tuned["models"]["bayesridge"] == plain["models"]["bayesridge"]
    assert tuned["models"]["extratrees"] != plain["models"]["extratrees"]


@pytest.mark.parametrize(
    "args",
    [
        ["eval", "--data", "missing.csv"],
        ["train", "--data", "missing.csv", "--out", "m.joblib"],
        ["predict", "--model", "missing.joblib", "--data", "props.csv"],
        ["eval", "--data", "DATA", "--models", "rf,svm"],
        ["eval", "--data", "DATA", "--features", "most"],
        ["eval", "--data", "DATA", "--cell", "lstm"],
        ["eval", "--data", "DATA", "--cv", "1"],
        ["train", "--data", "NOFEATURES", "--out", "m.joblib"],
        ["predict", "--model", "CORRUPT", "--data", "DATA"],
    ],
    ids=[
        "eval-missing-file",
        "train-missing-file",
        "predict-missing-model",
        "unknown-model",
        "unknown-features",
        "other-cell",
        "one-fold",
        "no-usable-features",
        "corrupt-model",
    ],
)
def test_bad_input_exits_2_with_one_error_line(args, table_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    no_features = tmp_path / "nofeatures.csv"
    no_features.write_text("colour,test_acc\nred,0.9\nblue,0.8\n")
    corrupt = tmp_path / "corrupt.joblib"
    corrupt.write_bytes(b"not a model")
    swap = {"DATA": str(table_csv), "NOFEATURES": str(no_features), "CORRUPT": str(corrupt)}
    result = runner.invoke(predictor_app, [swap.get(a, a) for a in args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "Traceback" not in result.output


# Bad input of every predictor command: tests/nas/cli/bad_input_cases.py (the matrix).


def test_a_few_rows_with_nan_features_are_dropped_with_their_count(table_csv, tmp_path):
    frame = pd.read_csv(table_csv).drop(columns=["edge_list"])
    frame.loc[:2, "degree_mean"] = float("nan")
    path = tmp_path / "nan3.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "model.zip"
    args = ["train", "--data", str(path), "--model", "bayesridge", "--out", str(out), "--json"]
    result = runner.invoke(predictor_app, args)
    assert result.exit_code == 0, result.output
    assert (
        "warning: dropped 3 row(s) of table '" in result.stderr
        and "3 non-finite features (3 of 30, 10%; NaN or inf in degree_mean)" in result.stderr
    )
    assert json.loads(result.stdout)["rows"] == 27 and out.is_file()
    many = tmp_path / "nan20.csv"
    frame.loc[:19, "degree_mean"] = float("nan")
    frame.to_csv(many, index=False)
    args = ["train", "--data", str(many), "--model", "bayesridge", "--out", str(out), "--json"]
    allowed = runner.invoke(predictor_app, [*args, "--max-nan-share", "1"])
    assert allowed.exit_code == 0, allowed.output
    assert "(20 of 30, 67%;" in allowed.stderr and json.loads(allowed.stdout)["rows"] == 10
