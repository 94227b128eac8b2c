"""Tests for the thesis-style Reber task (nas/tasks/reber_thesis.py) and the rule baseline."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

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
    TRANSITION_LETTERS,
    generate_other_grammars,
    make_reber_thesis_task,
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


def test_negatives_are_never_valid_and_use_only_the_seven_letters() -> None:
    negatives = generate_other_grammars(5000, np.random.default_rng(0))
    assert len(negatives) == 5000
    assert not any(is_valid(s) for s in negatives)
    assert set("".join(negatives)) <= set(ALPHABET)
    # framed like Reber strings, so the rule-based baseline cannot tell them apart
    assert all(passes_simple_rule(s) for s in negatives)


def test_negatives_come_from_many_grammars_not_single_edits() -> None:
    rng = np.random.default_rng(1)
    negatives = generate_other_grammars(2000, rng)
    # a negative is a renamed walk: the letter sequence past B carries the walk's shape,
    # and the first transition letter varies over all five (a single edit keeps T or P)
    assert set(s[1] for s in negatives) == set(TRANSITION_LETTERS)
    assert len(Counter(negatives)) > 500


def test_permuted_string_is_a_relabelled_walk_of_the_same_length_distribution() -> None:
    rng = np.random.default_rng(2)
    negatives = [permuted_grammar_string(rng) for _ in range(4000)]
    valid = generate_valid(4000, np.random.default_rng(3))
    assert min(map(len, negatives)) == min(map(len, valid)) == 5
    assert abs(np.mean([len(s) for s in negatives]) - np.mean([len(s) for s in valid])) < 0.3


def test_generation_is_seeded_and_repeatable() -> None:
    a = generate_other_grammars(200, np.random.default_rng(7))
    b = generate_other_grammars(200, np.random.default_rng(7))
    c = generate_other_grammars(200, np.random.default_rng(8))
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


def test_rule_accuracy_is_chance_on_other_grammars_and_higher_on_hard_negatives() -> None:
    assert rule_accuracy(make_reber_thesis_task(n_strings=2000, seed=0)) == 0.5
    # valid strings all pass; of the negatives, the foreign-letter half all fail
    assert rule_accuracy(make_reber_task(n_strings=2000, seed=0)) >= 0.75
