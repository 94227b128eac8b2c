"""The user's own sequence classification data, read from a CSV file.

One column holds the sequences, one the integer labels. A cell with whitespace is split into
tokens on it ("12 7 7 3"), any other cell into characters ("ACGT"), so both word-like and
letter-like data work without options. Ids follow the sorted token set, labels are remapped to
0..C-1 in sorted order: the same file always encodes the same way.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from graphs.errors import SparseNASError, existing_file
from models.data import Task
from nas.tasks.encoding import (
    build_vocab,
    encode_sequences,
    split_task,
    split_tokens,
    task_rngs,
)


def make_csv_task(
    path: str | Path,
    sequence_column: str = "sequence",
    label_column: str = "label",
    seed: int = 0,
    test_fraction: float = 0.25,
) -> Task:
    """A token task from ``path``; every problem with the file raises a one-line SparseNASError."""
    path = Path(path)
    table = _read_table(path)
    for column in (sequence_column, label_column):
        if column not in table.columns:
            available = ", ".join(repr(str(name)) for name in table.columns)
            raise SparseNASError(
                f"column {column!r} not found in {path}; available columns: {available}"
            )
    if len(table) == 0:
        raise SparseNASError(f"{path} has a header but no data rows; add at least two rows")
    sequences = [split_tokens(cell) for cell in table[sequence_column]]
    for row, tokens in enumerate(sequences, start=1):
        if not tokens:
            raise SparseNASError(
                f"column {sequence_column!r} of {path} has an empty sequence in data row {row}; "
                "every sequence needs at least one token"
            )
    raw_labels = [
        _integer(cell, label_column, row) for row, cell in enumerate(table[label_column], 1)
    ]
    classes = sorted(set(raw_labels))
    if len(classes) < 2:
        raise SparseNASError(
            f"column {label_column!r} of {path} holds a single class ({classes[0]}); "
            "classification needs at least 2"
        )
    class_index = {label: index for index, label in enumerate(classes)}
    vocab = build_vocab(sequences)
    data = encode_sequences(sequences, [class_index[label] for label in raw_labels], vocab)
    (split_rng,) = task_rngs(seed, 1)
    return split_task(
        f"csv:{path.name}",
        data,
        len(classes),
        split_rng,
        test_fraction,
        vocab_size=len(vocab) + 1,
        vocab=vocab,
        class_names=[str(label) for label in classes],
    )


def _read_table(path: Path) -> pd.DataFrame:
    """Read every cell as text, so labels and sequences are parsed by our own rules."""
    existing_file(path, "CSV file")
    try:
        with warnings.catch_warnings():
            # A row longer than the header would silently lose cells; treat it as malformed.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                path, dtype=str, keep_default_na=False, skipinitialspace=True, index_col=False
            )
    except pd.errors.EmptyDataError:
        raise SparseNASError(f"{path} is empty; it needs a header and data rows") from None
    except (ValueError, OSError, pd.errors.ParserWarning) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SparseNASError(f"could not read {path} as a CSV file ({reason})") from None


def _integer(cell: str, column: str, row: int) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise SparseNASError(
            f"column {column!r} must hold integer labels (got {cell!r} in data row {row})"
        ) from None
