"""`nas search --workers N`: local worker processes sharing one study, as real subprocesses."""

import json
import random
import shutil
import subprocess
import sys
from dataclasses import replace

import optuna
import pandas as pd
import pytest

from core.errors import SparseNASError
from nas.search import SearchSpec
from nas.search.records import counts_toward_budget
from nas.search.workers import check_workers, worker_spec


def _tiny_csv(path):
    """60 strings of a/b labelled by the parity of their a's: a task that trains in a blink."""
    rng = random.Random(0)
    rows = []
    for _ in range(60):
        text = "".join(rng.choice("ab") for _ in range(rng.randint(3, 8)))
        rows.append({"sequence": text, "label": text.count("a") % 2})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _nas(*args, cwd):
    command = [sys.executable, "-m", "nas.cli", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_workers_share_the_study_and_the_budget(tmp_path):
    data = _tiny_csv(tmp_path / "parity.csv")
    result = _nas(
        "search", "--budget", "12", "--epochs", "1", "--nodes", "10:12",
        "--strategy", "random", "--task", f"csv:{data}", "--out", "run",
        "--workers", "2", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    # Every process closed its connection: the study is whole in study.db, none of it left
    # in a write-ahead log beside it (a copy of study.db alone would lose that part).
    wal = tmp_path / "run" / "study.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    log = (tmp_path / "run" / "workers" / "worker-1.log").read_text()
    helper = json.loads(log.strip().splitlines()[-1])  # the worker ended normally
    assert helper["study"] == payload["study"]
    study = optuna.load_study(
        study_name=payload["study"],
        storage=payload["storage"].replace("sqlite:///run", f"sqlite:///{tmp_path}/run"),
    )
    trials = study.get_trials(deepcopy=False)
    started = sum(counts_toward_budget(t) for t in trials)
    assert started == 12  # a trial asked beyond the budget by a racing worker is given back
    assert all(t.state.is_finished() for t in trials)
    assert len({t.user_attrs["worker"] for t in trials if counts_toward_budget(t)}) == 2
    table = pd.read_csv(tmp_path / "run" / "evaluations.csv")  # exported after both ended
    assert len(table) == len(trials)


def test_a_worker_gets_the_resolved_spec_with_the_next_seed():
    spec = SearchSpec(budget=30, cell="lstm", nodes="12:20", families="ws,er", seed=5,
                      warm_start="t.csv", pool_size=77, kappa=0.5).resolved()  # fmt: skip
    sent = json.loads(json.dumps(worker_spec(spec, 2).to_json()))  # as the process receives it
    received = SearchSpec.from_json(sent)
    assert received == replace(spec, seed=7)
    assert (received.storage, received.study, received.out) == (spec.storage, spec.study, spec.out)


@pytest.mark.parametrize(
    ("workers", "storage", "message"),
    [
        (0, "sqlite:///x.db", "workers must be an integer >= 1"),
        (2, "sqlite:///:memory:", "other processes"),
    ],
)
def test_bad_worker_counts_are_refused(workers, storage, message):
    with pytest.raises(SparseNASError, match=message):
        check_workers(workers, storage)
    assert check_workers(1, "sqlite:///:memory:") == 1


@pytest.mark.slow
def test_a_moved_run_folder_resumes_from_another_working_folder(tmp_path):
    """config.json keeps the run dir's own study.db relative to the folder, so the folder
    can be moved and the same search resumed from anywhere."""
    data = _tiny_csv(tmp_path / "parity.csv")
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    args = ["search", "--epochs", "1", "--nodes", "10:12", "--strategy", "random",
            "--task", f"csv:{data}", "--json"]  # fmt: skip
    result = _nas(*args, "--budget", "3", "--out", "run", cwd=first)
    assert result.returncode == 0, result.stderr
    config = json.loads((first / "run" / "config.json").read_text())
    assert config["storage"] == "sqlite:///study.db"
    assert config["storage_relative_to"] == "run dir"
    shutil.move(first / "run", tmp_path / "moved")
    result = _nas(*args, "--budget", "5", "--out", str(tmp_path / "moved"), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert sum(summary["trials"].values()) == 5  # the 3 trained before, and 2 more
    table = pd.read_csv(tmp_path / "moved" / "evaluations.csv")
    assert list(table["trial"]) == [0, 1, 2, 3, 4]
