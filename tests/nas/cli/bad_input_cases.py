"""The bad-input matrix (issue 32): every command's bad options and files, as data.

Each case is ``(argv, fragment)``: ``nas argv`` must print exactly one line, ``error: ...``
holding ``fragment``, exit with code 2 and write nothing. Words in capitals name the input
files ``make_inputs`` writes (``csv:TABLE`` becomes ``csv:<folder>/table.csv``). Both
``tests/nas/cli/test_cli_bad_input.py`` (in-process, plus a few real processes) and
``benchmarks/bad_inputs.py`` (every case timed in a fresh process) read this one table.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

Case = tuple[list[str], str]

_TEXTS = {
    "TRIANGLE": ("triangle.txt", "0 1\n1 2\n2 0\n"),
    "NEGATIVE": ("negative.txt", "-1 0\n0 1\n1 -1\n"),
    "EMPTY": ("empty.txt", ""),
    "WORDS": ("words.txt", "hello world\n"),
    "SPLIT": ("split.txt", "0 1\n2 3\n"),
    "LOOP": ("loop.txt", "0 0\n0 1\n"),
    "CSV1CLASS": ("csv1class.csv", "sequence,label\nab,1\nba,1\n"),
    "CSVNOCOL": ("csvnocol.csv", "text,label\nab,0\nba,1\n"),
    "PLAIN": ("plain.txt", "a file, not a folder\n"),
    "BINARY": ("binary.csv", "\x00\xff\xfe junk \x00"),
}


def make_inputs(folder: Path) -> dict[str, Path]:
    """Write every input file the cases name into ``folder``; their paths by name."""
    from predictor_fixtures import our_table
    from typer.testing import CliRunner

    from nas.cli import app

    made: dict[str, Path] = {"DIR": folder / "empty-folder", "FILEX": folder / "plain.txt" / "x"}
    made["DIR"].mkdir()
    for name, (file, text) in _TEXTS.items():
        made[name] = folder / file
        made[name].write_bytes(text.encode("latin-1"))
    table = our_table(30, repeats=1, seed=0)
    made["TABLE"] = folder / "table.csv"
    table.to_csv(made["TABLE"], index=False)
    for name, frame in {
        "ROWS2": table.head(2),
        "ROWS5": table.head(5),
        "REPEATED": pd.concat([table.head(4)] * 3),  # 4 graphs, 12 rows
    }.items():
        made[name] = folder / f"{name.lower()}.csv"
        frame.to_csv(made[name], index=False)
    mostly_nan = table.drop(columns=["edge_list"])
    mostly_nan.loc[:19, "density"] = float("nan")  # 20 of 30 rows
    made["NAN20"] = folder / "nan20.csv"
    mostly_nan.to_csv(made["NAN20"], index=False)
    made["MODEL"] = folder / "model.zip"
    argv = ["predictor", "train", "--data", str(made["TABLE"]), "--model", "bayesridge"]
    trained = CliRunner().invoke(app, [*argv, "--out", str(made["MODEL"])])
    assert trained.exit_code == 0, trained.output
    made["STUDYDB"] = folder / "empty-study"  # a run dir whose study.db is an empty file
    made["STUDYDB"].mkdir()
    (made["STUDYDB"] / "study.db").touch()
    study = {"cell": "gru", "task": "reber", "study": "gru-reber"}
    (made["STUDYDB"] / "config.json").write_text(json.dumps(study))
    made["RUN"] = _run_dir(folder / "run", table)
    made["CARDLESS"] = folder / "export-no-card"  # an export folder missing its card
    made["CARDLESS"].mkdir()
    (made["CARDLESS"] / "graph.graphml").write_text("<graphml/>")
    made["BADCARD"] = folder / "export-bad-card"
    made["BADCARD"].mkdir()
    (made["BADCARD"] / "card.json").write_text("[1, 2, 3]")
    return made


def _run_dir(folder: Path, table: pd.DataFrame) -> Path:
    """A search's out dir read from its files: an evaluations.csv of three finished networks
    and a config.json, but no best/ weights (so nothing in it can be exported)."""
    folder.mkdir()
    rows = table.head(3).assign(trial=range(3), status="ok", cell="gru")
    rows[["trial", "status", "cell", "test_acc", "params_nonzero", "edge_list"]].to_csv(
        folder / "evaluations.csv", index=False
    )
    config = {"cell": "gru", "task": "reber", "study": "gru-reber", "epochs": 1}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def swap(argv: list[str], inputs: dict[str, Path]) -> list[str]:
    """``argv`` with each input's name (a whole word in capitals) replaced by its path."""
    pattern = re.compile(r"\b(" + "|".join(sorted(inputs, key=len, reverse=True)) + r")\b")
    return [pattern.sub(lambda m: str(inputs[m.group(1)]), arg) for arg in argv]


