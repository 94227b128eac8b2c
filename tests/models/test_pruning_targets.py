"""Pruning targets and amounts (models/pruning/targets.py), and that the command line can read
the target and method names without importing torch."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import SparseNASError
from models.pruning import TARGETS, check_amount, check_target

ROOT = Path(__file__).resolve().parents[2]


def test_targets_and_their_check():
    assert TARGETS == ("i2h", "h2h", "both", "all")
    assert [check_target(t) for t in TARGETS] == list(TARGETS)
    with pytest.raises(SparseNASError, match="unknown pruning target 'BOTH'"):
        check_target("BOTH")


@pytest.mark.parametrize("amount", [-0.1, 1.5, math.nan, "0.5", True, None])
def test_amounts_outside_zero_to_one_are_refused(amount):
    with pytest.raises(SparseNASError, match="amount="):
        check_amount(amount)
    assert check_amount(0.25) == 0.25


def test_the_names_load_without_torch(tmp_path):
    probe = (
        "import sys; from models.pruning import MASK_METHODS, TARGETS, check_target; "
        "check_target('both'); print(len(MASK_METHODS), 'torch' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["6", "False"]
