"""Persistence (predictors/persistence.py): round trip, metadata and every error path."""

import warnings

import joblib
import numpy as np
import pytest
from predictor_fixtures import our_table

from core.errors import SparseNASError
from predictors.features import ALL
from predictors.persistence import (
    PREDICTION,
    PREDICTION_STD,
    data_hash,
    fit_predictor,
    library_versions,
    load_predictor,
    save_predictor,
)
from predictors.table import load_table


@pytest.fixture(scope="module")
def frame():
    return our_table(30, seed=1)


@pytest.fixture(scope="module")
def predictor(frame):
    table = load_table(frame, features="all")
    return fit_predictor(table, "xgboost", seed=0, n_estimators=20)


def test_round_trip(tmp_path, frame, predictor):
    path = save_predictor(predictor, tmp_path / "sub" / "model.joblib")
    loaded = load_predictor(path)
    assert loaded.features == ALL == predictor.features
    assert loaded.cell == "gru" and loaded.rows == 30
    assert loaded.data_hash == predictor.data_hash and len(loaded.data_hash) == 64
    assert loaded.versions == library_versions()
    before = predictor.predict_table(frame)
    after = loaded.predict_table(frame)
    np.testing.assert_array_equal(before[PREDICTION], after[PREDICTION])
    np.testing.assert_array_equal(before[PREDICTION_STD], after[PREDICTION_STD])
    assert (after[PREDICTION_STD] > 0).all()


def test_predicting_from_edge_lists_alone(frame, predictor):
    # A `nas sample`-like table: thesis properties and edge_list, no extended features.
    props = frame.drop(columns=["test_acc", "status", "params_nonzero", "average_clustering"])
    expected = predictor.predict_table(frame, return_std=False)[PREDICTION]
    np.testing.assert_allclose(predictor.predict_table(props)[PREDICTION], expected)


def test_data_hash_tracks_the_data(frame):
    table = load_table(frame, features="thesis")
    assert data_hash(table.X, table.y) == data_hash(table.X.copy(), table.y.copy())
    assert data_hash(table.X, table.y) != data_hash(table.X, table.y + 1e-9)
    assert data_hash(table.X, table.y) != data_hash(table.X.iloc[:, ::-1], table.y)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(SparseNASError, match="does not exist"):
        load_predictor(tmp_path / "nope.joblib")
    with pytest.raises(SparseNASError, match="is not a file"):
        load_predictor(tmp_path)
    corrupt = tmp_path / "corrupt.joblib"
    corrupt.write_bytes(b"\x80\x04garbage that is not a pickle")
    with pytest.raises(SparseNASError, match=r"corrupt or not a joblib file \(\w+\)$"):
        load_predictor(corrupt)
    empty = tmp_path / "empty.joblib"
    empty.write_bytes(b"")
    with pytest.raises(SparseNASError, match="corrupt"):
        load_predictor(empty)


def test_truncated_file(tmp_path, predictor):
    path = save_predictor(predictor, tmp_path / "model.joblib")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SparseNASError, match="corrupt"):
        load_predictor(path)


def test_foreign_and_incomplete_files(tmp_path, predictor):
    other = tmp_path / "other.joblib"
    joblib.dump({"weights": [1, 2, 3]}, other)
    with pytest.raises(SparseNASError, match="not a predictor saved by `nas predictor train`"):
        load_predictor(other)
    path = save_predictor(predictor, tmp_path / "model.joblib")
    payload = joblib.load(path)
    joblib.dump(payload | {"format_version": 99}, other)
    with pytest.raises(SparseNASError, match="format version 99"):
        load_predictor(other)
    joblib.dump({k: v for k, v in payload.items() if k != "features"}, other)
    with pytest.raises(SparseNASError, match="incomplete"):
        load_predictor(other)
    joblib.dump(payload | {"features": ["nodes"]}, other)
    with pytest.raises(SparseNASError, match="feature list that does not match"):
        load_predictor(other)


def test_other_library_versions_warn(tmp_path, predictor):
    path = save_predictor(predictor, tmp_path / "model.joblib")
    payload = joblib.load(path)
    payload["versions"]["scikit-learn"] = "0.1"
    joblib.dump(payload, path)
    with pytest.warns(UserWarning, match=r"other library versions \(scikit-learn 0.1 -> "):
        load_predictor(path)


def test_predicting_on_a_table_missing_features(frame, predictor):
    props = frame.drop(columns=["edge_list", "diameter", "log_io_paths"])
    with pytest.raises(SparseNASError, match="lacks 2 feature.*: diameter, log_io_paths"):
        predictor.predict_table(props)
    with pytest.raises(SparseNASError, match="no rows for cell 'gru'"):
        predictor.predict_table(frame.assign(cell="lstm"))


def test_write_errors(tmp_path, predictor):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SparseNASError, match="cannot write predictor file"):
        save_predictor(predictor, blocker / "model.joblib")


def test_fit_on_the_thesis_features_only(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = load_table(frame, features="thesis")
    predictor = fit_predictor(table, "bayesridge")
    assert len(predictor.features) == 23
    assert predictor.estimator.kind_ == "bayesridge"
