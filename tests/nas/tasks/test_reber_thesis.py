"""Tests for the thesis-style Reber task (nas/tasks/reber_thesis.py) and the rule baseline."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
import torch

from core.errors import SparseNASError
from models.data import Task
from nas.tasks import load_task
from nas.tasks.encoding import decode_sequences
from nas.tasks.reber import (
    ALPHABET,
    VOCAB,
    generate_valid,
    is_valid,
    make_reber_task,
    passes_simple_rule,
    rule_accuracy,
)
from nas.tasks.reber_thesis import (
    FOREIGN_SHARE,
    TRANSITION_LETTERS,
    foreign_grammar_string,
    generate_thesis_negatives,
    inner_edit,
    is_near_valid,
    make_reber_thesis_task,
    negatives_profile,
    permuted_grammar_string,
)


def _pairs(task: Task) -> list[tuple[str, int]]:
    return [
        ("".join(tokens), label)
        for part in (task.train, task.valid, task.test)
        for tokens, label in zip(decode_sequences(part, VOCAB), part.labels.tolist(), strict=True)
    ]


def _same(a: Task, b: Task) -> bool:
    return all(
        torch.equal(getattr(pa, f), getattr(pb, f))
        for pa, pb in ((a.train, b.train), (a.valid, b.valid), (a.test, b.test))
        for f in ("inputs", "lengths", "labels")
    )


def _has_foreign(string: str) -> bool:
    return bool(set(string) - set(ALPHABET))


def test_negatives_are_never_valid_framed_and_mixed_in_the_published_shares() -> None:
    negatives = generate_thesis_negatives(5000, np.random.default_rng(0))
    assert len(negatives) == 5000
    assert not any(is_valid(s) for s in negatives)
    assert all(s[0] == "B" and s[-1] == "E" for s in negatives)
    # only the foreign-grammar kind carries letters outside the seven, each at least one
    assert sum(map(_has_foreign, negatives)) == round(5000 * FOREIGN_SHARE) == 2800


def test_the_profile_of_generated_negatives_matches_the_published_figures() -> None:
    # the published file's figures (docs/tasks.md): foreign 0.560, foreign share of their
    # inner letters 0.948, one edit from valid 0.122; at n = 2,000 a share's sampling sd is
    # at most 0.011, so 0.03 is ~3 sd
    profile = negatives_profile(generate_thesis_negatives(2000, np.random.default_rng(1)))
    assert profile["framed"] == 1.0 and profile["foreign"] == 0.56
    assert abs(profile["foreign_inner_letters"] - 0.948) < 0.03
    assert abs(profile["near_valid"] - 0.122) < 0.03


def _is_renamed_walk(string: str) -> bool:
    """Whether some one-to-one renaming of the inner letters to T, P, S, X, V makes a
    Reber string: an independent, brute-force check of 'another grammar's string'."""
    letters = sorted(set(string[1:-1]))
    return any(
        is_valid("B" + string[1:-1].translate(str.maketrans("".join(letters), "".join(p))) + "E")
        for p in permutations(TRANSITION_LETTERS, len(letters))
    )


def test_foreign_and_permuted_strings_are_walks_of_a_renamed_automaton() -> None:
    rng = np.random.default_rng(2)
    foreign = [foreign_grammar_string(rng) for _ in range(300)]
    permuted = [permuted_grammar_string(rng) for _ in range(300)]
    assert all(map(_is_renamed_walk, foreign + permuted))
    assert not any(_has_foreign(s) for s in permuted)
    assert set("".join(permuted)) <= set(ALPHABET)
    # the first transition letter varies (a single edit keeps T or P)
    assert set(s[1] for s in permuted) == set(TRANSITION_LETTERS)
    inner = "".join(s[1:-1] for s in foreign)
    assert 0.9 < sum(c not in ALPHABET for c in inner) / len(inner) < 1.0
    assert not _is_renamed_walk("BTTTTXE")  # the check can fail: no automaton loops T to X