SEARCH = ["search", "--budget", "2", "--epochs", "1", "--nodes", "10:12"]
EVALUATE = ["evaluate", "--epochs", "1", "--nodes", "10"]
PRUNE = ["prune", "--epochs", "1", "--hidden-size", "4", "--layers", "2"]
TRAIN = ["predictor", "train", "--model", "bayesridge", "--out", "out/model.zip"]
EVAL = ["predictor", "eval", "--models", "bayesridge", "--plot", "out/oof.png"]
PREDICT = ["predictor", "predict", "--model", "MODEL", "--out", "out/predicted.csv"]
INT_RANGE = "an integer in [0, 4294967295]"

SEARCH_CASES: list[Case] = [
    (["search", "--budget", "2", "--cell", "nope"], "unknown cell 'nope'"),
    ([*SEARCH, "--task", "nope"], "unknown task 'nope'"),
    ([*SEARCH, "--task", "csv:missing.csv"], "missing.csv"),
    ([*SEARCH, "--task", "csv:CSV1CLASS"], "single class"),
    ([*SEARCH, "--task", "csv:CSVNOCOL"], "column 'sequence' not found"),
    ([*SEARCH, "--task", "csv:EMPTY"], "empty.txt"),
    ([*SEARCH, "--test-data", "missing.csv"], "missing.csv"),
    ([*SEARCH, "--families", "ws,xx"], "graph family"),
    ([*SEARCH, "--families", ""], "famil"),
    ([*SEARCH, "--strategy", "grid"], "strategy"),
    ([*SEARCH, "--objective", "speed"], "objective"),
    (["search", "--budget", "2", "--nodes", "20:10"], "node"),
    (["search", "--budget", "2", "--nodes", "2:10"], "node"),
    (["search", "--budget", "2", "--nodes", "ten"], "LOW:HIGH"),
    (["search", "--budget", "2", "--nodes", "10:"], "LOW:HIGH"),
    (["search", "--budget", "2", "--nodes", "-10:12"], "node"),
    (["search", "--budget", "0"], "budget must be an integer >= 1"),
    (["search", "--budget", "-3"], "budget must be an integer >= 1"),
    ([*SEARCH, "--epochs", "0"], "epochs must be an integer >= 1"),
    ([*SEARCH, "--epochs", "-1"], "epochs must be an integer >= 1"),
    ([*SEARCH, "--grace", "0"], "grace"),
    ([*SEARCH, "--grace", "-5"], "grace"),
    ([*SEARCH, "--workers", "0"], "workers must be an integer >= 1"),
    ([*SEARCH, "--workers", "-2"], "workers must be an integer >= 1"),
    ([*SEARCH, "--seed", "-1"], "seed must be an integer >= 0 (got seed=-1)"),
    ([*SEARCH, "--workers", "2", "--storage", "sqlite:///:memory:"], "other processes"),
    ([*SEARCH, "--storage", "nosuch://x"], "cannot open storage"),
    ([*SEARCH, "--storage", "sqlite:///STUDYDB/study.db"], "is an empty file, not a study"),
    ([*SEARCH, "--out", "STUDYDB"], "holds the exports of study"),
    ([*SEARCH, "--out", "PLAIN"], "plain.txt"),
    ([*SEARCH, "--warm-start", "missing.csv"], "missing.csv"),
    ([*SEARCH, "--study", " "], "study must not be empty"),
    (["search", "--budget", "2", "--nodes", "10:100000000"], "3 <= low <= high <= 500"),
    (["search", "--budget", "2", "--nodes", "501:600"], "3 <= low <= high <= 500"),
]  # fmt: skip

