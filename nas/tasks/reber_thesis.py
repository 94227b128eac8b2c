"""The thesis' kind of Reber data: valid strings against strings of *other* grammars.

Valid strings are the Reber task's own (the same random walks, so with the same seed the two
tasks share their valid strings). A negative is a walk of the Reber automaton whose transition
letters T, P, S, X, V are renamed by a random non-identity permutation, drawn afresh for every
string: a string of another grammar over the same seven letters, framed by B and E and of the
same length distribution, like the negatives of the thesis' published data set. It differs
from valid strings in many places, where the ``reber`` task's negatives differ in one
(a single edit) or carry foreign letters. A permuted walk that happens to be a valid Reber
string is drawn again, so a label is never wrong.
"""

from __future__ import annotations

import numpy as np

from models.data import Task
from nas.tasks.encoding import check_count
from nas.tasks.reber import draw_invalid, generate_valid, is_valid, make_grammar_task

TRANSITION_LETTERS = "TPSXV"
"""The letters on the automaton's transitions; B and E only frame a string."""


def permuted_grammar_string(rng: np.random.Generator) -> str:
    """One walk of the Reber automaton with its transition letters permuted (never identity)."""
    order = np.arange(len(TRANSITION_LETTERS))
    while np.array_equal(order, np.arange(len(TRANSITION_LETTERS))):
        order = rng.permutation(len(TRANSITION_LETTERS))
    renamed = "".join(TRANSITION_LETTERS[i] for i in order)
    return generate_valid(1, rng)[0].translate(str.maketrans(TRANSITION_LETTERS, renamed))


def generate_other_grammars(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` negatives, each from a Reber automaton with its own letter permutation."""
    check_count(n)
    return draw_invalid(n, lambda: permuted_grammar_string(rng), is_valid)


def make_reber_thesis_task(
    n_strings: int = 25000, seed: int = 0, test_fraction: float = 0.25
) -> Task:
    """Valid Reber strings (label 1) vs other grammars' strings (label 0), split as ``reber``."""
    return make_grammar_task(
        "reber-thesis", generate_valid, generate_other_grammars, n_strings, seed, test_fraction
    )
