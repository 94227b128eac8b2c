"""CSV tasks in the thesis' convention (`string`, `valid`) and with a fixed test file."""

from __future__ import annotations

import pytest

from core.errors import SparseNASError
from nas.tasks import load_task
from nas.tasks.csv_task import make_csv_task
from nas.tasks.encoding import decode_sequences

TRAIN = ["BTXSE,1", "BPVVE,1", "BTSXSE,1", "BXTSE,0", "BPTTE,0", "BVPXE,0"]
TEST = ["BPVPSE,1", "BSXTE,0"]


def _write(path, header: str, rows: list[str]):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _decoded(part, vocab) -> dict[str, int]:
    tokens = decode_sequences(part, vocab)
    return {"".join(t): label for t, label in zip(tokens, part.labels.tolist(), strict=True)}


def test_thesis_columns_read_like_the_default_ones(tmp_path) -> None:
    thesis = make_csv_task(_write(tmp_path / "a.csv", "string,valid", TRAIN), seed=3)
    ours = make_csv_task(_write(tmp_path / "b.csv", "sequence,label", TRAIN), seed=3)
    for part in ("train", "test"):
        for field in ("inputs", "lengths", "labels"):
            assert getattr(getattr(thesis, part), field).equal(getattr(getattr(ours, part), field))


def test_true_false_labels_read_as_one_and_zero(tmp_path) -> None:
    rows = [r.replace(",1", ",True").replace(",0", ",false") for r in TRAIN]
    words = make_csv_task(_write(tmp_path / "a.csv", "string,valid", rows), seed=0)
    digits = make_csv_task(_write(tmp_path / "b.csv", "string,valid", TRAIN), seed=0)
    assert words.train.labels.equal(digits.train.labels)


def test_default_names_win_when_a_file_has_both_conventions(tmp_path) -> None:
    rows = ["AB,0,BTXSE,1", "BA,1,BPVVE,1", "AA,0,BTX,0", "BB,1,BPX,0"]
    task = make_csv_task(_write(tmp_path / "a.csv", "sequence,label,string,valid", rows))
    assert task.vocab_size == 3  # A and B: the `sequence` column was read


def test_fixed_test_file_trains_and_validates_on_its_rows_and_tests_on_the_other(
    tmp_path,
) -> None:
    train = _write(tmp_path / "train_data.csv", "string,valid", TRAIN)
    test = _write(tmp_path / "test_data.csv", "string,valid", TEST)
    task = load_task(f"csv:{train}", test_data=test, seed=1)
    vocab = {letter: i + 1 for i, letter in enumerate(sorted("BTXSEPV"))}
    assert task.vocab_size == len(vocab) + 1
    assert _decoded(task.test, vocab) == {"BPVPSE": 1, "BSXTE": 0}
    seen = _decoded(task.train, vocab) | _decoded(task.valid, vocab)
    assert seen == {r.split(",")[0]: int(r[-1]) for r in TRAIN}  # every row, once
    assert len(task.valid) == max(1, round(0.1 * len(TRAIN)))
    # the seed draws the validation rows and shuffles the training rows, never the test
    other = load_task(f"csv:{train}", test_data=test, seed=2)
    assert other.test.inputs.equal(task.test.inputs)
    assert not other.train.inputs.equal(task.train.inputs)


def test_test_file_tokens_share_the_vocabulary(tmp_path) -> None:
    train = _write(tmp_path / "train.csv", "string,valid", ["AB,1", "BA,0"])
    test = _write(tmp_path / "test.csv", "string,valid", ["AC,1", "CA,0"])
    task = make_csv_task(train, test_path=test)
    assert task.vocab_size == 4  # A, B, C and padding


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("text,valid", "column 'sequence' not found"),
        ("string,label2", "column 'sequence' not found"),
        ("sequence,valid", "column 'label' not found"),
    ],
)
def test_files_lacking_the_columns_are_one_line_errors(tmp_path, header, fragment) -> None:
    path = _write(tmp_path / "bad.csv", header, ["BTXSE,1", "BTX,0"])
    with pytest.raises(SparseNASError, match=fragment) as info:
        make_csv_task(path)
    message = str(info.value)
    assert "\n" not in message and "`string`, `valid`" in message
    assert f"available columns: {', '.join(repr(c) for c in header.split(','))}" in message