EVALUATE_CASES: list[Case] = [
    (["evaluate", "--cell", "nope"], "unknown cell 'nope'"),
    (["evaluate", "--family", "xx"], "family"),
    (["evaluate", "--nodes", "2"], "got nodes=2"),
    (["evaluate", "--nodes", "0"], "nodes"),
    (["evaluate", "--nodes", "-5"], "nodes"),
    (["evaluate", "--nodes", "1000000000"], "nodes must be an integer <= 500"),
    (["evaluate", "--nodes", "501", "--family", "er"], "nodes must be an integer <= 500"),
    ([*EVALUATE, "--k", "0"], "k"),
    ([*EVALUATE, "--k", "1"], "k"),
    ([*EVALUATE, "--k", "10"], "k"),
    ([*EVALUATE, "--k", "-2"], "k"),
    ([*EVALUATE, "--p", "-0.1"], "p must be"),
    ([*EVALUATE, "--p", "1.5"], "p must be"),
    ([*EVALUATE, "--family", "ba", "--m", "0"], "m"),
    ([*EVALUATE, "--family", "ba", "--m", "10"], "m"),
    ([*EVALUATE, "--seed", "-1"], "seed must be an integer >= 0 (got seed=-1)"),
    ([*EVALUATE, "--task-seed", "-1"], "task_seed must be an integer >= 0 (got task_seed=-1)"),
    ([*EVALUATE, "--device", "foo"], "unknown device 'foo'"),
    ([*EVALUATE, "--device", "tpu"], "unknown device 'tpu'"),
    ([*EVALUATE, "--epochs", "0"], "epochs must be an integer >= 1"),
    ([*EVALUATE, "--epochs", "-1"], "epochs must be an integer >= 1"),
    ([*EVALUATE, "--lr", "0"], "lr"),
    ([*EVALUATE, "--lr", "-0.1"], "lr"),
    ([*EVALUATE, "--batch-size", "0"], "batch_size"),
    ([*EVALUATE, "--batch-size", "-4"], "batch_size"),
    ([*EVALUATE, "--batch-candidates", "0"], "batch_candidates must be an integer >= 1"),
    ([*EVALUATE, "--batch-candidates", "-1"], "batch_candidates must be an integer >= 1"),
    ([*EVALUATE, "--task", "nope"], "unknown task 'nope'"),
    ([*EVALUATE, "--task", "csv:missing.csv"], "missing.csv"),
    ([*EVALUATE, "--test-data", "missing.csv"], "missing.csv"),
    ([*EVALUATE, "--graph", "missing.txt"], "missing.txt"),
    ([*EVALUATE, "--graph", "DIR"], "holds no graph files"),
    ([*EVALUATE, "--graph", "NEGATIVE"], "negative node label (-1)"),
    ([*EVALUATE, "--graph", "EMPTY"], "is empty"),
    ([*EVALUATE, "--graph", "WORDS"], "not two integer node labels"),
    ([*EVALUATE, "--graph", "SPLIT"], "disconnected"),
    ([*EVALUATE, "--graph", "LOOP"], "self-loop"),
    ([*EVALUATE, "--graph", "BINARY"], "binary.csv"),
]  # fmt: skip

GRAPH_CASES: list[Case] = [
    (["sample", "--count", "-1"], "count must be an integer >= 1"),
    (["sample", "--count", "0"], "count must be an integer >= 1"),
    (["sample", "--count", "1000000000000"], "count must be an integer <= 1000000"),
    (["sample", "--count", "1000001", "--out", "s.csv"], "count must be an integer <= 1000000"),
    (["sample", "--family", "xx"], "graph family"),
    (["sample", "--family", ""], "graph family"),
    (["sample", "--seed", "-1"], "seed must be an integer >= 0 (got seed=-1)"),
    (["sample", "--count", "2", "--out", "DIR"], "it is a folder, not a file"),
    (["sample", "--count", "2", "--out", "FILEX"], "cannot write"),
    (["properties", "missing.txt"], "missing.txt"),
    (["properties", "DIR"], "empty-folder"),
    (["properties", "TRIANGLE", "--out", "DIR"], "it is a folder, not a file"),
    (["properties", "TRIANGLE", "--out", "FILEX"], "cannot write"),
    (["properties", "SPLIT"], "disconnected"),
    (["properties", "EMPTY"], "is empty"),
    (["properties", "WORDS"], "not two integer node labels"),
    (["properties", "NEGATIVE"], "negative node label (-1)"),
    (["properties", "LOOP"], "self-loop"),
    (["properties", "TRIANGLE", "missing.txt"], "missing.txt"),
    (["properties", *["TRIANGLE"] * 21, "SPLIT"], "disconnected"),  # after a bar would start
]  # fmt: skip

