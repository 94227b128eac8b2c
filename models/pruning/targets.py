"""What can be pruned and how much: the target names and the amount check.

Torch-free, so the command line can show and check them before torch is imported
(``models.pruning.weights`` says which matrices each target covers).
"""

from __future__ import annotations

from core.checks import check_choice, check_fraction

TARGETS: tuple[str, ...] = ("i2h", "h2h", "both", "all")
"""``i2h`` / ``h2h``: the input- / hidden-to-hidden matrices of every recurrent layer;
``both``: the two under one threshold; ``all``: also the embedding and the readout."""
RECURRENT_KINDS: tuple[str, ...] = ("i2h", "h2h")


def check_target(target: object) -> str:
    """Return ``target`` if it is one of ``TARGETS``, else raise naming the value."""
    return check_choice(target, "pruning target", TARGETS)


def check_amount(amount: object) -> float:
    """Return ``amount`` as a float if it is a fraction in [0, 1], else raise naming it."""
    return check_fraction(amount, "amount")
