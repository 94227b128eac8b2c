"""The shared argument checks (core/checks.py) and seed derivation (core/seeds.py)."""

import numpy as np
import pytest

from core.checks import check_choice, check_choices, check_fraction, check_int, check_real
from core.errors import SparseNASError
from core.seeds import child_rngs, child_seeds, derive_seed


def test_values_come_back_normalised():
    assert check_int(np.int64(3), "n", low=1) == 3 and type(check_int(np.int64(3), "n")) is int
    assert check_real(2, "lr", low=0.0, low_open=True) == 2.0
    assert check_fraction(1, "p") == 1.0 and check_fraction(0.5, "p", allow_zero=False) == 0.5
    assert check_choice("gru", "cell", ("gru", "lstm")) == "gru"
    assert check_choices("all", "family", ("ws", "ba")) == ("ws", "ba")
    assert check_choices(" ba, ws ", "family", ("ws", "ba")) == ("ba", "ws")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_int(True, "n"), "n must be an integer (got n=True)"),
        (lambda: check_int(2.0, "n"), "n must be an integer (got n=2.0)"),
        (lambda: check_int(0, "n", low=1), "n must be an integer >= 1 (got n=0)"),
        (lambda: check_int(9, "k", low=1, high=4), "k must be an integer in [1, 4] (got k=9)"),
        (lambda: check_real(float("nan"), "lr"), "lr must be a finite number (got lr=nan)"),
        (lambda: check_real(0, "lr", low=0.0, low_open=True), "lr must be > 0.0 (got lr=0)"),
        (lambda: check_fraction(0, "p", allow_zero=False), "p must be in (0.0, 1.0] (got p=0)"),
        (lambda: check_fraction(1.5, "p"), "p must be in [0.0, 1.0] (got p=1.5)"),
        (lambda: check_choice("x", "cell", ("gru",)), "unknown cell 'x'; choose one of gru"),
        (lambda: check_choices("ws,zz", "family", ("ws",)), "unknown family zz; choose from ws"),
        (lambda: check_choices(",", "family", ("ws",)), "unknown family ','"),
        (lambda: check_choices("ws,ws", "family", ("ws",)), "family listed twice (got ws,ws)"),
        (lambda: check_real(-1, "pruning amount", low=0), "(got -1)"),
    ],
)
def test_each_bad_value_names_the_parameter_the_value_and_the_bound(call, message):
    with pytest.raises(SparseNASError) as raised:
        call()
    assert message in str(raised.value)


def test_seeds_are_numpy_seed_sequences_and_independent():
    assert derive_seed(1, 2, 3) == int(np.random.SeedSequence([1, 2, 3]).generate_state(1)[0])
    children = child_seeds(7, 3)
    expected = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(7).spawn(3)]
    assert children == expected and len(set(children)) == 3
    assert child_seeds(7, 3) == children and child_seeds(8, 3) != children
    first, second = child_rngs(5, 2)
    again, _ = child_rngs(5, 2)
    assert first.integers(1 << 30) == again.integers(1 << 30)
    assert first.integers(1 << 30) != second.integers(1 << 30)