PRUNE_CASES: list[Case] = [
    (["prune", "--cell", "nope"], "unknown cell 'nope'"),
    (["prune", "--target", "xx"], "xx"),
    (["prune", "--method", "lottery"], "unknown pruning method 'lottery'"),
    (["prune", "--percent", "10,150"], "percent must be in [0.0, 100.0] (got percent=150.0)"),
    (["prune", "--percent", "-1"], "percent must be in [0.0, 100.0]"),
    (["prune", "--retrain-epochs", "0"], "retrain_epochs=0"),
    (["prune", "--retrain-epochs", "-1"], "retrain_epochs"),
    (["prune", "--embedding-dim", "0"], "embedding_dim=0"),
    (["prune", "--hidden-size", "0"], "hidden_size"),
    (["prune", "--hidden-size", "-1"], "hidden_size"),
    (["prune", "--layers", "0"], "layers"),
    (["prune", "--layers", "-2"], "layers"),
    (["prune", "--batch-size", "0"], "batch_size"),
    (["prune", "--lr", "0"], "lr"),
    (["prune", "--lr", "-1"], "lr"),
    (["prune", "--epochs", "0"], "epochs must be an integer >= 1"),
    (["prune", "--seed", "-1"], "seed must be an integer >= 0 (got seed=-1)"),
    (["prune", "--task-seed", "-1"], "task_seed must be an integer >= 0"),
    (["prune", "--device", "foo"], "unknown device 'foo'"),
    (["prune", "--task", "nope"], "unknown task 'nope'"),
    (["prune", "--test-data", "missing.csv"], "missing.csv"),
    ([*PRUNE, "--out", "FILEX"], "cannot write"),
    ([*PRUNE, "--out", "PLAIN"], "plain.txt"),
    ([*PRUNE, "--match", "missing-run"], "missing-run"),
    ([*PRUNE, "--match", "missing.graphml"], "missing.graphml"),
    ([*PRUNE, "--match", "DIR"], "is not a search's out dir"),
    ([*PRUNE, "--match", "SPLIT"], "disconnected"),
    ([*PRUNE, "--rank", "2"], "a rank needs a search's out dir to match"),
    ([*PRUNE, "--match", "RUN", "--rank", "0"], "rank must be an integer >= 1"),
    ([*PRUNE, "--match", "RUN", "--rank", "4"], "has 3 finished networks; rank 4 is beyond"),
    ([*PRUNE, "--match", "RUN", "--cell", "lstm"], "searched gru networks, not lstm"),
]  # fmt: skip

READER_CASES: list[Case] = [
    # rank
    (["rank", "missing-run"], "run dir 'missing-run' does not exist"),
    (["rank", "DIR"], "is not a search's out dir"),
    (["rank", "PLAIN"], "does not exist or is not a folder"),
    (["rank"], "name one source"),
    (["rank", "RUN", "--top", "0"], "top must be an integer >= 1 (got top=0)"),
    (["rank", "RUN", "--top", "-1"], "top must be an integer >= 1"),
    (["rank", "RUN", "--json", "--csv"], "choose one of --json and --csv"),
    (["rank", "RUN", "--data", "TABLE"], "name one source"),
    (["rank", "--data", "missing.csv"], "evaluations table 'missing.csv' does not exist"),
    (["rank", "--data", "DIR"], "is not a file"),
    (["rank", "--data", "BINARY"], "binary.csv"),
    (["rank", "--storage", "sqlite:///x.db"], "--storage and --study go together"),
    (["rank", "--study", "s"], "--storage and --study go together"),
    (["rank", "--storage", "nosuch://x", "--study", "s"], "cannot open storage"),
    (["rank", "STUDYDB"], "is an empty file, not a study"),
    # report
    (["report", "RUN", "--top", "0", "--out", "r"], "top must be an integer >= 1 (got top=0)"),
    (["report", "RUN", "--top", "-3", "--out", "r"], "top must be an integer >= 1"),
    (["report", "missing-run", "--out", "r"], "run dir 'missing-run' does not exist"),
    (["report", "DIR", "--out", "r"], "is not a search's out dir"),
    (["report", "--out", "r"], "name a run dir"),
    (["report", "--data", "TABLE"], "give --out"),
    (["report", "--data", "missing.csv", "--out", "r"], "'missing.csv' does not exist"),
    (["report", "--study", "x", "--out", "r"], "--storage and --study go together"),
    (["report", "--storage", "sqlite:///x.db", "--out", "r"], "--storage and --study go"),
    (["report", "--storage", "nosuch://x", "--study", "s", "--out", "r"], "cannot open storage"),
    (["report", "STUDYDB", "--out", "r"], "is an empty file, not a study"),
    (["report", "RUN", "--out", "r", "--prune-match", "no.csv"],
     "prune match file 'no.csv' does not exist"),
    (["report", "RUN", "--out", "r", "--prune-match", "EMPTY"], "is empty"),
    (["report", "RUN", "--out", "r", "--prune-match", "BINARY"], "cannot read prune match file"),
    (["report", "RUN", "--out", "r", "--prune-match", "TABLE"], "is not a `nas prune --match`"),
    (["report", "RUN", "--out", "PLAIN"], "it is a file"),
    (["report", "RUN", "--out", "FILEX"], "cannot write"),
    # export and infer
    (["export", "RUN", "--out", "x", "--rank", "0"], "rank must be an integer >= 1 (got rank=0)"),
    (["export", "RUN", "--out", "x", "--rank", "-1"], "rank must be an integer >= 1"),
    (["export", "missing-run", "--out", "x"], "run dir 'missing-run' does not exist"),
    (["export", "DIR", "--out", "x"], "is not a search's out dir"),
    (["export", "STUDYDB", "--out", "x"], "is an empty file, not a study"),
    (["export", "RUN", "--out", "x", "--rank", "4"], "has 3 finished networks; rank 4 is beyond"),
    (["export", "RUN", "--out", "x"], "has no saved weights"),
    (["export", "RUN", "--out", "PLAIN"], "it is a file"),
    (["export", "RUN", "--out", "FILEX"], "cannot write"),
    (["infer", "missing-export", "B"], "export folder 'missing-export' does not exist"),
    (["infer", "PLAIN", "B"], "does not exist or is not a folder"),
    (["infer", "DIR", "B"], "is not an export folder"),
    (["infer", "CARDLESS", "B"], "is not an export folder"),
    (["infer", "BADCARD", "B"], "does not hold a JSON object"),
    (["infer", "DIR", "--input", "missing.txt"], "missing.txt"),
]  # fmt: skip

