"""Tests for nas/tasks: the Reber validators and generators, digits, CSV files and load_task."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import SparseNASError
from models.data import Task
from nas.tasks import TASK_NAMES, load_task
from nas.tasks.csv_task import make_csv_task
from nas.tasks.digits import make_digits_task
from nas.tasks.embedded_reber import (
    generate_invalid_embedded,
    generate_valid_embedded,
    is_valid_embedded,
    make_embedded_reber_task,
)
from nas.tasks.encoding import build_vocab, decode_sequences, encode_sequences, split_task
from nas.tasks.reber import (
    ALPHABET,
    FOREIGN,
    VOCAB,
    VOCAB_SIZE,
    generate_invalid,
    generate_valid,
    is_valid,
    make_reber_task,
    single_edit,
)


def _strings(task: Task) -> list[tuple[str, int]]:
    """Every (string, label) pair of a letter task, decoded back from its tensors."""
    pairs = []
    for part in (task.train, task.valid, task.test):
        for tokens, label in zip(decode_sequences(part, VOCAB), part.labels.tolist(), strict=True):
            pairs.append(("".join(tokens), label))
    return pairs


def _same_task(a: Task, b: Task) -> bool:
    return all(
        torch.equal(getattr(pa, field), getattr(pb, field))
        for pa, pb in ((a.train, b.train), (a.valid, b.valid), (a.test, b.test))
        for field in ("inputs", "lengths", "labels")
    )


# --- Reber validator ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "string", ["BTXSE", "BPVVE", "BTSSXXTVVE", "BPTVPSE", "BTXXVPSE", "BPVPXVVE", "BTSXXTTVVE"]
)
def test_is_valid_accepts_reber_strings(string: str) -> None:
    assert is_valid(string)


@pytest.mark.parametrize(
    "string",
    [
        pytest.param("", id="empty"),
        pytest.param("TXSE", id="missing-B"),
        pytest.param("BTXS", id="missing-E"),
        pytest.param("BTXX", id="stops-early"),
        pytest.param("B", id="only-B"),
        pytest.param("BE", id="B-then-E"),
        pytest.param("BTSE", id="E-before-end-state"),
        pytest.param("BTVSE", id="wrong-transition"),
        pytest.param("BPXVE", id="wrong-transition-2"),
        pytest.param("BTQSE", id="foreign-letter"),
        pytest.param("BTXSEE", id="extra-E"),
        pytest.param("BTXSET", id="symbol-after-E"),
        pytest.param("BBTXSE", id="double-B"),
        pytest.param("btxse", id="lowercase"),
    ],
)
def test_is_valid_rejects_non_reber_strings(string: str) -> None:
    assert not is_valid(string)


def test_generated_strings_carry_the_validator_label() -> None:
    rng = np.random.default_rng(0)
    valid, invalid = generate_valid(500, rng), generate_invalid(500, rng)
    assert all(is_valid(s) for s in valid)
    assert not any(is_valid(s) for s in invalid)
    # Single edits stay inside the Reber alphabet, so exactly half carry foreign letters.
    assert sum(any(c in FOREIGN for c in s) for s in invalid) == 250
    assert all(set(s) <= set(ALPHABET) | set(FOREIGN) for s in invalid)


def test_single_edit_changes_length_by_at_most_one() -> None:
    rng = np.random.default_rng(1)
    for string in generate_valid(200, rng):
        edited = single_edit(string, rng)
        assert edited != string
        assert abs(len(edited) - len(string)) <= 1
        assert set(edited) <= set(ALPHABET)


def test_reber_task_labels_match_the_validator() -> None:
    task = make_reber_task(n_strings=400, seed=3)
    pairs = _strings(task)
    assert len(pairs) == 400
    assert all(int(is_valid(s)) == label for s, label in pairs)


def test_reber_task_shapes_and_padding() -> None:
    task = make_reber_task(n_strings=200, seed=0)
    assert task.name == "reber"
    assert (task.n_classes, task.vocab_size, task.n_features) == (2, 27, None)
    assert VOCAB_SIZE == 27 and VOCAB["A"] == 1 and VOCAB["Z"] == 26
    for part in (task.train, task.valid, task.test):
        assert part.inputs.dtype == torch.int64 and part.lengths.dtype == torch.int64
        assert int(part.lengths.max()) == part.inputs.shape[1]
        positions = torch.arange(part.inputs.shape[1])
        padding = positions[None, :] >= part.lengths[:, None]
        assert torch.all((part.inputs == 0) == padding)
        assert int(part.inputs.max()) < VOCAB_SIZE


def test_reber_task_is_deterministic_per_seed() -> None:
    a, b = make_reber_task(n_strings=200, seed=5), make_reber_task(n_strings=200, seed=5)
    c = make_reber_task(n_strings=200, seed=6)
    assert _same_task(a, b)
    assert not _same_task(a, c)


def test_reber_task_is_balanced_and_stratified() -> None:
    task = make_reber_task(n_strings=200, seed=0)
    assert (len(task.train), len(task.valid), len(task.test)) == (130, 20, 50)
    assert int(task.train.labels.sum()) == 65
    assert int(task.valid.labels.sum()) == 10
    assert int(task.test.labels.sum()) == 25


def test_default_reber_task_has_the_documented_size() -> None:
    task = make_reber_task()
    assert (len(task.train), len(task.valid), len(task.test)) == (16_250, 2_500, 6_250)
    assert sum(int(part.labels.sum()) for part in (task.train, task.valid, task.test)) == 12_500


@pytest.mark.parametrize("n_strings", [0, 3, -10, 2.5, True])
def test_reber_task_rejects_bad_sizes(n_strings: object) -> None:
    with pytest.raises(SparseNASError, match="n_strings"):
        make_reber_task(n_strings=n_strings)  # type: ignore[arg-type]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_reber_task_rejects_bad_test_fraction(fraction: float) -> None:
    with pytest.raises(SparseNASError, match="test_fraction"):
        make_reber_task(n_strings=40, test_fraction=fraction)


def test_reber_task_rejects_a_negative_seed() -> None:
    with pytest.raises(SparseNASError, match="seed"):
        make_reber_task(n_strings=40, seed=-1)


# --- embedded Reber ----------------------------------------------------------------------------


@pytest.mark.parametrize("string", ["BTBTXSETE", "BPBPVVEPE", "BTBPTVPSETE", "BPBTSSXXTVVEPE"])
def test_is_valid_embedded_accepts_embedded_strings(string: str) -> None:
    assert is_valid_embedded(string)


@pytest.mark.parametrize(
    "string",
    [
        pytest.param("", id="empty"),
        pytest.param("BTXSE", id="plain-reber"),
        pytest.param("BTBTXSEPE", id="long-lag-mismatch-TP"),
        pytest.param("BPBPVVETE", id="long-lag-mismatch-PT"),
        pytest.param("BTBTXXETE", id="bad-inner-string"),
        pytest.param("BXBTXSEXE", id="outer-branch-not-T-or-P"),
        pytest.param("TBTXSETE", id="missing-B"),
        pytest.param("BTBTXSET", id="missing-E"),
        pytest.param("BTBTXSEQE", id="foreign-letter"),
        pytest.param("BTTE", id="empty-inner"),
    ],
)
def test_is_valid_embedded_rejects_other_strings(string: str) -> None:
    assert not is_valid_embedded(string)


def test_generated_embedded_strings_carry_the_validator_label() -> None:
    rng = np.random.default_rng(0)
    valid, invalid = generate_valid_embedded(300, rng), generate_invalid_embedded(300, rng)
    assert all(is_valid_embedded(s) for s in valid)
    assert not any(is_valid_embedded(s) for s in invalid)
    mismatched = [s for s in invalid if s[1] in "TP" and s[-2] in "TP" and s[1] != s[-2]]
    long_lag = [s for s in mismatched if s[0] == "B" and s[-1] == "E" and is_valid(s[2:-2])]
    assert len(long_lag) >= 100


def test_embedded_reber_task_labels_and_determinism() -> None:
    task = make_embedded_reber_task(n_strings=300, seed=2)
    assert task.name == "embedded-reber" and task.vocab_size == 27
    assert all(int(is_valid_embedded(s)) == label for s, label in _strings(task))
    assert _same_task(task, make_embedded_reber_task(n_strings=300, seed=2))
    assert not _same_task(task, make_embedded_reber_task(n_strings=300, seed=3))


# --- digits ------------------------------------------------------------------------------------


def test_digits_task_is_8_steps_of_8_features() -> None:
    task = make_digits_task(seed=0)
    assert (task.name, task.n_classes, task.n_features, task.vocab_size) == ("digits", 10, 8, None)
    assert not task.uses_tokens
    assert len(task.train) + len(task.valid) + len(task.test) == 1797
    assert (len(task.valid), len(task.test)) == (round(1797 * 0.1), round(1797 * 0.25))
    for part in (task.train, task.valid, task.test):
        assert part.inputs.shape[1:] == (8, 8) and part.inputs.dtype == torch.float32
        assert float(part.inputs.min()) >= 0.0 and float(part.inputs.max()) <= 1.0
        assert torch.all(part.lengths == 8)
        assert set(part.labels.tolist()) == set(range(10))


def test_digits_split_depends_on_the_seed() -> None:
    a, b, c = make_digits_task(seed=1), make_digits_task(seed=1), make_digits_task(seed=2)
    assert _same_task(a, b)
    assert not _same_task(a, c)


# --- encoding helpers --------------------------------------------------------------------------


def test_build_vocab_is_sorted_and_starts_at_one() -> None:
    assert build_vocab(["ba", ["c", "a"]]) == {"a": 1, "b": 2, "c": 3}


def test_encode_sequences_pads_at_the_end() -> None:
    data = encode_sequences(["ab", "b", ["a", "a", "b"]], [0, 1, 0], {"a": 1, "b": 2})
    assert data.inputs.tolist() == [[1, 2, 0], [2, 0, 0], [1, 1, 2]]
    assert data.lengths.tolist() == [2, 1, 3]


@pytest.mark.parametrize(
    ("sequences", "labels", "fragment"),
    [
        (["ab", ""], [0, 1], "empty"),
        (["ab", "z"], [0, 1], "'z'"),
        (["ab"], [0, 1], "labels"),
    ],
)
def test_encode_sequences_rejects_bad_input(
    sequences: list[str], labels: list[int], fragment: str
) -> None:
    with pytest.raises(SparseNASError, match=fragment):
        encode_sequences(sequences, labels, {"a": 1, "b": 2})


def test_split_task_without_stratification_keeps_every_row_once() -> None:
    data = encode_sequences(["a"] * 10, list(range(10)), {"a": 1})
    task = split_task("t", data, 10, np.random.default_rng(0), 0.3, stratify=False)
    assert (len(task.train), len(task.valid), len(task.test)) == (6, 1, 3)
    labels = task.train.labels.tolist() + task.valid.labels.tolist() + task.test.labels.tolist()
    assert sorted(labels) == list(range(10))


# --- CSV ---------------------------------------------------------------------------------------


def _write(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_task_happy_path(tmp_path) -> None:
    rows = ["ACGT,7", "GATTACA,3", '"12 7 7",7', "CAT,3", "TAG,7", "GG,3", "AC,7", "TT,3"]
    path = _write(tmp_path, "sequence,label\n" + "\n".join(rows) + "\n")
    task = make_csv_task(path, seed=0)
    assert task.name == "csv:data.csv"
    assert task.n_classes == 2 and task.uses_tokens
    # Tokens: the characters A C G T and the whitespace tokens 12 and 7, sorted.
    vocab = {"12": 1, "7": 2, "A": 3, "C": 4, "G": 5, "T": 6}
    assert task.vocab_size == len(vocab) + 1
    decoded = {}
    for part in (task.train, task.valid, task.test):
        for tokens, label in zip(decode_sequences(part, vocab), part.labels.tolist(), strict=True):
            decoded[" ".join(tokens)] = label
    # Labels 3 and 7 become 0 and 1 in sorted order.
    assert decoded == {
        "A C G T": 1,
        "G A T T A C A": 0,
        "12 7 7": 1,
        "C A T": 0,
        "T A G": 1,
        "G G": 0,
        "A C": 1,
        "T T": 0,
    }
    assert (len(task.train), len(task.valid), len(task.test)) == (5, 1, 2)
    assert _same_task(task, make_csv_task(path, seed=0))


def test_csv_task_custom_columns(tmp_path) -> None:
    path = _write(tmp_path, "id,text,y\n1,ab,0\n2,ba,1\n3,aa,0\n4,bb,1\n")
    task = make_csv_task(path, sequence_column="text", label_column="y")
    assert (task.n_classes, task.vocab_size) == (2, 3)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"", "is empty", id="empty-file"),
        pytest.param(b"sequence,label\n", "no data rows", id="header-only"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "could not read", id="binary"),
        pytest.param(b"sequence,label\nab,1,2,3\nba,0\n", "could not read", id="ragged"),
        pytest.param(b"seq,label\nab,1\n", "column 'sequence' not found", id="missing-column"),
        pytest.param(b"sequence,label\nab,1\n,0\n", "empty sequence in data row 2", id="empty-seq"),
        pytest.param(b'sequence,label\nab,1\n"   ",0\n', "empty sequence", id="blank-seq"),
        pytest.param(b"sequence,label\nab,1\nba,1.5\n", "integer labels", id="float-label"),
        pytest.param(b"sequence,label\nab,cat\nba,1\n", "'cat' in data row 1", id="text-label"),
        pytest.param(b"sequence,label\nab,\nba,1\n", "integer labels", id="missing-label"),
        pytest.param(b"sequence,label\nab,4\nba,4\n", "single class", id="one-class"),
    ],
)
def test_csv_task_errors(tmp_path, content: bytes, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(SparseNASError, match=fragment) as info:
        make_csv_task(path)
    assert "\n" not in str(info.value)


def test_csv_missing_column_lists_the_available_ones(tmp_path) -> None:
    path = _write(tmp_path, "text,label\nab,1\n")
    with pytest.raises(SparseNASError, match="available columns: 'text', 'label'"):
        make_csv_task(path)


def test_csv_missing_file_and_directory(tmp_path) -> None:
    with pytest.raises(SparseNASError, match="does not exist"):
        make_csv_task(tmp_path / "nowhere.csv")
    with pytest.raises(SparseNASError, match="not a file"):
        make_csv_task(tmp_path)


# --- load_task ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TASK_NAMES)
def test_load_task_builds_each_named_task(name: str) -> None:
    task = load_task(name, seed=1, n_strings=40)
    assert task.name == name
    assert len(task.train) > len(task.test) > 0
    if name not in ("digits", "mnist1d"):  # the tasks of one size
        assert len(task.train) + len(task.valid) + len(task.test) == 40


def test_load_task_reads_csv(tmp_path) -> None:
    path = _write(tmp_path, "s,y\nab,0\nba,1\naa,0\nbb,1\n")
    task = load_task(f"csv:{path}", sequence_column="s", label_column="y")
    assert task.name == "csv:data.csv" and task.n_classes == 2


@pytest.mark.parametrize("spec", ["mnist", "", "csv:", "Reber"])
def test_load_task_rejects_unknown_names(spec: str) -> None:
    names = (
        "reber, reber-thesis, embedded-reber, digits, mnist1d, seq-mnist:DIR, "
        "seq-mnist-pixels:DIR, cifar10:DIR, speech-commands:DIR or csv:PATH"
    )
    with pytest.raises(SparseNASError, match=names):
        load_task(spec)


def test_the_validation_split_is_disjoint_from_train_and_test() -> None:
    """Every row lands in exactly one part (rows told apart by a token of their own), and
    each part keeps the classes' shares."""
    tokens = [f"t{i}" for i in range(400)]
    vocab = build_vocab([[t] for t in tokens])
    data = encode_sequences([[t] for t in tokens], [i % 2 for i in range(400)], vocab)
    task = split_task("t", data, 2, np.random.default_rng(7), 0.25, valid_fraction=0.1)
    train, valid, test = (
        {tokens[0] for tokens in decode_sequences(part, vocab)}
        for part in (task.train, task.valid, task.test)
    )
    assert (len(train), len(valid), len(test)) == (260, 40, 100)
    assert not (valid & train) and not (valid & test) and not (train & test)
    assert train | valid | test == set(tokens)
    assert int(task.valid.labels.sum()) == 20


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_a_validation_fraction_outside_zero_one_is_refused(fraction: float) -> None:
    data = encode_sequences(["a"] * 10, [0, 1] * 5, {"a": 1})
    with pytest.raises(SparseNASError, match="valid_fraction"):
        split_task("t", data, 2, np.random.default_rng(0), 0.3, valid_fraction=fraction)
