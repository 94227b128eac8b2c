"""core.intervals: the t-interval against scipy's own, and its edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from core.intervals import t_interval


def test_t_interval_is_scipys():
    values = [0.81, 0.77, 0.85, 0.79, 0.80]
    mean, half, n = t_interval(values)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(values), scale=stats.sem(values))
    assert n == 5 and mean == pytest.approx(np.mean(values))
    assert (mean - half, mean + half) == pytest.approx((low, high))
    assert np.isnan(t_interval([0.5])[1]) and t_interval([])[2] == 0
