"""docs/figures.md is generated from benchmarks/data/: it must match what the script makes now,
and its numbers must be the data's (read here a second way, without the script)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data"
PAGE = ROOT / "docs" / "figures.md"


@pytest.fixture(scope="module")
def figures_page(benchmark_script):
    return benchmark_script("figures_page")


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_committed_page_is_what_the_data_give(figures_page, page):
    assert figures_page.render() == page, "run: python benchmarks/figures_page.py"


def test_check_flag_passes_on_the_committed_page(figures_page):
    assert figures_page.main(["--check"]) == 0


def test_page_is_short(page):
    # the engine table holds both instruction sets' builds (issue 31): 28 rows, and the
    # controlled expansion study (issue 30) 8 rows
    assert len(page.splitlines()) <= 240


def _row(page: str, *cells: str) -> str:
    """The one table row of the page that starts with these cells."""
    start = "| " + " | ".join(cells) + " |"
    rows = [line for line in page.splitlines() if line.startswith(start)]
    assert len(rows) == 1, f"expected one row starting {start!r}, found {rows}"
    return rows[0]


def test_predictor_r2_matches_the_json(page):
    data = json.loads((DATA / "predictor_gru_all_mean.json").read_text(encoding="utf-8"))
    r2 = max(m["r2_mean"] for m in data["models"].values())
    std = next(m["r2_std"] for m in data["models"].values() if m["r2_mean"] == r2)
    row = _row(page, "gru", "`evaluations_gru.csv`")
    assert f"{r2:.3f} ± {std:.3f}" in row
    assert f"| {data['noise_ceiling']:.3f} |" in row


def test_engine_time_matches_the_text_file(page):
    lines = (DATA / "engine_benchmark.txt").read_text(encoding="utf-8").splitlines()
    fields = next(line.split() for line in lines if line.split()[:3] == ["gru", "avx512", "K=32"])
    row = _row(page, "gru", "avx512", "K=32").split(" | ")
    assert row[3] == fields[3]  # seconds per candidate-epoch
    header = next(line for line in page.splitlines() if line.startswith("| cell | build |"))
    names = header.split(" | ")
    assert row[names.index("x floor")] == fields[8]  # the columns keep the file's order
    assert row[names.index("vs reference")] == fields[5]


def test_pruning_thesis_cell_matches_the_summary(page):
    with (DATA / "pruning_thesis" / "summary.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    r = next(
        r
        for r in rows
        if (r["cell"], r["seed"], r["target"], float(r["percent"])) == ("lstm", "2", "both", 70.0)
    )
    cell = f"{float(r['acc_pruned']):.3f} / {float(r['acc_epoch_1']):.3f} / {r['epochs_to_regain']}"
    assert cell in _row(page, "lstm", "both", "2")


def test_replay_reach_matches_the_json(page):
    data = json.loads((DATA / "replay_pool_rnn_tanh_accuracy.json").read_text(encoding="utf-8"))
    reach = data["strategies"]["tpe"]["evals_to_random_best"]
    assert f"| {round(reach['median'])} (" in _row(page, "tpe", "accuracy")


def test_controlled_study_contrast_matches_the_csv(page):
    """Degree-blocks minus expander at 90 % on mnist1d from initialisation, paired by seed,
    with its t half-width computed by hand from the CSV's rows."""
    with (DATA / "expansion_study_mnist1d_lstm" / "expansion_study.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["setting"] == "init"]
    acc = {(r["method"], r["seed"]): float(r["test_acc"]) for r in rows if r["percent"] == "90.0"}
    diffs = [acc["degree-blocks", s] - acc["expander", s] for s in "01234"]
    mean = sum(diffs) / 5
    sd = (sum((d - mean) ** 2 for d in diffs) / 4) ** 0.5
    half = 2.7764451051977987 * sd / 5**0.5  # t(0.975, 4 degrees of freedom)
    row = _row(page, "mnist1d, lstm, 128", "init").split(" | ")
    assert row[4] == f"{mean:+.3f} ± {half:.3f}"
