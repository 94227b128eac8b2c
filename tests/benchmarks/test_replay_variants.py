"""benchmarks/replay.py: a ``--strategies`` entry may carry the spec settings it replays with."""

from __future__ import annotations

import pytest

from nas.search import SearchSpec


@pytest.fixture(scope="module")
def replay(benchmark_script):
    return benchmark_script("replay")


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
