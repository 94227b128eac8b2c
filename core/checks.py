"""Argument checks shared by every spec and public function of the project.

Like scikit-learn's ``check_scalar``: each check returns the value (normalised to a plain
``int``, ``float`` or ``str``) or raises ``SparseNASError`` with one sentence naming the
parameter, the value received and what is allowed. ``graphs`` is the bottom layer, so every
package can use these; no spec writes its own range check.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from core.errors import SparseNASError


def check_int(value: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SparseNASError(f"{name} must be an integer (got {_shown(name, value)})")
    _check_bounds(value, name, low, high, "an integer ")
    return int(value)


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """``value`` as a ``float`` if it is a finite real number (not a bool) in ``[low, high]``
    (``(low, high]`` with ``low_open``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise SparseNASError(f"{name} must be a finite number (got {_shown(name, value)})")
    if low_open and low is not None and not value > low:
        upper = "" if high is None else f", {high}]"
        allowed = f"in ({low}{upper}" if high is not None else f"> {low}"
        raise SparseNASError(f"{name} must be {allowed} (got {_shown(name, value)})")
    _check_bounds(value, name, None if low_open else low, high, "")
    return float(value)


def check_fraction(value: object, name: str, *, allow_zero: bool = True) -> float:
    """``value`` as a ``float`` in ``[0, 1]`` (``(0, 1]`` without ``allow_zero``)."""
    return check_real(value, name, low=0.0, high=1.0, low_open=not allow_zero)


def check_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise SparseNASError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
    return value


def check_choices(
    values: str | Sequence[str], name: str, choices: Sequence[str], *, everything: str = "all"
) -> tuple[str, ...]:
    """A comma list (``"ws,ba"``), ``everything`` (all ``choices``) or a sequence -> the
    names, each one of ``choices``, none twice, at least one."""
    given = values
    if isinstance(values, str):
        text = values.strip()
        values = tuple(choices) if text == everything else text.split(",")
    names = tuple(str(v).strip() for v in values if str(v).strip())
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        shown = ", ".join(unknown) if unknown else repr(given)
        raise SparseNASError(
            f"unknown {name} {shown}; choose from {', '.join(choices)} (a comma list) "
            f"or {everything}"
        )
    if len(set(names)) != len(names):
        raise SparseNASError(f"{name} listed twice (got {','.join(names)})")
    return names


def _check_bounds(value, name: str, low, high, kind: str) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            allowed = f"{kind}in [{low}, {high}]"
        elif low is not None:
            allowed = f"{kind}>= {low}"
        else:
            allowed = f"{kind}<= {high}"
        raise SparseNASError(f"{name} must be {allowed} (got {_shown(name, value)})")


def _shown(name: str, value: object) -> str:
    """``name=value`` for a parameter name, the bare value for a phrase."""
    return f"{name}={value!r}" if name.isidentifier() else repr(value)
