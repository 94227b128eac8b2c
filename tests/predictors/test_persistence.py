"""Persistence (predictors/persistence.py, predictors/archive.py): round trip of every kind,
metadata, the file holding data only, old pickles refused, and every error path."""

import json
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from predictor_fixtures import our_table

from core.errors import SparseNASError
from predictors.archive import CARD, MODEL, TRUSTED, booster_file
from predictors.features import ALL
from predictors.persistence import (
    FORMAT,
    PREDICTION,
    PREDICTION_STD,
    data_hash,
    fit_predictor,
    library_versions,
    load_predictor,
    save_predictor,
)
from predictors.regressors import KINDS
from predictors.table import load_table


class Payload:
    """Unpickling it opens (creates) ``marker``: proof that a file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def save_old_format(predictor, path):
    """A predictor the way format 1 saved it: one joblib pickle of a dict."""
    payload = {
        "format": FORMAT,
        "format_version": 1,
        "estimator": predictor.estimator,
        "features": list(predictor.features),
        "cell": predictor.cell,
        "data_hash": predictor.data_hash,
        "rows": predictor.rows,
        "versions": dict(predictor.versions),
    }
    joblib.dump(payload, path, compress=3)
    return path


def rewrite(path, change_card=None, *, drop=(), replace=None):
    """Rewrite the predictor zip ``path``: its card through ``change_card``, members in
    ``drop`` left out, members in ``replace`` (name -> bytes) swapped."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if change_card is not None:
        members[CARD] = json.dumps(change_card(json.loads(members[CARD]))).encode()
    members.update(replace or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            if name not in drop:
                archive.writestr(name, data)


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


@pytest.mark.parametrize("kind", [*KINDS, "auto"])
def test_every_kind_round_trips_with_identical_predictions(tmp_path, frame, kind):
    table = load_table(frame, features="all")
    predictor = fit_predictor(table, kind, seed=3, n_estimators=15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no version or feature-name warning either
        loaded = load_predictor(save_predictor(predictor, tmp_path / f"{kind}.zip"))
    assert loaded.estimator.kind_ == predictor.estimator.kind_
    assert loaded.estimator.get_params() == predictor.estimator.get_params()
    assert loaded.estimator.cv_scores_ == predictor.estimator.cv_scores_
    before, after = predictor.predict_table(frame), loaded.predict_table(frame)
    np.testing.assert_array_equal(before[PREDICTION], after[PREDICTION])
    np.testing.assert_array_equal(before[PREDICTION_STD], after[PREDICTION_STD])


def test_the_file_holds_data_only(tmp_path, predictor):
    path = save_predictor(predictor, tmp_path / "model.zip")
    boosters = 1 + predictor.estimator.n_bootstrap
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        card = json.loads(archive.read(CARD))
        untrusted = sio.get_untrusted_types(data=archive.read(MODEL))
        booster = json.loads(archive.read(booster_file(0)))
    assert names == {CARD, MODEL, *(booster_file(n) for n in range(boosters))}
    assert card["format_version"] == 2 and card["kind"] == "xgboost"
    assert card["features"] == list(ALL) and card["boosters"] == boosters
    assert set(untrusted) <= set(TRUSTED)
    assert "learner" in booster  # XGBoost's own JSON model


def test_a_crafted_pickle_never_runs(tmp_path):
    marker = tmp_path / "MARKER"
    for name, dump in {
        "evil.joblib": lambda p: joblib.dump({"format": FORMAT, "x": Payload(marker)}, p, 3),
        "evil.pkl": lambda p: joblib.dump(Payload(marker), p),
    }.items():
        dump(tmp_path / name)
        with pytest.raises(SparseNASError, match=r"old-format predictor.*--trust-pickle"):
            load_predictor(tmp_path / name)
        assert not marker.exists()


def test_an_old_pickle_loads_only_when_trusted(tmp_path, frame, predictor):
    path = save_old_format(predictor, tmp_path / "old.joblib")
    with pytest.raises(SparseNASError) as refused:
        load_predictor(path)
    assert str(refused.value) == (
        f"predictor file '{path}' is an old-format predictor (a pickle, which can run code "
        "when loaded): train it again with `nas predictor train`, or pass --trust-pickle if "
        "you made the file yourself"
    )
    loaded = load_predictor(path, trust_pickle=True)
    assert loaded.features == predictor.features and loaded.rows == predictor.rows
    before, after = predictor.predict_table(frame), loaded.predict_table(frame)
    np.testing.assert_array_equal(before[PREDICTION_STD], after[PREDICTION_STD])


class Stranger:
    """A type no predictor holds."""


CRAFTED = {
    "not a predictor zip": (
        lambda p: rewrite(p, drop={CARD}),
        "not a predictor saved by `nas predictor train`",
    ),
    "card not JSON": (lambda p: rewrite(p, replace={CARD: b"{"}), "card.json that is not JSON"),
    "card a list": (lambda p: rewrite(p, replace={CARD: b"[1]"}), "not a JSON object"),
    "newer format": (
        lambda p: rewrite(p, lambda c: c | {"format_version": 99}),
        "format version 99",
    ),
    "features a string": (
        lambda p: rewrite(p, lambda c: c | {"features": "nodes"}),
        "not a list of names",
    ),
    "rows negative": (lambda p: rewrite(p, lambda c: c | {"rows": -3}), "rows must be"),
    "no model": (lambda p: rewrite(p, drop={MODEL}), "model.skops is missing"),
    "model not skops": (
        lambda p: rewrite(p, replace={MODEL: b"PK junk"}),
        r"corrupt model.skops \(\w+\)",
    ),
    "untrusted type in model": (
        lambda p: rewrite(p, replace={MODEL: sio.dumps(Stranger())}),
        r"holds types a predictor never has \(test_persistence.Stranger\)",
    ),
    "plain sklearn model": (
        lambda p: rewrite(p, replace={MODEL: sio.dumps({"a": 1})}),
        "incomplete",
    ),
    "no booster": (lambda p: rewrite(p, drop={booster_file(2)}), "xgboost-2.json is missing"),
    "booster not JSON": (
        lambda p: rewrite(p, replace={booster_file(0): b"{nope"}),
        r"corrupt xgboost-0.json \(Expecting",
    ),
    "boosters miscounted": (
        lambda p: rewrite(p, lambda c: c | {"boosters": 1}),
        "XGBoost models its card.json",
    ),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:-200]), "corrupt"),
    "compressed bytes damaged": (
        lambda p: p.write_bytes(p.read_bytes()[:60] + bytes(40) + p.read_bytes()[100:]),
        r"is corrupt \((BadZipFile|zlib.error)\)$",
    ),
}