PREDICTOR_CASES: list[Case] = [
    # files, models, features, outputs
    (["predictor", "eval", "--data", "missing.csv"], "'missing.csv' does not exist"),
    (["predictor", "eval", "--data", "DIR"], "is not a file"),
    (["predictor", "eval", "--data", "BINARY"], "binary.csv"),
    (["predictor", "eval", "--data", "TABLE", "--models", "rf,svm"], "svm"),
    (["predictor", "eval", "--data", "TABLE", "--models", ","], "model"),
    (["predictor", "eval", "--data", "TABLE", "--features", "most"], "most"),
    (["predictor", "eval", "--data", "TABLE", "--cell", "lstm"], "lstm"),
    (["predictor", "eval", "--data", "TABLE", "--cell", "nope"], "nope"),
    (["predictor", "eval", "--data", "TABLE", "--plot", "DIR"], "it is a folder, not a file"),
    (["predictor", "eval", "--data", "TABLE", "--plot", "FILEX"], "cannot write"),
    (["predictor", "train", "--data", "missing.csv", "--out", "m.zip"], "does not exist"),
    (["predictor", "train", "--data", "TABLE", "--out", "DIR"], "folder"),
    (["predictor", "train", "--data", "TABLE", "--out", "FILEX"], "cannot write"),
    ([*TRAIN, "--data", "TABLE", "--model", "svm"], "svm"),
    ([*TRAIN, "--data", "TABLE", "--features", "most"], "most"),
    ([*TRAIN, "--data", "TABLE", "--cell", "lstm"], "lstm"),
    ([*TRAIN, "--data", "CSVNOCOL"], "csvnocol.csv"),
    (["predictor", "predict", "--model", "missing.zip", "--data", "TABLE"], "missing.zip"),
    (["predictor", "predict", "--model", "TABLE", "--data", "TABLE"], "table.csv"),
    (["predictor", "predict", "--model", "EMPTY", "--data", "TABLE"], "empty.txt"),
    (["predictor", "predict", "--model", "DIR", "--data", "TABLE"], "is not a file"),
    (["predictor", "predict", "--model", "MODEL", "--data", "missing.csv"], "missing.csv"),
    (["predictor", "predict", "--model", "MODEL", "--data", "CSVNOCOL"], "csvnocol.csv"),
    (["predictor", "predict", "--model", "MODEL", "--data", "TABLE", "--out", "DIR"], "folder"),
    (["predictor", "predict", "--model", "MODEL", "--data", "TABLE", "--out", "FILEX"],
     "cannot write"),
    # too small to train or to validate (the minimum and why)
    ([*TRAIN, "--data", "ROWS2"], "has 2 usable row(s); training a predictor needs at least 6 "
     "(its inner 3-fold validation needs 2 rows per fold)"),
    ([*TRAIN, "--data", "ROWS5"], "has 5 usable row(s); training a predictor needs at least 6"),
    ([*EVAL, "--data", "ROWS2"], "5-fold cross-validation needs at least 10 rows (got 2, 2 "
     "per test fold to score R² and Kendall's tau)"),
    ([*EVAL, "--data", "ROWS2", "--cv", "2"], "2-fold cross-validation needs at least 4 rows"),
    ([*EVAL, "--data", "ROWS5", "--cv", "3"], "3-fold cross-validation needs at least 6 rows"),
    ([*EVAL, "--data", "REPEATED"], "5-fold cross-validation needs at least 10 distinct graphs "
     "(got 4, "),
    ([*EVAL, "--data", "REPEATED", "--cv", "3", "--mean-over-seeds"],
     "3-fold cross-validation needs at least 6 rows (got 4, "),
    # folds and repeats
    ([*EVAL, "--data", "TABLE", "--cv", "1"], "cv must be at least 2 folds (got cv=1)"),
    ([*EVAL, "--data", "TABLE", "--cv", "0"], "cv must be at least 2 folds (got cv=0)"),
    ([*EVAL, "--data", "TABLE", "--cv", "-3"], "cv must be at least 2 folds (got cv=-3)"),
    ([*EVAL, "--data", "TABLE", "--repeats", "0"], "repeats must be at least 1 (got repeats=0)"),
    ([*EVAL, "--data", "TABLE", "--repeats", "-1"], "repeats must be at least 1"),
    # trees and seeds
    ([*TRAIN, "--data", "TABLE", "--n-estimators", "0"],
     "n_estimators must be an integer >= 1 (got n_estimators=0)"),
    ([*TRAIN, "--data", "TABLE", "--n-estimators", "-5"], "n_estimators must be an integer >= 1"),
    ([*EVAL, "--data", "TABLE", "--n-estimators", "0"],
     "n_estimators must be an integer >= 1 (got n_estimators=0)"),
    ([*TRAIN, "--data", "TABLE", "--seed", "-1"], f"seed must be {INT_RANGE} (got seed=-1)"),
    ([*EVAL, "--data", "TABLE", "--seed", "-1"], f"seed must be {INT_RANGE} (got seed=-1)"),
    ([*EVAL, "--data", "TABLE", "--seed", str(2**32)], f"seed must be {INT_RANGE}"),
    # rows with NaN features: more than the share dropped by default is refused
    ([*TRAIN, "--data", "NAN20"], "20 of 30 rows (67%) of table"),
    ([*EVAL, "--data", "NAN20"], "more than the 50% dropped by default"),
    ([*PREDICT, "--data", "NAN20"], "--max-nan-share 1"),
    ([*TRAIN, "--data", "NAN20", "--max-nan-share", "0.6"], "20 of 30 rows (67%)"),
    ([*TRAIN, "--data", "TABLE", "--max-nan-share", "2"],
     "max_nan_share must be in [0.0, 1.0] (got max_nan_share=2.0)"),
    ([*EVAL, "--data", "TABLE", "--max-nan-share", "-0.1"], "max_nan_share must be in [0.0, 1.0]"),
    ([*PREDICT, "--data", "TABLE", "--max-nan-share", "1.5"], "max_nan_share must be in"),
]  # fmt: skip

