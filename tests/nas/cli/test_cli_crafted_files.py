"""Files from others (issue 32): a crafted predictor, export card or weights file runs no code
and is one `error:` line with exit code 2, never a traceback, never advice to unpickle.

The matrix runs the commands as a user types them (in-process through the app, every case);
the cases that carry a code payload run again as real processes."""

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
import torch
from predictor_fixtures import our_table
from typer.testing import CliRunner

from models.export_card import CARD, MAX_VOCAB, WEIGHTS
from nas.cli import app
from nas.experiments.export import export_network
from predictors.persistence import FORMAT

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]


class Payload:
    """Unpickling it opens (creates) ``marker``: proof that a file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def assert_one_error_line(result, *fragments: str) -> str:
    """The whole contract: exit 2, one `error:` line and nothing else on stderr, no
    traceback, no word of weights_only; returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and "weights_only" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def nas(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``nas ARGS`` as a real process (this tree first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "nas.cli", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)


def assert_process_refused(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "weights_only" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def copy_folder(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def recompute_checksum(folder: Path, name: str = WEIGHTS) -> None:
    """Make card.json's checksum match the (crafted) file again, as an attacker would."""
    card = json.loads((folder / CARD).read_text())
    card["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / CARD).write_text(json.dumps(card))


@pytest.fixture(scope="module")
def export_dir(tiny_run, tmp_path_factory):
    out, _ = tiny_run
    folder = tmp_path_factory.mktemp("crafted-export") / "net"
    export_network(out, 1, folder)
    return folder


# -- predictor files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def predictor_files(tmp_path_factory):
    """A table, a predictor of ours, the same predictor in the old pickle format, and two
    pickles carrying a payload; the payload's marker file must never appear."""
    folder = tmp_path_factory.mktemp("crafted-predictors")
    table = folder / "table.csv"
    our_table(20, repeats=1, seed=0).to_csv(table, index=False)
    ours = folder / "ours.zip"
    trained = runner.invoke(
        app, ["predictor", "train", "--data", str(table), "--model", "bayesridge",
              "--out", str(ours)],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    from predictors.persistence import load_predictor

    predictor = load_predictor(ours)
    old = folder / "old.joblib"
    joblib.dump(
        {"format": FORMAT, "format_version": 1, "estimator": predictor.estimator,
         "features": list(predictor.features), "cell": predictor.cell,
         "data_hash": predictor.data_hash, "rows": predictor.rows,
         "versions": dict(predictor.versions)},
        old, compress=3,
    )  # fmt: skip
    marker = folder / "MARKER"
    joblib.dump({"format": FORMAT, "x": Payload(marker)}, folder / "evil.joblib", compress=3)
    (folder / "evil.pkl").write_bytes(pickle.dumps(Payload(marker)))
    return {"folder": folder, "table": table, "ours": ours, "old": old, "marker": marker}


@pytest.mark.parametrize("name", ["evil.joblib", "evil.pkl", "old.joblib"])
def test_predict_refuses_a_pickle(predictor_files, name):
    model = predictor_files["folder"] / name
    args = ["predictor", "predict", "--model", str(model), "--data", str(predictor_files["table"])]
    line = assert_one_error_line(runner.invoke(app, args), "old-format predictor")
    assert "train it again with `nas predictor train`" in line and "--trust-pickle" in line
    assert not predictor_files["marker"].exists()


def test_trust_pickle_loads_your_own_old_file(predictor_files):
    table = str(predictor_files["table"])
    args = ["predictor", "predict", "--data", table, "--json", "--model"]
    new = runner.invoke(app, [*args, str(predictor_files["ours"])])
    old = runner.invoke(app, [*args, str(predictor_files["old"]), "--trust-pickle"])
    assert new.exit_code == 0 and old.exit_code == 0, old.output
    assert json.loads(old.stdout) == json.loads(new.stdout)
    shown = runner.invoke(app, ["predictor", "predict", "--help"]).stdout
    words = " ".join(shown.replace("│", " ").split())
    assert "--trust-pickle" in words and "UNSAFE: a pickle runs code when loaded" in words
    assert "never for files from others" in words


def test_a_pickle_payload_runs_in_no_real_process(predictor_files):
    folder, marker = predictor_files["folder"], predictor_files["marker"]
    table = str(predictor_files["table"])
    for name in ("evil.joblib", "evil.pkl"):
        result = nas("predictor", "predict", "--model", name, "--data", table, cwd=folder)
        assert_process_refused(result, "old-format predictor", "--trust-pickle")
        # --warm-start reads a table (CSV or Parquet), never a pickle.
        result = nas("search", "--warm-start", name, "--budget", "2", "--out", "run", cwd=folder)
        assert_process_refused(result, "cannot read evaluations table")
        assert not (folder / "run").exists()
    assert not marker.exists()
    result = nas(
        "predictor", "predict", "--model", "old.joblib", "--data", table, "--trust-pickle",
        "--out", "old.csv", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (folder / "old.csv").is_file()


# -- export cards ---------------------------------------------------------------------------------


def set_input(key, value):
    return lambda card: card | {"input": card["input"] | {key: value}}


def drop(key):
    return lambda card: {k: v for k, v in card.items() if k != key}


CARDS = {
    "vocab_size 1e15": (set_input("vocab_size", 1e15), "input.vocab_size must be an integer"),
    "vocab_size 10**15": (set_input("vocab_size", 10**15), f"in [2, {MAX_VOCAB}]"),
    "vocab_size beyond the weights": (
        set_input("vocab_size", MAX_VOCAB),
        "fewer than the network of card.json needs",
    ),
    "vocab_size a string": (set_input("vocab_size", "23"), "must be an integer (got '23')"),
    "n_classes -1": (lambda c: c | {"n_classes": -1}, "n_classes must be an integer in [2, "),
    "n_classes a float": (lambda c: c | {"n_classes": 2.0}, "n_classes must be an integer"),
    "n_classes true": (lambda c: c | {"n_classes": True}, "n_classes must be an integer"),
    "embedding_dim 0": (lambda c: c | {"embedding_dim": 0}, "embedding_dim must be"),
    "cell unknown": (lambda c: c | {"cell": "transformer"}, "unknown cell 'transformer'"),
    "cell a number": (lambda c: c | {"cell": 3}, "unknown cell 3"),
    "input kind unknown": (set_input("kind", "pixels"), "unknown input kind 'pixels'"),
    "vocabulary a list": (set_input("vocabulary", ["B", "T"]), "input.vocabulary must map"),
    "vocabulary id too big": (set_input("vocabulary", {"B": 99}), "id of 'B' must be in [1, "),
    "vocabulary id a string": (set_input("vocabulary", {"B": "2"}), "integer ids (got 'B')"),
    "class_names too few": (lambda c: c | {"class_names": ["x"]}, "class_names must be a list"),
    "files checksum a number": (lambda c: c | {"files": {WEIGHTS: 1}}, "SHA-256"),
    "no cell": (drop("cell"), "it lacks cell"),
    "no n_classes": (drop("n_classes"), "it lacks n_classes"),
    "no input": (drop("input"), "it lacks input"),
    "input a list": (lambda c: c | {"input": [1]}, "files and input must be objects"),
    "card a list": (lambda c: [c], "does not hold a JSON object"),
}


@pytest.mark.parametrize("case", CARDS)
def test_a_crafted_card_is_one_error_line(export_dir, tmp_path, case):
    folder = copy_folder(export_dir, tmp_path / "net")
    change, message = CARDS[case]
    card = json.loads((folder / CARD).read_text())
    (folder / CARD).write_text(json.dumps(change(card)))
    assert_one_error_line(runner.invoke(app, ["infer", str(folder), "BTX"]), message)


# -- weights files --------------------------------------------------------------------------------


def truncated_zip(path: Path, marker: Path) -> bytes:
    data = path.read_bytes()
    return data[: len(data) // 2]


PADDING = torch.zeros(100_000)  # crafted files as large as real weights (the card's size check)


def zipped_payload(path: Path, marker: Path) -> bytes:
    crafted = path.with_suffix(".crafted")
    torch.save({"x": Payload(marker), "pad": PADDING}, crafted)  # its pickle names open()
    return crafted.read_bytes()


def wrong_shapes(path: Path, marker: Path) -> bytes:
    crafted = path.with_suffix(".crafted")
    state = torch.load(path, weights_only=True)
    torch.save({name: torch.zeros(value.numel() + 1) for name, value in state.items()}, crafted)
    return crafted.read_bytes()


def not_tensors(path: Path, marker: Path) -> bytes:
    crafted = path.with_suffix(".crafted")
    torch.save({**torch.load(path, weights_only=True), "extra": [1, 2, 3]}, crafted)
    return crafted.read_bytes()


WEIGHTS_FILES = {
    "truncated zip": (truncated_zip, "it is a damaged or truncated PyTorch zip file"),
    "not a zip": (
        lambda p, m: b"these are not weights\n" * 10_000,
        "it is not a PyTorch weights file (IndexError)",
    ),
    "a zip with a pickle naming an unknown global": (
        zipped_payload,
        "it refers to io.open, which a weights file never holds",
    ),
    "a bare pickle with a payload": (
        lambda p, m: pickle.dumps([Payload(m), bytes(400_000)], protocol=2),
        "it refers to io.open, which a weights file never holds",
    ),
    "wrong tensor shapes": (
        wrong_shapes,
        "it does not fit (size mismatch for embedding.weight: copying a param with shape",
    ),
    "not tensors": (not_tensors, "it does not hold a state_dict of tensors"),
    "an empty file": (lambda p, m: b"", "holds 0 bytes, fewer than the network of card.json"),
}


@pytest.mark.parametrize("case", WEIGHTS_FILES)
def test_crafted_weights_are_one_error_line(export_dir, tmp_path, case):
    folder = copy_folder(export_dir, tmp_path / "net")
    marker = tmp_path / "MARKER"
    craft, message = WEIGHTS_FILES[case]
    (folder / WEIGHTS).write_bytes(craft(folder / WEIGHTS, marker))
    recompute_checksum(folder)
    line = assert_one_error_line(runner.invoke(app, ["infer", str(folder), "BTX"]), message)
    if case != "an empty file":  # the card's size check answers first
        assert f"cannot load '{folder / WEIGHTS}' into the network" in line
    assert not marker.exists()


BEST_WEIGHTS = {
    "a zip with a pickle naming an unknown global": WEIGHTS_FILES[
        "a zip with a pickle naming an unknown global"
    ],
    "not a zip": WEIGHTS_FILES["not a zip"],
    "an empty file": (lambda p, m: b"", "it is empty or truncated"),
}


@pytest.mark.parametrize("case", BEST_WEIGHTS)
def test_crafted_best_weights_of_a_run_are_one_error_line(tiny_run, tmp_path, case):
    out, _ = tiny_run
    run = copy_folder(out, tmp_path / "run")
    weights = sorted((run / "best").glob("*.pt"))
    marker = tmp_path / "MARKER"
    craft, message = BEST_WEIGHTS[case]
    for path in weights:
        path.write_bytes(craft(path, marker))
    result = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "x")])
    assert_one_error_line(result, message)
    assert not marker.exists() and not (tmp_path / "x" / CARD).exists()


def test_crafted_files_run_no_code_in_real_processes(tiny_run, export_dir, tmp_path):
    marker = tmp_path / "MARKER"
    folder = copy_folder(export_dir, tmp_path / "net")
    (folder / WEIGHTS).write_bytes(zipped_payload(folder / WEIGHTS, marker))
    recompute_checksum(folder)
    result = nas("infer", str(folder), "BTX", cwd=tmp_path)
    assert_process_refused(result, "refers to io.open")
    card = json.loads((folder / CARD).read_text())
    (folder / CARD).write_text(json.dumps(card | {"n_classes": -1}))
    assert_process_refused(nas("infer", str(folder), "BTX", cwd=tmp_path), "n_classes")
    out, _ = tiny_run
    run = copy_folder(out, tmp_path / "run")
    top = sorted((run / "best").glob("*.pt"))
    for path in top:
        path.write_bytes(pickle.dumps(Payload(marker), protocol=2))
    result = nas("export", str(run), "--out", str(tmp_path / "x"), cwd=tmp_path)
    assert_process_refused(result, "refers to io.open")
    assert not marker.exists()