@pytest.mark.parametrize("case", CRAFTED)
def test_crafted_predictor_files_are_one_error(tmp_path, predictor, case):
    path = save_predictor(predictor, tmp_path / "model.zip")
    damage, message = CRAFTED[case]
    damage(path)
    with pytest.raises(SparseNASError, match=message) as error:
        load_predictor(path)
    assert "\n" not in str(error.value)


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
    with pytest.raises(SparseNASError, match="old-format predictor"):
        load_predictor(corrupt)
    with pytest.raises(SparseNASError, match=r"corrupt or not a joblib file \(\w+\)$"):
        load_predictor(corrupt, trust_pickle=True)
    empty = tmp_path / "empty.joblib"
    empty.write_bytes(b"")
    with pytest.raises(SparseNASError, match="corrupt"):
        load_predictor(empty)
    junk = tmp_path / "junk.zip"
    junk.write_text("a text file")
    with pytest.raises(SparseNASError, match="corrupt or not a predictor file$"):
        load_predictor(junk)


def test_truncated_file(tmp_path, predictor):
    path = save_predictor(predictor, tmp_path / "model.joblib")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SparseNASError, match="corrupt"):
        load_predictor(path)


def test_foreign_and_incomplete_files(tmp_path, predictor):
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr(CARD, json.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(SparseNASError, match="not a predictor saved by `nas predictor train`"):
        load_predictor(other)
    path = save_predictor(predictor, tmp_path / "model.zip")
    rewrite(path, lambda card: {k: v for k, v in card.items() if k != "features"})
    with pytest.raises(SparseNASError, match="incomplete"):
        load_predictor(path)
    path = save_predictor(predictor, tmp_path / "model.zip")
    rewrite(path, lambda card: card | {"features": ["nodes"]})
    with pytest.raises(SparseNASError, match="feature list that does not match"):
        load_predictor(path)


def test_foreign_and_incomplete_old_pickles_when_trusted(tmp_path, predictor):
    other = tmp_path / "other.joblib"
    joblib.dump({"weights": [1, 2, 3]}, other)
    with pytest.raises(SparseNASError, match="not a predictor saved by `nas predictor train`"):
        load_predictor(other, trust_pickle=True)
    path = save_old_format(predictor, tmp_path / "model.joblib")
    payload = joblib.load(path)
    joblib.dump(payload | {"format_version": 99}, other)
    with pytest.raises(SparseNASError, match="format version 99"):
        load_predictor(other, trust_pickle=True)
    joblib.dump({k: v for k, v in payload.items() if k != "features"}, other)
    with pytest.raises(SparseNASError, match="incomplete"):
        load_predictor(other, trust_pickle=True)
    joblib.dump(payload | {"features": ["nodes"]}, other)
    with pytest.raises(SparseNASError, match="feature list that does not match"):
        load_predictor(other, trust_pickle=True)


def test_other_library_versions_warn(tmp_path, predictor):
    path = save_predictor(predictor, tmp_path / "model.zip")
    rewrite(path, lambda card: card | {"versions": card["versions"] | {"scikit-learn": "0.1"}})
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