def test_a_bad_test_file_is_named_in_the_error(tmp_path) -> None:
    train = _write(tmp_path / "train.csv", "string,valid", TRAIN)
    bad = _write(tmp_path / "test.csv", "text,y", ["BTXSE,1"])
    with pytest.raises(SparseNASError, match="test.csv") as info:
        make_csv_task(train, test_path=bad)
    assert "\n" not in str(info.value)
    with pytest.raises(SparseNASError, match="does not exist"):
        make_csv_task(train, test_path=tmp_path / "nowhere.csv")
    labels = _write(tmp_path / "labels.csv", "string,valid", ["BTXSE,yes"])
    with pytest.raises(SparseNASError, match="'yes' in data row 1"):
        make_csv_task(train, test_path=labels)


def test_test_data_needs_a_csv_task(tmp_path) -> None:
    test = _write(tmp_path / "test.csv", "string,valid", TEST)
    with pytest.raises(SparseNASError, match="needs a CSV task"):
        load_task("reber", test_data=test, n_strings=40)


def _thesis_files(tmp_path):
    train = _write(tmp_path / "train_data.csv", "string,valid", TRAIN * 4)
    test = _write(tmp_path / "test_data.csv", "string,valid", TEST)
    return train, test


def test_evaluate_tests_on_the_given_file(tmp_path) -> None:
    import json

    from typer.testing import CliRunner

    from nas.cli import app

    train, test = _thesis_files(tmp_path)
    args = ["evaluate", "--nodes", "10", "--epochs", "1", "--json", "--task", f"csv:{train}"]
    result = CliRunner().invoke(app, [*args, "--test-data", str(test)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    # two test strings: the accuracy is a multiple of 1/2
    assert record["test_acc"] in (0.0, 0.5, 1.0)


@pytest.mark.parametrize("command", ["evaluate", "prune", "search"])
def test_commands_refuse_a_bad_test_file_in_one_line(tmp_path, command) -> None:
    from typer.testing import CliRunner

    from nas.cli import app

    train, _ = _thesis_files(tmp_path)
    bad = _write(tmp_path / "bad.csv", "text,y", ["BTXSE,1"])
    args = [command, "--task", f"csv:{train}", "--test-data", str(bad)]
    if command == "search":
        args += ["--budget", "1", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "column 'sequence' not found in" in result.output
    assert "Traceback" not in result.output


UNSEEN = [
    # (training rows, test rows, the class named)
    (TRAIN, ["BPVPSE,2", "BSXTE,0"], "class 2 that the training file"),
    (TRAIN, ["BPVPSE,2", "BSXTE,7"], "classes 2, 7 that the training file"),
    ([r for r in TRAIN if r.endswith(",1")], TEST, "class 0 that the training file"),
]  # fmt: skip


@pytest.mark.parametrize(("train_rows", "test_rows", "message"), UNSEEN)
def test_a_test_class_the_training_file_lacks_is_refused(
    tmp_path, train_rows, test_rows, message
) -> None:
    train = _write(tmp_path / "train.csv", "string,valid", train_rows)
    test = _write(tmp_path / "test.csv", "string,valid", test_rows)
    with pytest.raises(SparseNASError, match=message) as info:
        make_csv_task(train, test_path=test)
    assert "\n" not in str(info.value) and str(test) in str(info.value)
    assert str(train) in str(info.value)


def test_a_test_class_the_training_file_lacks_is_one_error_line_in_the_cli(
    tmp_path, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from nas.cli import app

    monkeypatch.chdir(tmp_path)
    train = _write(tmp_path / "train.csv", "string,valid", TRAIN)
    test = _write(tmp_path / "test.csv", "string,valid", ["BPVPSE,2", "BSXTE,0"])
    args = ["evaluate", "--task", f"csv:{train}", "--test-data", str(test), "--epochs", "1"]
    result = CliRunner().invoke(app, [*args, "--nodes", "10"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0] == (
        f"error: the test file {test} has class 2 that the training file {train} lacks; "
        "every test label must occur in the training file"
    )
    assert result.stdout == "" and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.csv", "train.csv"]
