"""The user's own sequence classification data, read from a CSV file.

One column holds the sequences, one the labels: ``sequence`` and ``label`` by default, or the
thesis' published files' ``string`` and ``valid``, recognised when the default names are absent.
A cell with whitespace is split into tokens on it ("12 7 7 3"), any other cell into characters
("ACGT"), so both word-like and letter-like data work without options. Labels are integers or
true/false (1/0). Ids follow the sorted token set, labels are remapped to 0..C-1 in sorted
order: the same files always encode the same way. Given a fixed test file, the first file gives
the training and validation splits and the test file tests (the thesis' ``train_data.csv`` /
``test_data.csv`` split); without one, the file is split like the generated tasks.
"""

from __future__ import annotations

from pathlib import Path

from models.data import SequenceSet, Task
from nas.tasks.csv_rows import read_csv_rows
from nas.tasks.encoding import (
    build_vocab,
    encode_sequences,
    split_task,
    task_rngs,
)


def make_csv_task(
    path: str | Path,
    sequence_column: str | None = None,
    label_column: str | None = None,
    seed: int = 0,
    test_fraction: float = 0.25,
    test_path: str | Path | None = None,
) -> Task:
    """A token task from ``path`` (and a fixed test set from ``test_path``, if given).

    Column names left as None are the defaults ``sequence``/``label``, or ``string``/``valid``
    when the file has those instead. With ``test_path``, ``path`` gives the training and
    validation splits (shuffled by ``seed``), the test file the test split, and
    ``test_fraction`` is unused; both files share one vocabulary, and
    the classes are the training file's (a test label it lacks is an error). Every
    problem with a file raises a one-line SparseNASError.
    """
    path = Path(path)
    sequences, raw_labels, classes, test_rows = read_csv_rows(
        path, sequence_column, label_column, test_path
    )
    class_index = {label: index for index, label in enumerate(classes)}
    vocab = build_vocab(sequences + ([] if test_rows is None else test_rows[0]))

    def encode(rows: list[list[str]], labels: list[int]) -> SequenceSet:
        return encode_sequences(rows, [class_index[label] for label in labels], vocab)

    (split_rng,) = task_rngs(seed, 1)
    return split_task(
        f"csv:{path.name}",
        encode(sequences, raw_labels),
        len(classes),
        split_rng,
        test_fraction,
        test=None if test_rows is None else encode(*test_rows),
        vocab_size=len(vocab) + 1,
        vocab=vocab,
        class_names=[str(label) for label in classes],
    )
