"""``json_safe``: the one way a value is made fit for strict JSON.

``json.dumps`` writes NaN and inf as bare ``NaN`` / ``Infinity``, which is not JSON, and refuses
numpy and torch scalars; every ``--json`` output and stored attribute goes through here.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any


def json_safe(value: Any) -> Any:
    """``value`` with NaN and inf as None, numpy / torch scalars as Python numbers, arrays and
    tensors as lists, dict keys as strings and tuples as lists, recursively.

    Anything else (strings, ints, bools, None, other objects) is returned as it is.
    """
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (str, bytes, int)):  # also the str and int enums' subclasses
        return value
    if getattr(value, "ndim", 0) and callable(getattr(value, "tolist", None)):
        return json_safe(value.tolist())  # an array or tensor with at least one axis
    if callable(getattr(value, "item", None)):
        return json_safe(value.item())  # a numpy or torch scalar
    return value
