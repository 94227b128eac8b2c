"""The rows of a CSV task's files, read and checked with pandas alone (no torch): the
columns, tokens, integer labels and classes ``nas.tasks.csv_task.make_csv_task`` encodes.
The commands read them before torch is imported, so a bad file is refused at once.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from core.errors import SparseNASError, existing_file
from nas.tasks import CSV_FILE
from nas.tasks.tokens import split_tokens

DEFAULT_COLUMNS = ("sequence", "label")
THESIS_COLUMNS = ("string", "valid")
"""The column names of the thesis' published ``train_data.csv`` and ``test_data.csv``."""

_BOOLEAN_LABELS = {"true": 1, "false": 0}


Rows = tuple[list[list[str]], list[int]]
"""The token lists and integer labels of one file."""


def read_csv_rows(
    path: str | Path,
    sequence_column: str | None = None,
    label_column: str | None = None,
    test_path: str | Path | None = None,
) -> tuple[list[list[str]], list[int], list[int], Rows | None]:
    """The sequences, labels and sorted classes of ``path``, and the rows of ``test_path``
    (None without one), checked: at least two classes, and no test class the training file
    lacks. Every problem with a file raises a one-line SparseNASError."""
    path = Path(path)
    sequences, labels = _read_rows(path, sequence_column, label_column)
    classes = sorted(set(labels))
    test_rows = None
    if test_path is not None:
        test_rows = _read_rows(Path(test_path), sequence_column, label_column)
        _check_test_classes(set(test_rows[1]) - set(classes), Path(test_path), path)
    if len(classes) < 2:
        raise SparseNASError(
            f"the labels of {path} hold a single class ({classes[0]}); "
            "classification needs at least 2"
        )
    return sequences, labels, classes, test_rows


def _check_test_classes(unseen: set[int], test_path: Path, path: Path) -> None:
    """A test label the training file lacks would add a class no network learns (and make
    the task a different one): refuse it, naming the class."""
    if unseen:
        shown = ", ".join(str(label) for label in sorted(unseen))
        plural = "es" if len(unseen) > 1 else ""
        raise SparseNASError(
            f"the test file {test_path} has class{plural} {shown} that the training file "
            f"{path} lacks; every test label must occur in the training file"
        )


def _read_rows(
    path: Path, sequence_column: str | None, label_column: str | None
) -> tuple[list[list[str]], list[int]]:
    """The token lists and integer labels of one file, checked row by row."""
    table = _read_table(path)
    sequence_column, label_column = _columns(table, path, sequence_column, label_column)
    if len(table) == 0:
        raise SparseNASError(f"{path} has a header but no data rows; add at least two rows")
    sequences = [split_tokens(cell) for cell in table[sequence_column]]
    for row, tokens in enumerate(sequences, start=1):
        if not tokens:
            raise SparseNASError(
                f"column {sequence_column!r} of {path} has an empty sequence in data row {row}; "
                "every sequence needs at least one token"
            )
    labels = [_integer(cell, label_column, row) for row, cell in enumerate(table[label_column], 1)]
    return sequences, labels


def _columns(
    table: pd.DataFrame, path: Path, sequence_column: str | None, label_column: str | None
) -> tuple[str, str]:
    """The sequence and label columns to read: the ones asked for, else the default names,
    else the thesis' names; a missing one is an error that lists what the file has."""
    present = set(table.columns)
    wanted = (sequence_column, label_column)
    if None in wanted:
        conventions = [DEFAULT_COLUMNS, THESIS_COLUMNS]
        found = next((c for c in conventions if {c[0], c[1]} <= present), DEFAULT_COLUMNS)
        wanted = tuple(w if w is not None else d for w, d in zip(wanted, found, strict=True))
    for column in wanted:
        if column not in present:
            available = ", ".join(repr(str(name)) for name in table.columns)
            raise SparseNASError(
                f"column {column!r} not found in {path} (expected `sequence`, `label` or "
                f"`string`, `valid`); available columns: {available}"
            )
    return wanted[0], wanted[1]


def _read_table(path: Path) -> pd.DataFrame:
    """Read every cell as text, so labels and sequences are parsed by our own rules."""
    existing_file(path, CSV_FILE)
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
    """An integer label; true/false (any case) read as 1/0, as the thesis' ``valid`` column."""
    text = cell.strip()
    if text.lower() in _BOOLEAN_LABELS:
        return _BOOLEAN_LABELS[text.lower()]
    try:
        return int(text)
    except ValueError:
        raise SparseNASError(
            f"column {column!r} must hold integer labels or true/false "
            f"(got {cell!r} in data row {row})"
        ) from None
