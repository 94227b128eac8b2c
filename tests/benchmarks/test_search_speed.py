"""``benchmarks/search_speed.py --count-statements``: the search's storage round trips,
counted without a clock."""

import argparse

import pytest
from search_processes import TINY, tiny_csv


@pytest.mark.slow
def test_a_seeded_search_sends_the_same_statements_each_run(benchmark_script, tmp_path):
    script = benchmark_script("search_speed")
    data = tiny_csv(tmp_path / "parity.csv")
    # a grace of 600 s: one heartbeat per stream, however slow the machine
    more = f"{' '.join(TINY)} --grace 600"
    args = argparse.Namespace(
        cell="gru", task=f"csv:{data}", budget=3, epochs=1, seed=0, workers=1, search_args=more
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = script.count_statements(args, tmp_path / "a" / "run")
    second = script.count_statements(args, tmp_path / "b" / "run")
    assert first == second
    assert min(first["SELECT"], first["INSERT"], first["COMMIT"]) > 0
    assert (tmp_path / "a" / "run" / "config.json").is_file()  # the search did run
