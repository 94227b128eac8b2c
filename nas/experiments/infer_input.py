"""What ``nas infer`` feeds an exported network, checked without torch: the texts as token
ids of the card's vocabulary, each within the length the network was trained for, and at
most ``MAX_INPUTS`` of them (``nas.experiments.export`` turns them into tensors)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import SparseNASError
from nas.tasks.tokens import split_tokens

LENGTH_FACTOR = 4
"""An input may be this many times longer than the longest training sequence."""
UNRECORDED_LONGEST = 1000
"""The most tokens per input for an export made before the card recorded its training lengths."""
MAX_INPUTS = 10_000
"""Inputs per ``nas infer`` call: the network runs on all of them at once."""


def token_ids(card: Mapping[str, Any], texts: Sequence[str]) -> list[list[int]]:
    """Each of ``texts`` as the token ids of the export's vocabulary (a card checked by
    ``models.export_card.check_card``).

    Raises
    ------
    SparseNASError
        For no text, too many texts, an empty or too long text, a symbol outside the
        network's vocabulary, or a network that reads float features (not text).
    """
    source = card["input"]
    if source.get("kind") != "tokens":
        raise SparseNASError(
            f"this network reads {source.get('n_features')} float features per step "
            f"(task {card.get('task')}), not text"
        )
    if not texts:
        raise SparseNASError("give at least one input text")
    if len(texts) > MAX_INPUTS:
        raise SparseNASError(
            f"give at most {MAX_INPUTS} input texts per call (got {len(texts)}); split the file"
        )
    limit = longest_input(source)
    vocabulary: dict[str, int] = source["vocabulary"]
    rows = []
    for number, text in enumerate(texts, start=1):
        tokens = split_tokens(text)
        if not tokens:
            raise SparseNASError(f"input {number} is empty")
        if len(tokens) > limit:
            raise SparseNASError(
                f"input {number} has {len(tokens)} tokens; this network reads at most {limit} "
                f"({_length_reason(source)})"
            )
        unknown = sorted({t for t in tokens if t not in vocabulary})
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:5])
            raise SparseNASError(
                f"input {number} ({text!r}) has symbol(s) {shown} outside the network's "
                f"vocabulary of {len(vocabulary)} tokens ({_vocabulary_text(vocabulary)})"
            )
        rows.append([vocabulary[t] for t in tokens])
    return rows


def longest_input(source: dict[str, Any]) -> int:
    """The most tokens one input may have: ``LENGTH_FACTOR`` times the longest sequence the
    network was trained on (a recurrent network may carry over to somewhat longer strings,
    not to any length), or ``UNRECORDED_LONGEST`` for an export that does not record it."""
    trained = source.get("longest_trained")
    return LENGTH_FACTOR * int(trained) if trained else UNRECORDED_LONGEST


def _length_reason(source: dict[str, Any]) -> str:
    trained = source.get("longest_trained")
    if trained:
        return f"{LENGTH_FACTOR} times its longest training sequence, {trained} tokens"
    return "the bound for an export that does not record its training lengths"


def _vocabulary_text(vocabulary: dict[str, int]) -> str:
    tokens = list(vocabulary)
    return " ".join(tokens) if len(tokens) <= 30 else " ".join(tokens[:30]) + " ..."
