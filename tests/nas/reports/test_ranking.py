"""The topology ranking (nas.reports.ranking): order, ties, the smallest close network."""

import math

import pandas as pd
import pytest

from core.errors import SparseNASError
from nas.reports.data import load_run, load_study, load_table_run
from nas.reports.ranking import rank_source, ranking, records, smallest_within
from nas.search.records import ranked_trials


def frame(rows):
    return pd.DataFrame(rows, columns=["trial", "status", "test_acc", "params_nonzero"])


def test_accuracy_first_then_fewer_parameters_then_the_earlier_trial():
    table = frame(
        [
            (0, "ok", 0.90, 500),
            (1, "ok", 0.95, 900),
            (2, "ok", 0.95, 700),
            (3, "stopped", 0.99, 100),  # stopped early: not ranked
            (4, "ok", 0.95, 700),
            (5, "diverged", math.nan, 300),
            (6, "ok", 0.80, math.nan),
        ]
    )
    ranked = ranking(table)
    assert ranked["trial"].tolist() == [2, 4, 1, 0, 6]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranking(table, top=2)["trial"].tolist() == [2, 4]
    assert list(ranked.columns[:3]) == ["rank", "trial", "family"]  # missing columns: NaN
    assert ranked["family"].isna().all()


def test_smallest_network_within_half_a_point():
    table = frame([(0, "ok", 0.950, 900), (1, "ok", 0.946, 400), (2, "ok", 0.944, 100)])
    assert smallest_within(table)["trial"] == 1  # 0.944 is 0.6 points below
    assert smallest_within(table, points=1.0)["trial"] == 2
    assert smallest_within(frame([(0, "failed", math.nan, 5)])) is None


def test_bad_top_is_an_error():
    with pytest.raises(SparseNASError, match="top must be an integer >= 1"):
        ranking(frame([(0, "ok", 0.5, 1)]), top=0)


def test_records_are_plain_json_values():
    (row,) = records(ranking(frame([(7, "ok", 0.5, 12.0)])))
    assert row["trial"] == 7 and row["params_nonzero"] == 12 and row["family"] is None


def test_ranking_of_a_run_equals_the_studys_trials(tiny_run):
    out, study = tiny_run
    expected = [t.number for t in ranked_trials(study.get_trials())]
    assert expected  # the tiny search finished networks
    for run in (load_run(out), load_study(f"sqlite:///{out / 'study.db'}", study.study_name)):
        assert run.study is not None
        assert ranking(run.frame)["trial"].tolist() == expected
    by_table = load_table_run(out / "evaluations.csv")
    assert by_table.study is None
    assert ranking(by_table.frame)["trial"].tolist() == expected
    top = ranking(load_run(out).frame, 3)
    for row in records(top):
        trial = study.trials[row["trial"]]
        assert row["valid_acc"] == trial.values[0]  # what the search ranked on
        assert row["test_acc"] == trial.user_attrs["test_acc"]
        assert row["params_nonzero"] == trial.user_attrs["params_nonzero"]
        assert row["family"] == trial.params["family"]
        assert row["epochs"] == 2 and row["status"] == "ok"


def test_a_run_dir_without_its_study_reads_evaluations_csv(tiny_run, tmp_path):
    out, study = tiny_run
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("evaluations.csv", "config.json"):
        (copy / name).write_bytes((out / name).read_bytes())
    run = load_run(copy)
    assert run.study is None and run.config["cell"] == "gru"
    assert ranking(run.frame)["trial"].tolist() == [t.number for t in ranked_trials(study.trials)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "name one source"),
        ({"run_dir": "a", "data": "b"}, "name one source"),
        ({"storage": "sqlite://"}, "--storage and --study go together"),
        ({"run_dir": "no/such/dir"}, "does not exist"),
    ],
)
def test_rank_source_errors(kwargs, message):
    with pytest.raises(SparseNASError, match=message):
        rank_source(**kwargs)


def test_an_unknown_study_names_the_ones_there(tiny_run):
    out, _ = tiny_run
    with pytest.raises(SparseNASError, match="no study 'nope'.*gru-reber"):
        load_study(f"sqlite:///{out / 'study.db'}", "nope")
