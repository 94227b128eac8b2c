"""The Reber grammar: tell strings of a small finite automaton from near misses.

Automaton (Reber 1967; used as an RNN benchmark by Hochreiter & Schmidhuber 1997): after B,
state 1: T->2, P->3; state 2: S->2, X->4; state 3: T->3, V->5; state 4: X->3, S->end;
state 5: P->4, V->end; then E. A random walk takes each branch with probability 1/2.

Negatives are hard on purpose: half are a valid string with one symbol of the Reber alphabet
replaced, inserted or deleted, half carry letters from outside that alphabet. Every negative is
re-checked against the validator, so a label is never wrong.
"""

from __future__ import annotations

import string as _string
from collections.abc import Callable

import numpy as np

from core.errors import SparseNASError
from models.data import Task
from nas.tasks.encoding import (
    check_count,
    decode_sequences,
    encode_sequences,
    split_task,
    task_rngs,
)

ALPHABET = "BTSXPVE"
FOREIGN = "".join(letter for letter in _string.ascii_uppercase if letter not in ALPHABET)
# All 26 letters get an id so any letter string encodes; 0 stays padding.
VOCAB = {letter: index + 1 for index, letter in enumerate(_string.ascii_uppercase)}
VOCAB_SIZE = len(VOCAB) + 1
CLASS_NAMES = ("invalid", "valid")
"""Label 0 and label 1 of the grammar tasks."""

_END = 0
_TRANSITIONS: dict[int, tuple[tuple[str, int], tuple[str, int]]] = {
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", _END)),
    5: (("P", 4), ("V", _END)),
}
_NEXT = {state: dict(options) for state, options in _TRANSITIONS.items()}


def is_valid(string: str) -> bool:
    """True exactly when ``string`` is B, a path of the automaton to its end state, then E."""
    if not string.startswith("B"):
        return False
    state = 1
    for index in range(1, len(string)):
        if state == _END:
            return string[index:] == "E"
        state = _NEXT[state].get(string[index])
        if state is None:
            return False
    return False


def generate_valid(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` Reber strings from random walks that take each branch with probability 1/2."""
    check_count(n)
    strings = []
    for _ in range(n):
        symbols, state = ["B"], 1
        while state != _END:
            symbol, state = _TRANSITIONS[state][int(rng.random() < 0.5)]
            symbols.append(symbol)
        symbols.append("E")
        strings.append("".join(symbols))
    return strings


def generate_invalid(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` hard negatives in random order: half single edits, half with foreign letters."""
    check_count(n)
    edited = draw_invalid(n - n // 2, lambda: single_edit(generate_valid(1, rng)[0], rng), is_valid)
    foreign = draw_invalid(
        n // 2, lambda: with_foreign_letters(generate_valid(1, rng)[0], rng), is_valid
    )
    strings = edited + foreign
    return [strings[i] for i in rng.permutation(n)]


def single_edit(string: str, rng: np.random.Generator) -> str:
    """Replace, insert or delete one symbol, using only the Reber alphabet (one wrong step)."""
    operation = int(rng.integers(3))
    if operation == 0:
        index = int(rng.integers(len(string)))
        others = ALPHABET.replace(string[index], "")
        return string[:index] + others[int(rng.integers(len(others)))] + string[index + 1 :]
    if operation == 1:
        index = int(rng.integers(len(string) + 1))
        return string[:index] + ALPHABET[int(rng.integers(len(ALPHABET)))] + string[index:]
    index = int(rng.integers(len(string)))
    return string[:index] + string[index + 1 :]


def with_foreign_letters(string: str, rng: np.random.Generator) -> str:
    """Overwrite 1..len/4+1 random positions with letters outside the Reber alphabet."""
    n_foreign = int(rng.integers(1, len(string) // 4 + 2))
    letters = list(string)
    for index in rng.choice(len(letters), size=min(n_foreign, len(letters)), replace=False):
        letters[index] = FOREIGN[int(rng.integers(len(FOREIGN)))]
    return "".join(letters)


def draw_invalid(n: int, make: Callable[[], str], valid: Callable[[str], bool]) -> list[str]:
    """Call ``make`` until ``n`` strings are rejected by ``valid`` (an edit can stay valid)."""
    strings: list[str] = []
    while len(strings) < n:
        candidate = make()
        if not valid(candidate):
            strings.append(candidate)
    return strings


def make_grammar_task(
    name: str,
    generate_valid: Callable[[int, np.random.Generator], list[str]],
    generate_invalid: Callable[[int, np.random.Generator], list[str]],
    n_strings: int,
    seed: int,
    test_fraction: float,
) -> Task:
    """Half valid (label 1), half invalid (label 0) letter strings, split with a spawned seed."""
    if isinstance(n_strings, bool) or not isinstance(n_strings, int) or n_strings < 4:
        raise SparseNASError(f"n_strings must be an integer of at least 4 (got {n_strings!r})")
    data_rng, split_rng = task_rngs(seed, 2)
    n_valid = n_strings // 2
    strings = generate_valid(n_valid, data_rng) + generate_invalid(n_strings - n_valid, data_rng)
    labels = [1] * n_valid + [0] * (n_strings - n_valid)
    data = encode_sequences(strings, labels, VOCAB)
    return split_task(
        name, data, 2, split_rng, test_fraction, vocab_size=VOCAB_SIZE, vocab=VOCAB,
        class_names=CLASS_NAMES,
    )  # fmt: skip


def make_reber_task(n_strings: int = 25000, seed: int = 0, test_fraction: float = 0.25) -> Task:
    """The Reber task: valid versus hard-negative strings, label 1 = valid, 75/25 split."""
    return make_grammar_task(
        "reber", generate_valid, generate_invalid, n_strings, seed, test_fraction
    )


MIN_LENGTH = 5
"""The shortest Reber strings (BTXSE, BPVVE)."""


def passes_simple_rule(string: str) -> bool:
    """The simple rule-based baseline: only Reber letters, B first, E last, at least 5 long.

    It checks no transition, so it tells how much of a task's accuracy needs none: negatives
    that carry foreign letters, lose their B or E or are too short are caught, the rest pass.
    """
    return (
        len(string) >= MIN_LENGTH
        and string[0] == "B"
        and string[-1] == "E"
        and all(letter in ALPHABET for letter in string)
    )


def rule_accuracy(task: Task) -> float:
    """Test accuracy of ``passes_simple_rule`` on a letter task (label 1 = valid)."""
    strings = ["".join(tokens) for tokens in decode_sequences(task.test, VOCAB)]
    predicted = np.array([passes_simple_rule(string) for string in strings], dtype=np.int64)
    return float(np.mean(predicted == task.test.labels.numpy()))
