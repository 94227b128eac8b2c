"""The embedded Reber grammar: the long-lag variant from Hochreiter & Schmidhuber (1997).

A string is B, then T or P, then a full Reber string, then the same T or P again, then E. The
inner string can be long, so matching the second symbol with the second-to-last one needs
memory across many steps. Negatives add that long-lag mismatch to the Reber ones (single edits
and foreign letters); all are re-checked against the validator.
"""

from __future__ import annotations

import numpy as np

from models.data import Task
from nas.tasks.encoding import check_count
from nas.tasks.reber import (
    draw_invalid,
    generate_valid,
    is_valid,
    make_grammar_task,
    single_edit,
    with_foreign_letters,
)

_BRANCHES = "TP"


def is_valid_embedded(string: str) -> bool:
    """True exactly when ``string`` is B, T or P, a Reber string, the same T or P, then E."""
    return (
        len(string) >= 4
        and string[0] == "B"
        and string[1] in _BRANCHES
        and string[-2] == string[1]
        and string[-1] == "E"
        and is_valid(string[2:-2])
    )


def generate_valid_embedded(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` embedded Reber strings; the outer branch is T or P with probability 1/2."""
    check_count(n)
    inner = generate_valid(n, rng)
    branches = [_BRANCHES[i] for i in rng.integers(2, size=n)]
    return [f"B{branch}{string}{branch}E" for branch, string in zip(branches, inner, strict=True)]


def generate_invalid_embedded(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` hard negatives in random order, a third each: long-lag mismatch, edit, foreign."""
    check_count(n)
    n_edited = n_foreign = n // 3
    n_mismatched = n - n_edited - n_foreign
    mismatched = [_swap_closing_branch(s) for s in generate_valid_embedded(n_mismatched, rng)]
    strings = (
        mismatched
        + draw_invalid(
            n_edited,
            lambda: single_edit(generate_valid_embedded(1, rng)[0], rng),
            is_valid_embedded,
        )
        + draw_invalid(
            n_foreign,
            lambda: with_foreign_letters(generate_valid_embedded(1, rng)[0], rng),
            is_valid_embedded,
        )
    )
    return [strings[i] for i in rng.permutation(n)]


def make_embedded_reber_task(
    n_strings: int = 25000, seed: int = 0, test_fraction: float = 0.25
) -> Task:
    """The embedded Reber task: valid versus hard negatives, label 1 = valid, 75/25 split."""
    return make_grammar_task(
        "embedded-reber",
        generate_valid_embedded,
        generate_invalid_embedded,
        n_strings,
        seed,
        test_fraction,
    )


def _swap_closing_branch(string: str) -> str:
    """Make the second-to-last symbol disagree with the second: the long-lag error."""
    other = "P" if string[-2] == "T" else "T"
    return string[:-2] + other + "E"
