"""Evaluations tables (predictors/table.py): both formats, cleaning and computed features."""

import warnings

import numpy as np
import pandas as pd
import pytest
from predictor_fixtures import THESIS_COLUMNS, THESIS_TABLE, our_table, thesis_table

from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.io import edges_from_string
from graphs.spectral import EXTENDED_FEATURES
from graphs.wiring import WIRING_FEATURES, wiring_features
from predictors.features import ALL, FEATURE_SETS, THESIS, WIRING, feature_row
from predictors.table import load_table, read_table


@pytest.fixture(scope="module")
def ours():
    return our_table(24, repeats=1, seed=5)


def test_feature_sets():
    assert len(THESIS) == 23 and len(set(ALL)) == len(ALL)
    assert ALL[: len(THESIS)] == THESIS and ALL[-1] == "params_nonzero"
    assert set(EXTENDED_FEATURES) <= set(ALL)


def test_thesis_fixture_is_reproducible():
    """The committed fixture is what tests/predictor_fixtures.py writes (synthetic test_acc)."""
    stored = pd.read_csv(THESIS_TABLE)
    fresh = thesis_table()
    assert list(stored.columns) == list(THESIS_COLUMNS)
    assert len(stored) == 30
    pd.testing.assert_frame_equal(stored, fresh, check_dtype=False, rtol=1e-9)


def test_thesis_format_loads_as_is():
    with pytest.warns(UserWarning, match=r"18 feature\(s\) missing .*skipped: bipartite_s1_min"):
        table = load_table(THESIS_TABLE, features="all")
    assert table.features == THESIS
    assert table.cell == "gru"  # from the mode column, GRU
    assert len(table) == 30 and table.dropped == {}
    assert table.X.shape == (30, 23) and table.y.shape == (30,)
    # graph holds the family and graph_nr the number: together they name a graph.
    assert len(set(table.groups)) == 30 and not table.has_repeats
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_table(THESIS_TABLE, features="thesis").features == THESIS


def test_parquet_and_frames_load(tmp_path, ours):
    path = tmp_path / "t.parquet"
    ours.to_parquet(path)
    from_file = load_table(path, features="thesis")
    from_frame = load_table(ours, features="thesis")
    pd.testing.assert_frame_equal(from_file.X, from_frame.X)


def test_unknown_columns_are_ignored_and_order_kept(ours):
    frame = ours.assign(something_else="x", another=1.5)
    table = load_table(frame, features=["edges", "nodes"])
    assert table.features == ("edges", "nodes")
    assert list(table.X.columns) == ["edges", "nodes"]


def test_rows_not_ok_or_without_target_are_dropped_with_a_count(ours):
    frame = ours.copy()
    frame.loc[0, "status"] = "diverged"
    frame.loc[1, "status"] = "failed"
    frame.loc[2, "test_acc"] = np.nan
    with pytest.warns(UserWarning, match=r"dropped 3 row\(s\).*2 status other than ok, 1 no "):
        table = load_table(frame, features="thesis")
    assert table.dropped == {"status": 2, "target": 1}
    assert len(table) == len(frame) - 3


def test_extended_features_come_from_the_edge_list(ours):
    stripped = ours.drop(columns=[*EXTENDED_FEATURES, "params_nonzero", "diameter"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = load_table(stripped, features="all", cell="gru")
    assert table.features == ALL
    expected = feature_row(edges_from_string(ours.loc[3, "edge_list"]), "gru")
    for name in (*EXTENDED_FEATURES, "params_nonzero", "diameter"):
        assert table.X.loc[3, name] == pytest.approx(expected[name])


def test_wiring_features_come_from_the_edge_list(ours):
    assert WIRING == WIRING_FEATURES and not set(WIRING) & set(ALL)
    assert FEATURE_SETS["all+wiring"] == (*ALL, *WIRING)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = load_table(ours, features="all+wiring", cell="gru")
    assert table.features == (*ALL, *WIRING)
    for row in (0, 5):
        expected = wiring_features(layered_dag(edges_from_string(ours.loc[row, "edge_list"])))
        assert table.X.loc[row, list(WIRING)].to_dict() == pytest.approx(expected)


def test_params_nonzero_is_recomputed_without_the_embedding(ours):
    frame = ours.assign(params_nonzero=ours["params_nonzero"] + 9 * 32)  # as nas evaluate
    table = load_table(frame, features=["params_nonzero"])
    np.testing.assert_allclose(table.X["params_nonzero"], ours["params_nonzero"])


def test_cell_selection(ours):
    lstm = our_table(6, cell="lstm", seed=1)
    both = pd.concat([ours, lstm], ignore_index=True)
    with pytest.raises(SparseNASError, match="several cells \\(gru, lstm\\); choose one"):
        load_table(both)
    with pytest.warns(UserWarning, match="24 other cells"):
        table = load_table(both, cell="lstm")
    assert table.cell == "lstm" and len(table) == 6
    with pytest.raises(SparseNASError, match="no rows for cell 'rnn_tanh'"):
        load_table(both, cell="rnn_tanh")
    with pytest.raises(SparseNASError, match="unknown cell 'cnn'"):
        load_table(both, cell="cnn")


def test_repeats_are_grouped_by_edge_list():
    table = load_table(our_table(5, repeats=3), features="thesis")
    assert table.has_repeats and len(set(table.groups)) == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("a,b\n", "has no rows"),
        ("nodes,edges\n10,12\n", "no target column 'test_acc'"),
        ("colour,test_acc\nred,0.9\nblue,0.8\n", "no usable feature column"),
        ("nodes,test_acc,status\n10,0.9,failed\n", "no row with status ok"),
    ],
    ids=["missing", "empty", "no-rows", "no-target", "no-feature", "nothing-ok"],
)
def test_errors(tmp_path, content, message):
    path = tmp_path / "t.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SparseNASError, match=message), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_table(path)


def test_unknown_feature_set_and_bad_parquet(tmp_path):
    with pytest.raises(SparseNASError, match="unknown feature set 'most'"):
        load_table(THESIS_TABLE, features="most")
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet")
    with pytest.raises(SparseNASError, match="cannot read evaluations table"):
        read_table(path)


def test_prediction_tables_need_every_feature(ours):
    props = ours.drop(columns=["test_acc", "status", "edge_list", "diameter"])
    with pytest.raises(SparseNASError, match="lacks 1 feature.*: diameter"):
        load_table(props, features="thesis", target=None, require_all=True)
    table = load_table(ours.drop(columns=["test_acc"]), features=ALL, target=None)
    assert table.target is None and table.features == ALL
