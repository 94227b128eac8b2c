"""Task helpers: token sequences -> padded tensors, and a seeded train/validation/test split.

Every task goes through the same two steps, so padding, label checks and the split behave the
same whether the strings come from a grammar or from a user's CSV.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from core.checks import check_int
from core.errors import SparseNASError
from core.seeds import child_rngs
from models.data import SequenceSet, Task


def build_vocab(sequences: Iterable[Sequence[str]]) -> dict[str, int]:
    """Map every distinct token to 1..V in sorted order, so the ids never depend on row order."""
    tokens = sorted({token for sequence in sequences for token in sequence})
    return {token: index + 1 for index, token in enumerate(tokens)}


def encode_sequences(
    sequences: Sequence[Sequence[str]], labels: Sequence[int], vocab: Mapping[str, int]
) -> SequenceSet:
    """Encode token sequences (a str counts as a sequence of letters) as padded (n, T) int64.

    Raises SparseNASError for an empty sequence, a token missing from ``vocab`` or a label
    count that differs from the sequence count.
    """
    if len(sequences) != len(labels):
        raise SparseNASError(
            f"got {len(sequences)} sequences but {len(labels)} labels; they must match"
        )
    if len(sequences) == 0:
        raise SparseNASError("cannot encode an empty list of sequences; give at least one")
    lengths = np.array([len(sequence) for sequence in sequences], dtype=np.int64)
    if lengths.min() == 0:
        row = int(np.argmin(lengths))
        raise SparseNASError(f"sequence {row} is empty; every sequence needs at least one token")
    inputs = np.zeros((len(sequences), int(lengths.max())), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        try:
            inputs[row, : len(sequence)] = [vocab[token] for token in sequence]
        except KeyError as exc:
            raise SparseNASError(
                f"token {exc.args[0]!r} in sequence {row} is not in the vocabulary "
                f"of {len(vocab)} tokens"
            ) from None
    return SequenceSet(
        torch.from_numpy(inputs),
        torch.from_numpy(lengths),
        torch.as_tensor(np.asarray(labels, dtype=np.int64)),
    )


def decode_sequences(data: SequenceSet, vocab: Mapping[str, int]) -> list[list[str]]:
    """Turn token ids back into tokens (padding dropped), to inspect or check an encoded set."""
    token_of = {index: token for token, index in vocab.items()}
    return [
        [token_of[int(index)] for index in row[: int(length)]]
        for row, length in zip(data.inputs, data.lengths, strict=True)
    ]


VALID_FRACTION = 0.1
"""Share of a task's sequences held out of training for validation (the choosing split)."""


def split_task(
    name: str,
    data: SequenceSet,
    n_classes: int,
    rng: np.random.Generator,
    test_fraction: float = 0.25,
    *,
    valid_fraction: float = VALID_FRACTION,
    test: SequenceSet | None = None,
    stratify: bool = True,
    vocab_size: int | None = None,
    n_features: int | None = None,
    vocab: Mapping[str, int] | None = None,
    class_names: Sequence[str] | None = None,
) -> Task:
    """Split ``data`` into shuffled train, validation and test sets and wrap them in a Task.

    The test set has round(n * test_fraction) rows, the validation set round(n *
    valid_fraction) (at least one) of the rest; with ``stratify`` each class keeps its share
    in every part (largest-remainder rounding), so a balanced task stays balanced. Given a
    fixed ``test`` set (a published split), ``data`` gives only train and validation and
    ``test_fraction`` is unused. ``vocab`` (token -> id 1..V) and ``class_names`` are kept on
    the task.
    """
    n = len(data)
    for value, label in ((test_fraction, "test_fraction"), (valid_fraction, "valid_fraction")):
        if not 0.0 < value < 1.0:
            raise SparseNASError(f"{label} must lie strictly between 0 and 1 (got {label}={value})")
    n_test = 0 if test is not None else round(n * test_fraction)
    n_valid = max(1, round(n * valid_fraction))  # a tiny table still validates on one row
    if not (test is not None or n_test > 0) or n_test >= n - n_valid:
        raise SparseNASError(
            f"test_fraction={test_fraction} leaves an empty train, validation or test set for "
            f"{n} sequences; use more sequences or another fraction"
        )
    labels = data.labels.numpy()
    test_index = _pick(labels, np.arange(n), n_test, rng, stratify)
    rest = np.setdiff1d(np.arange(n), test_index)
    valid_index = _pick(labels, rest, n_valid, rng, stratify)
    train_index = np.setdiff1d(rest, valid_index)

    def part(index: np.ndarray) -> SequenceSet:
        return data.subset(torch.from_numpy(rng.permutation(index)))

    return Task(
        name=name,
        train=part(train_index),
        valid=part(valid_index),
        test=part(test_index) if test is None else test,
        n_classes=n_classes,
        vocab_size=vocab_size,
        n_features=n_features,
        vocabulary=None if vocab is None else vocabulary(vocab),
        class_names=None if class_names is None else tuple(str(c) for c in class_names),
    )


def vocabulary(vocab: Mapping[str, int]) -> tuple[str, ...]:
    """The tokens of ``vocab`` in id order (ids must be 1..V, 0 being padding)."""
    tokens = sorted(vocab, key=vocab.__getitem__)
    if [vocab[token] for token in tokens] != list(range(1, len(tokens) + 1)):
        raise SparseNASError("a vocabulary's ids must be 1..V (0 is padding)")
    return tuple(tokens)


def _pick(
    labels: np.ndarray, among: np.ndarray, count: int, rng: np.random.Generator, stratify: bool
) -> np.ndarray:
    """``count`` random rows of ``among``; with ``stratify`` each class gets its share of
    them (largest-remainder rounding; a random permutation breaks ties between classes)."""
    if count == 0:
        return np.array([], dtype=np.int64)
    if not stratify:
        return rng.permutation(among)[:count]
    classes, counts = np.unique(labels[among], return_counts=True)
    ideal = count * counts / len(among)
    per_class = np.floor(ideal).astype(np.int64)
    order = rng.permutation(len(classes))
    by_remainder = order[np.argsort(-(ideal - per_class)[order], kind="stable")]
    per_class[by_remainder[: count - int(per_class.sum())]] += 1
    parts = [
        rng.permutation(among[labels[among] == c])[:k]
        for c, k in zip(classes, per_class, strict=True)
    ]
    return np.concatenate(parts)


def task_rngs(seed: int, n: int) -> list[np.random.Generator]:
    """Independent generators for the parts of one task build (data, split), all from ``seed``."""
    return child_rngs(check_int(seed, "seed", low=0), n)


def check_count(n: int) -> None:
    """Reject a string count that is not a non-negative integer (bools included)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise SparseNASError(f"the number of strings must be a non-negative integer (got {n!r})")
