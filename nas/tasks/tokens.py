"""How every token task splits one text into tokens: torch-free, so ``nas infer`` checks its
inputs against an export's vocabulary before torch is imported."""

from __future__ import annotations


def split_tokens(text: str) -> list[str]:
    """The tokens of one text: whitespace-separated tokens if it has inner whitespace
    ("12 7 7 3"), else its characters ("BTSSXXTVVE"). Every token task reads text this way."""
    text = text.strip()
    return text.split() if any(char.isspace() for char in text) else list(text)