# Click's usage errors (issue 32, item 7): one line naming the option and what it accepts
USAGE_CASES: list[Case] = [
    (["evaluate", "--nodes", "12.5"], "--nodes must be an integer (got '12.5')"),
    (["evaluate", "--nodes", "abc"], "--nodes must be an integer (got 'abc')"),
    (["evaluate", "--nodes=abc"], "--nodes must be an integer (got 'abc')"),
    (["evaluate", "--p", "x"], "--p must be a number (got 'x')"),
    (["evaluate", "--k", "two"], "--k must be an integer (got 'two')"),
    (["evaluate", "--lr", "fast"], "--lr must be a number (got 'fast')"),
    (["evaluate", "--seed", "1.5"], "--seed must be an integer (got '1.5')"),
    (["evaluate", "--batch-candidates", "all"], "--batch-candidates must be an integer"),
    (["evaluate", "--nodes"], "option --nodes needs a value: an integer"),
    (["evaluate", "--bogus"], "nas evaluate has no option --bogus"),
    (["evaluate", "--batch"], "has no option --batch (did you mean --batch-size?)"),
    (["evaluate", "--json=yes"], "--json"),
    (["evaluate", "extra"], "unexpected extra argument"),
    (["sample", "--count", "ten"], "--count must be an integer (got 'ten')"),
    (["sample", "--count", "2.5", "--out", "s.csv"], "--count must be an integer"),
    (["sample", "--seed", "x"], "--seed must be an integer (got 'x')"),
    (["sample", "--count"], "option --count needs a value: an integer"),
    (["sample", "extra"], "unexpected extra argument"),
    (["properties"], "missing argument FILES: a path"),
    (["properties", "TRIANGLE", "--bogus"], "nas properties has no option --bogus"),
    (["properties", "TRIANGLE", "--out"], "option --out needs a value: a path"),
    (["search", "--budget", "ten"], "--budget must be an integer (got 'ten')"),
    (["search"], "missing option --budget: an integer"),
    (["search", "--budget", "2", "--epochs", "1.5"], "--epochs must be an integer"),
    (["search", "--budget", "2", "--grace", "soon"], "--grace must be a number (got 'soon')"),
    (["search", "--budget", "2", "--workers", "two"], "--workers must be an integer"),
    (["search", "--budget", "2", "--seed", "x"], "--seed must be an integer (got 'x')"),
    (["search", "--budget", "2", "--bogus"], "nas search has no option --bogus"),
    (["search", "--budget"], "option --budget needs a value: an integer"),
    (["rank", "DIR", "--top", "x"], "--top must be an integer (got 'x')"),
    (["rank", "--bogus"], "nas rank has no option --bogus"),
    (["rank", "DIR", "extra"], "unexpected extra argument"),
    (["report", "DIR", "--top", "1.5", "--out", "r"], "--top must be an integer (got '1.5')"),
    (["report", "--bogus", "--out", "r"], "nas report has no option --bogus"),
    (["report", "DIR", "--out"], "option --out needs a value: a path"),
    (["export", "DIR"], "missing option --out: a path"),
    (["export", "--out", "x"], "missing argument RUN_DIR: a path"),
    (["export", "DIR", "--out", "x", "--rank", "best"], "--rank must be an integer"),
    (["export", "DIR", "--out", "x", "--bogus"], "nas export has no option --bogus"),
    (["infer"], "missing argument FOLDER: a path"),
    (["infer", "DIR", "--input"], "option --input needs a value: a path"),
    (["infer", "DIR", "--bogus"], "nas infer has no option --bogus"),
    (["prune", "--hidden-size", "big"], "--hidden-size must be an integer (got 'big')"),
    (["prune", "--layers", "two"], "--layers must be an integer (got 'two')"),
    (["prune", "--epochs", "1.5", "--out", "p"], "--epochs must be an integer (got '1.5')"),
    (["prune", "--lr", "x"], "--lr must be a number (got 'x')"),
    (["prune", "--rank", "first"], "--rank must be an integer (got 'first')"),
    (["prune", "--bogus"], "nas prune has no option --bogus"),
    (["predictor", "eval", "--data", "TABLE", "--cv", "x"], "--cv must be an integer (got 'x')"),
    (["predictor", "eval", "--data", "TABLE", "--repeats", "1.5"], "--repeats must be an integer"),
    (["predictor", "eval", "--data", "TABLE", "--max-nan-share", "half"],
     "--max-nan-share must be a number (got 'half')"),
    (["predictor", "eval"], "missing option --data: a path"),
    (["predictor", "eval", "--data", "TABLE", "--bogus"], "nas predictor eval has no option"),
    (["predictor", "train", "--data", "TABLE"], "missing option --out: a path"),
    (["predictor", "train", "--data", "TABLE", "--out", "m.zip", "--n-estimators", "many"],
     "--n-estimators must be an integer (got 'many')"),
    (["predictor", "predict", "--data", "TABLE"], "missing option --model: a path"),
    (["predictor", "predict", "--model", "MODEL"], "missing option --data: a path"),
    (["predictor", "nosuch"], "no such command"),
    (["nosuch"], "no such command 'nosuch'; choose one of evaluate"),
    (["--bogus"], "nas has no option --bogus"),
]  # fmt: skip

