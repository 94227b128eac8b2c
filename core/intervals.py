"""The project's one t-interval over seeds: what every study reports as "mean ± half-width".

Non-finite values (a run that diverged, a cell that was not run) are left out, and fewer than
two values give no interval (NaN), rather than a zero width that would read as certainty.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, int]:
    """Mean, half-width of the two-sided t-interval over ``values`` (NaN for fewer than two)
    and their count."""
    data = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    n = len(data)
    if n == 0:
        return float("nan"), float("nan"), 0
    if n < 2:
        return float(data.mean()), float("nan"), n
    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * data.std(ddof=1) / np.sqrt(n)
    return float(data.mean()), float(half), n
