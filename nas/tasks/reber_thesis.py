"""The thesis' kind of Reber data: valid strings against the mix of negatives its published
data set holds.

Valid strings are the Reber task's own (the same random walks, so with the same seed the two
tasks share their valid strings). The negatives reproduce the mix measured on the thesis'
published ``reber_sequences.csv`` (docs/tasks.md shows both side by side), every one framed
by B and E:

* FOREIGN_SHARE are strings of another grammar over other letters: a walk of the Reber
  automaton whose transition letters are each renamed, with probability RENAME_PROBABILITY,
  to a distinct letter outside the Reber alphabet (so most of their letters are foreign);
* EDIT_SHARE are one wrong step: a valid string with one inner letter replaced, inserted or
  deleted, using only the five transition letters;
* the rest are strings of another grammar over the same seven letters: a walk whose
  transition letters are renamed by a random non-identity permutation.

A negative that happens to be a valid Reber string is drawn again, so a label is never wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.errors import SparseNASError
from models.data import Task
from nas.tasks.encoding import check_count, decode_sequences
from nas.tasks.reber import (
    ALPHABET,
    FOREIGN,
    VOCAB,
    draw_invalid,
    generate_valid,
    is_valid,
    make_grammar_task,
)

TRANSITION_LETTERS = "TPSXV"
"""The letters on the automaton's transitions; B and E only frame a string."""
FOREIGN_SHARE = 0.56
"""Negatives with letters outside the seven: 7,000 of the published 12,500."""
RENAME_PROBABILITY = 0.95
"""Chance that a foreign-grammar string renames a given transition letter (else keeps it):
95 % of the published foreign negatives' inner letters are foreign."""
EDIT_SHARE = 0.08
"""Negatives made by one wrong step. With the permuted walks that fall one edit from a valid
string by chance (about 11 % of them), 12 % of the negatives are one edit from a valid
string, as 1,523 of the published 12,500 are."""


def permuted_grammar_string(rng: np.random.Generator) -> str:
    """One walk of the Reber automaton with its transition letters permuted (never identity)."""
    order = np.arange(len(TRANSITION_LETTERS))
    while np.array_equal(order, np.arange(len(TRANSITION_LETTERS))):
        order = rng.permutation(len(TRANSITION_LETTERS))
    renamed = "".join(TRANSITION_LETTERS[i] for i in order)
    return generate_valid(1, rng)[0].translate(str.maketrans(TRANSITION_LETTERS, renamed))


def foreign_grammar_string(rng: np.random.Generator) -> str:
    """One walk of the Reber automaton whose transition letters are each renamed, with
    probability RENAME_PROBABILITY, to a distinct foreign letter (a one-to-one renaming, so
    the string follows another automaton's rules)."""
    letters = rng.permutation(list(FOREIGN))[: len(TRANSITION_LETTERS)]
    renamed = "".join(
        str(new) if rng.random() < RENAME_PROBABILITY else old
        for old, new in zip(TRANSITION_LETTERS, letters, strict=True)
    )
    return generate_valid(1, rng)[0].translate(str.maketrans(TRANSITION_LETTERS, renamed))


def inner_edit(string: str, rng: np.random.Generator) -> str:
    """Replace, insert or delete one letter between B and E, using only the transition
    letters: one wrong step that keeps the frame."""
    operation = int(rng.integers(3))
    if operation == 1:
        index = int(rng.integers(1, len(string)))
        letter = TRANSITION_LETTERS[int(rng.integers(len(TRANSITION_LETTERS)))]
        return string[:index] + letter + string[index:]
    index = int(rng.integers(1, len(string) - 1))
    if operation == 0:
        others = TRANSITION_LETTERS.replace(string[index], "")
        return string[:index] + others[int(rng.integers(len(others)))] + string[index + 1 :]
    return string[:index] + string[index + 1 :]


def generate_thesis_negatives(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` negatives in random order: FOREIGN_SHARE foreign-grammar strings, EDIT_SHARE
    one-step edits, the rest permuted-grammar strings (counts rounded, the rest last)."""
    check_count(n)
    n_foreign, n_edit = round(n * FOREIGN_SHARE), round(n * EDIT_SHARE)
    strings = (
        draw_invalid(n_foreign, lambda: foreign_grammar_string(rng), is_valid)
        + draw_invalid(n_edit, lambda: inner_edit(generate_valid(1, rng)[0], rng), is_valid)
        + draw_invalid(n - n_foreign - n_edit, lambda: permuted_grammar_string(rng), is_valid)
    )
    return [strings[i] for i in rng.permutation(n)]


def is_near_valid(string: str) -> bool:
    """True when one replaced, inserted or deleted letter of the Reber alphabet makes
    ``string`` valid (and it is not valid already)."""
    if is_valid(string):
        return False
    for index in range(len(string) + 1):
        if index < len(string) and is_valid(string[:index] + string[index + 1 :]):
            return True
        for letter in ALPHABET:
            inserted = string[:index] + letter + string[index:]
            replaced = string[:index] + letter + string[index + 1 :]
            if is_valid(inserted) or (index < len(string) and is_valid(replaced)):
                return True
    return False


def negatives_profile(negatives: Sequence[str]) -> dict[str, float]:
    """What tells one set of negatives from another: the shares framed by B...E, with a
    letter outside the seven, one edit from a valid string, the share of foreign letters
    among the foreign strings' inner letters, and the length distribution."""
    if not negatives:
        raise SparseNASError("no negatives to describe")
    outside = [s for s in negatives if set(s) - set(ALPHABET)]
    inner = "".join(s[1:-1] for s in outside)
    lengths = np.array([len(s) for s in negatives], dtype=np.float64)
    return {
        "count": float(len(negatives)),
        "framed": float(np.mean([s[:1] == "B" and s[-1:] == "E" for s in negatives])),
        "foreign": len(outside) / len(negatives),
        "foreign_inner_letters": (
            sum(c not in ALPHABET for c in inner) / len(inner) if inner else float("nan")
        ),
        "near_valid": float(np.mean([is_near_valid(s) for s in negatives])),
        "length_mean": float(lengths.mean()),
        "length_sd": float(lengths.std()),
        "length_min": float(lengths.min()),
        "length_max": float(lengths.max()),
    }


def labelled_strings(task: Task, label: int) -> list[str]:
    """The strings of a letter task (every split) that carry ``label`` (0: the negatives)."""
    return [
        "".join(tokens)
        for part in (task.train, task.valid, task.test)
        for tokens, y in zip(decode_sequences(part, VOCAB), part.labels.tolist(), strict=True)
        if y == label
    ]


def make_reber_thesis_task(
    n_strings: int = 25000, seed: int = 0, test_fraction: float = 0.25
) -> Task:
    """Valid Reber strings (label 1) vs the thesis' mix of negatives (label 0), split as
    ``reber``."""
    return make_grammar_task(
        "reber-thesis", generate_valid, generate_thesis_negatives, n_strings, seed, test_fraction
    )
