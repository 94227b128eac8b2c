"""``core.jsonsafe.json_safe``: strict JSON from NaN, numpy and torch values, enums and keys."""

import json
import math

import numpy as np
import torch

from core.jsonsafe import json_safe
from core.status import TrialStatus


def test_non_finite_floats_become_null_recursively():
    value = {"a": math.nan, "b": [1.5, math.inf, (-math.inf, 2.0)], "c": {"d": np.nan}}
    assert json_safe(value) == {"a": None, "b": [1.5, None, [None, 2.0]], "c": {"d": None}}


def test_numpy_and_torch_scalars_become_python_numbers():
    cleaned = json_safe(
        [np.float64(0.25), np.float32(0.5), np.int64(3), np.bool_(True), torch.tensor(1.5)]
    )
    assert cleaned == [0.25, 0.5, 3, True, 1.5]
    assert [type(v) for v in cleaned] == [float, float, int, bool, float]
    assert json_safe(np.float64("nan")) is None and json_safe(torch.tensor(math.inf)) is None


def test_arrays_and_tensors_become_lists():
    assert json_safe(np.array([[1.0, np.nan], [2.0, 3.0]])) == [[1.0, None], [2.0, 3.0]]
    assert json_safe(torch.tensor([1, 2])) == [1, 2]


def test_keys_become_strings_and_other_values_pass_through():
    value = {1: "x", (2, 3): None, "s": TrialStatus.OK, "flag": False, "n": 7}
    assert json_safe(value) == {"1": "x", "(2, 3)": None, "s": "ok", "flag": False, "n": 7}
    assert type(json_safe(TrialStatus.OK)) is str


def test_the_result_is_strict_json():
    value = {"x": [math.nan, np.float32(2.5)], "y": {"z": np.int32(4)}}
    assert json.loads(json.dumps(json_safe(value), allow_nan=False)) == {
        "x": [None, 2.5],
        "y": {"z": 4},
    }


def test_scalars_and_statuses_become_plain_json_values():
    assert json_safe(np.float32(0.5)) == 0.5 and type(json_safe(np.int64(3))) is int
    assert json_safe(math.nan) is None and json_safe(np.float64("inf")) is None
    assert json_safe(TrialStatus.OK) == "ok" and type(json_safe(TrialStatus.OK)) is str
    assert json_safe([1, 2]) == [1, 2] and json_safe(None) is None