CASES: list[Case] = [
    *SEARCH_CASES,
    *EVALUATE_CASES,
    *GRAPH_CASES,
    *PRUNE_CASES,
    *READER_CASES,
    *PREDICTOR_CASES,
    *USAGE_CASES,
]
"""Every case of the matrix, command by command."""

REPRESENTATIVE: list[Case] = [
    (["search", "--budget", "2", "--cell", "nope"], "unknown cell 'nope'"),
    (["evaluate", "--nodes", "12.5"], "--nodes must be an integer (got '12.5')"),
    (["evaluate", "--k", "1", "--nodes", "10"], "k"),
    (["sample", "--count", "1000000000000"], "count must be an integer <= 1000000"),
    (["properties", "missing.txt"], "missing.txt"),
    (["prune", "--hidden-size", "0"], "hidden_size"),
    ([*PRUNE, "--rank", "2"], "a rank needs a search's out dir to match"),
    ([*PRUNE, "--match", "missing.graphml"], "missing.graphml"),
    (["rank", "missing-run"], "does not exist"),
    (["rank", "STUDYDB"], "is an empty file, not a study"),
    (["report", "STUDYDB", "--out", "r"], "is an empty file, not a study"),
    (["export", "STUDYDB", "--out", "x"], "is an empty file, not a study"),
    ([*SEARCH, "--storage", "sqlite:///STUDYDB/study.db"], "is an empty file, not a study"),
    (["report", "RUN", "--top", "0", "--out", "r"], "top must be an integer >= 1"),
    (["export", "RUN", "--out", "x", "--rank", "0"], "rank must be an integer >= 1"),
    (["infer", "missing-export", "B"], "does not exist"),
    (["predictor", "train", "--data", "TABLE", "--out", "m.zip", "--n-estimators", "0"],
     "n_estimators must be an integer >= 1"),
    (["predictor", "eval", "--data", "TABLE", "--repeats", "0"], "repeats must be at least 1"),
    (["predictor", "predict", "--model", "missing.zip", "--data", "TABLE"], "missing.zip"),
    # the cases that took seconds before (issue 32, item 10), one of each kind
    ([*SEARCH, "--task", "nope"], "unknown task 'nope'"),
    ([*SEARCH, "--test-data", "missing.csv"], "missing.csv"),
    ([*SEARCH, "--task", "csv:missing.csv"], "missing.csv"),
    ([*SEARCH, "--out", "PLAIN"], "plain.txt"),
    ([*SEARCH, "--storage", "nosuch://x"], "cannot open storage"),
    ([*SEARCH, "--warm-start", "missing.csv"], "missing.csv"),
    ([*SEARCH, "--out", "STUDYDB"], "holds the exports of study"),
    ([*EVALUATE, "--task", "nope"], "unknown task 'nope'"),
    ([*EVALUATE, "--graph", "LOOP"], "self-loop"),
    ([*EVALUATE, "--graph", "BINARY"], "binary.csv"),
    (["properties", "TRIANGLE", "missing.txt"], "missing.txt"),
    (["prune", "--test-data", "missing.csv"], "missing.csv"),
    ([*PRUNE, "--match", "DIR"], "is not a search's out dir"),
    ([*PRUNE, "--match", "SPLIT"], "disconnected"),
    ([*PRUNE, "--match", "RUN", "--cell", "lstm"], "searched gru networks, not lstm"),
    (["rank", "--storage", "nosuch://x", "--study", "s"], "cannot open storage"),
    (["report", "RUN", "--out", "r", "--prune-match", "EMPTY"], "is empty"),
    (["report", "RUN", "--out", "r", "--prune-match", "BINARY"], "cannot read prune match file"),
    (["report", "RUN", "--out", "r", "--prune-match", "TABLE"], "is not a `nas prune --match`"),
    (["report", "RUN", "--out", "PLAIN"], "it is a file"),
    (["export", "DIR", "--out", "x"], "is not a search's out dir"),
    (["export", "RUN", "--out", "PLAIN"], "it is a file"),
    (["export", "RUN", "--out", "FILEX"], "cannot write"),
    (["infer", "DIR", "B"], "is not an export folder"),
    (["infer", "BADCARD", "B"], "does not hold a JSON object"),
    (["infer", "DIR", "--input", "missing.txt"], "missing.txt"),
    ([*TRAIN, "--data", "TABLE", "--features", "most"], "most"),
    ([*EVAL, "--data", "TABLE", "--cell", "nope"], "nope"),
    (["predictor", "predict", "--model", "MODEL", "--data", "CSVNOCOL"], "csvnocol.csv"),
    (["predictor", "predict", "--model", "EMPTY", "--data", "TABLE"], "empty.txt"),
]  # fmt: skip
"""One bad input per command, and one of each kind that once waited for a heavy import, run
in real processes: refused before any heavy import."""
