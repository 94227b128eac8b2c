"""Tables in an 80-column terminal (issue 32, item 16): the search's, rank's, evaluate's and
predictor eval's tables, rendered by rich at width 80 with the widest values they can hold,
have no line longer than 80 and no number split across lines."""

import re

import pandas as pd
import pytest
from predictor_fixtures import our_table
from rich.console import Console
from typer.testing import CliRunner

import nas.cli.evaluate
import nas.cli.predictor
import nas.cli.rank
import nas.cli.search
from nas.cli import app
from nas.search.spec import SearchSpec

runner = CliRunner()
NUMBER = re.compile(r"[-+±]?\d[\d.,e+-]*")

WIDE = [  # the widest a run's row gets: 500 nodes, a long search, six-digit parameter counts
    {"rank": r, "trial": 10_000 + r, "family": f, "nodes": 500, "edges": 12_475, "layers": 499,
     "params_nonzero": 1_234_567, "predicted_acc": 0.98765, "predicted_std": 0.01234,
     "valid_acc": 0.99999 - r / 1000, "test_acc": 1.0 - r / 997, "epochs": 100, "status": "ok",
     "graph": f"graphs/{f}-{r}.txt"}
    for r, f in zip(range(1, 21), ["ws", "ba", "er"] * 7, strict=False)
]  # fmt: skip


@pytest.fixture
def screen(monkeypatch):
    """Every command module's console, replaced by one 80 columns wide that records."""
    console = Console(width=80, record=True, soft_wrap=True)
    for module in (nas.cli.search, nas.cli.rank, nas.cli.evaluate, nas.cli.predictor):
        monkeypatch.setattr(module, "console", console)
    return console


def check_fits(console: Console, numbers: list[str]) -> str:
    text = console.export_text().split("\nstudy '")[0]  # the search's lines after its table
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    for number in numbers:  # each number whole on one line
        assert any(number in line for line in lines), (number, text)
    split = [line for line in lines if NUMBER.fullmatch(line.strip() or "x")]
    assert not [line for line in split if len(line.strip()) < 3], text  # no stray digits
    return text


def test_the_search_table_fits_80_columns(screen):
    spec = SearchSpec(cell="gru", budget=20_000, out="runs/gru-reber", study="gru-reber",
                      storage="sqlite:///runs/gru-reber/study.db")  # fmt: skip
    nas.cli.search._print_summary({"best": WIDE[:5], "trials": {"ok": 20_000}}, spec)
    text = check_fits(screen, ["10001", "12475", "1234567", "0.988", "0.999", "0.999"])
    assert "fam: graph family" in " ".join(text.split())  # the short headers spelled out


def test_the_rank_table_fits_80_columns(screen, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    pd.DataFrame(WIDE).drop(columns=["rank"]).to_csv(run / "evaluations.csv", index=False)
    result = runner.invoke(app, ["rank", str(run)])
    assert result.exit_code == 0, result.output
    text = check_fits(screen, ["10001", "10020", "12475", "1234567", "0.988±0.012", "100"])
    assert "pred±sd: predicted accuracy ± the predictor's spread" in " ".join(text.split())


def test_the_evaluate_table_of_several_graphs_fits_80_columns(screen):
    screen.print(nas.cli.evaluate.several_table(WIDE, "gru Sparse-RNNs on reber"))
    check_fits(screen, ["graphs/ws-1.txt", "12475", "1234567", "0.999", "0.995"])


def test_the_predictor_eval_table_fits_80_columns(screen, tmp_path):
    table = tmp_path / "table.csv"
    our_table(30, repeats=1, seed=0).to_csv(table, index=False)
    args = ["predictor", "eval", "--data", str(table), "--cv", "3", "--repeats", "2",
            "--n-estimators", "10", "--models", "bayesridge,extratrees,rf",
            "--no-importance"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = screen.export_text(clear=False)
    means = re.findall(r"-?\d\.\d{3}(?!\d)", text)
    assert len(means) >= 15  # five scores of four rows at least, each on its own
    check_fits(screen, means)
