"""benchmarks/replay.py: a ``--strategies`` entry may carry the spec settings it replays with."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from nas.search import SearchSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def replay():
    spec = importlib.util.spec_from_file_location("replay", ROOT / "benchmarks" / "replay.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_an_entry_names_a_strategy_and_typed_settings(replay):
    assert replay.variant("tpe") == {"strategy": "tpe"}
    settings = replay.variant("predictor+acquisition=thompson+kappa=2+round_size=8")
    assert settings == {
        "strategy": "predictor", "acquisition": "thompson", "kappa": 2.0, "round_size": 8
    }  # fmt: skip
    assert isinstance(settings["kappa"], float) and isinstance(settings["round_size"], int)
    assert SearchSpec(**settings).acquisition == "thompson"


@pytest.mark.parametrize("entry", ["predictor+acquisition", "predictor+colour=red"])
def test_a_bad_setting_stops_the_replay(replay, entry):
    with pytest.raises(SystemExit, match="key=value"):
        replay.variant(entry)
