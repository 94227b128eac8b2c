"""``benchmarks/search_speed.py --count-statements``: the search's storage round trips,
counted without a clock."""

import argparse

import pytest
from search_processes import TINY, tiny_csv


@pytest.mark.slow
def test_a_seeded_search_sends_the_same_writes_each_run(benchmark_script, tmp_path):
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
    # the writes are the search's own; a few reads and their commits follow the clock (seen
    # on a loaded machine: 2 commits and 4 selects more in one of two runs)
    writes = ("CREATE", "INSERT", "UPDATE", "DELETE")
    assert {k: first.get(k) for k in writes} == {k: second.get(k) for k in writes}
    for kind in ("SELECT", "COMMIT"):
        assert abs(first[kind] - second[kind]) <= 0.05 * first[kind], kind
    assert min(first["SELECT"], first["INSERT"], first["COMMIT"]) > 0
    assert (tmp_path / "a" / "run" / "config.json").is_file()  # the search did run