def test_an_inner_edit_is_one_wrong_step_inside_the_frame() -> None:
    rng = np.random.default_rng(3)
    for valid in generate_valid(300, np.random.default_rng(4)):
        edited = inner_edit(valid, rng)
        assert edited[0] == "B" and edited[-1] == "E" and abs(len(edited) - len(valid)) <= 1
        assert set(edited[1:-1]) <= set(TRANSITION_LETTERS)
        assert is_valid(edited) or is_near_valid(edited)


@pytest.mark.parametrize(
    ("string", "near"),
    [
        ("BTXSE", False),  # valid already
        ("BTSE", True),  # X dropped
        ("BTXSSE", True),  # an S too many
        ("BQXSE", True),  # T replaced by a foreign letter
        ("TXSE", True),  # no B
        ("BPPPPPE", False),  # no single edit repairs it
        ("BQQQQE", False),
    ],
)
def test_near_valid(string: str, near: bool) -> None:
    assert is_near_valid(string) is near


def test_negatives_profile_worked_example() -> None:
    profile = negatives_profile(["BTSE", "BQXSE", "BPPPPPPE"])
    assert profile["count"] == 3 and profile["framed"] == 1.0
    assert profile["foreign"] == pytest.approx(1 / 3)
    assert profile["foreign_inner_letters"] == pytest.approx(1 / 3)  # Q of "QXS"
    assert profile["near_valid"] == pytest.approx(2 / 3)
    assert profile["length_mean"] == pytest.approx(17 / 3)
    assert profile["length_sd"] == pytest.approx(np.std([4, 5, 8]))
    assert (profile["length_min"], profile["length_max"]) == (4, 8)
    with pytest.raises(SparseNASError, match="no negatives"):
        negatives_profile([])


def test_generation_is_seeded_and_repeatable() -> None:
    a = generate_thesis_negatives(200, np.random.default_rng(7))
    b = generate_thesis_negatives(200, np.random.default_rng(7))
    c = generate_thesis_negatives(200, np.random.default_rng(8))
    assert a == b and a != c


def test_task_labels_match_the_validator_and_share_reber_valid_strings() -> None:
    task = make_reber_thesis_task(n_strings=1000, seed=4)
    assert task.name == "reber-thesis" and task.n_classes == 2
    pairs = _pairs(task)
    assert all(is_valid(s) == bool(label) for s, label in pairs)
    assert sum(label for _, label in pairs) == 500
    assert (len(task.train), len(task.valid), len(task.test)) == (650, 100, 250)
    reber_valid = {s for s, label in _pairs(make_reber_task(n_strings=1000, seed=4)) if label}
    assert {s for s, label in pairs if label} == reber_valid


def test_task_is_deterministic_per_seed_and_loads_by_name() -> None:
    a = make_reber_thesis_task(n_strings=300, seed=5)
    assert _same(a, load_task("reber-thesis", seed=5, n_strings=300))
    assert not _same(a, make_reber_thesis_task(n_strings=300, seed=6))


@pytest.mark.parametrize(
    ("string", "passes"),
    [
        ("BTXSE", True),
        ("BTVSE", True),  # a wrong transition: the rule does not check transitions
        ("BTXQE", False),  # foreign letter
        ("TXSE", False),  # no B
        ("BTXS", False),  # no E
        ("BTE", False),  # too short
    ],
)
def test_simple_rule(string: str, passes: bool) -> None:
    assert passes_simple_rule(string) is passes


def test_rule_accuracy_on_thesis_negatives_counts_what_the_rule_can_see() -> None:
    task = make_reber_thesis_task(n_strings=2000, seed=0)
    strings = ["".join(t) for t in decode_sequences(task.test, VOCAB)]
    labels = task.test.labels.tolist()
    # valid strings pass; a negative fails only by a foreign letter or by being too short
    pairs = zip(strings, labels, strict=True)
    caught = [label == 1 or _has_foreign(s) or len(s) < 5 for s, label in pairs]
    assert rule_accuracy(task) == pytest.approx(np.mean(caught))
    assert 0.7 < rule_accuracy(task) < 0.85  # about 0.5 + 0.56 / 2
    # valid strings all pass; of the negatives, the foreign-letter half all fail
    assert rule_accuracy(make_reber_task(n_strings=2000, seed=0)) >= 0.75
