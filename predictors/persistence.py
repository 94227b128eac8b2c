"""Train a predictor on an evaluations table, save it, load it and predict with it.

A saved predictor is one zip file (``predictors.archive``) that holds data only: a
``card.json`` (the feature list in the order the model expects, the cell, a SHA-256 hash of
the training data, the number of training rows, the library versions it was fitted with),
the fitted ``GraphRegressor`` in skops' secure format and, for xgboost, XGBoost's own JSON.
Loading it runs no code from the file. Loading checks all of it: a missing, corrupt or
foreign file is a ``SparseNASError`` with a one-line message, and a version mismatch warns.

Predictors of format 1 were joblib pickles, which run code when unpickled: they are refused
with the fix (train again, or ``trust_pickle=True`` for a file you made yourself).
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from importlib import metadata
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from core.checks import check_int
from core.errors import SparseNASError, existing_file
from predictors import archive
from predictors.card import predictor_kind, predictor_source, read_card
from predictors.checks import check_n_estimators, check_seed, check_train_rows
from predictors.names import GRAPH_KINDS
from predictors.regressors import GraphRegressor, check_kind
from predictors.table import MAX_NAN_SHARE, EvaluationTable, load_table

FORMAT = "sparse-rnn-nas predictor"
FORMAT_VERSION = 2
PICKLE_VERSION = 1  # the joblib pickle of format 1, read only with trust_pickle
PREDICTION = "predicted_acc"
PREDICTION_STD = "predicted_std"

_DISTRIBUTIONS = (
    "numpy", "pandas", "scikit-learn", "xgboost", "skops", "joblib", "sparse-rnn-nas"
)  # fmt: skip
_CHECKED = ("scikit-learn", "xgboost")
_KEYS = ("features", "cell", "data_hash", "rows", "versions")


@dataclass(frozen=True)
class Predictor:
    """A fitted regressor with what it needs to be used again.

    Attributes
    ----------
    estimator : the fitted ``GraphRegressor``.
    features : the feature columns, in the order the estimator expects.
    cell : the cell it was trained for (None when the table named none).
    data_hash : SHA-256 of the training features and targets (``data_hash``).
    rows : number of training rows.
    versions : library versions at fitting time.
    """

    estimator: GraphRegressor
    features: tuple[str, ...]
    cell: str | None
    data_hash: str
    rows: int
    versions: dict[str, str] = field(default_factory=dict)

    def predict_table(
        self,
        source: str | PathLike[str] | pd.DataFrame,
        *,
        return_std: bool = True,
        max_nan_share: float = MAX_NAN_SHARE,
    ) -> pd.DataFrame:
        """Predict every row of a table (CSV, Parquet or DataFrame) of graph properties.

        Features the table lacks are computed from its ``edge_list`` column when it has one.
        Returns the rows used with ``predicted_acc`` (and ``predicted_std``) appended; rows
        with a NaN or infinite feature are dropped up to ``max_nan_share`` (``load_table``).

        Raises
        ------
        SparseNASError
            If the table cannot be read, holds other cells only, or lacks a feature the
            predictor needs and has no ``edge_list`` to compute it from.
        """
        table = load_table(
            source,
            features=self.features,
            cell=self.cell,
            target=None,
            require_all=True,
            max_nan_share=max_nan_share,
        )
        frame = table.frame.copy()
        if return_std:
            mean, std = self.estimator.predict(table.X, return_std=True)
            frame[PREDICTION], frame[PREDICTION_STD] = mean, std
        else:
            frame[PREDICTION] = self.estimator.predict(table.X)
        return frame


def fit_predictor(
    table: EvaluationTable,
    kind: str = "auto",
    *,
    seed: int = 0,
    n_estimators: int = 200,
    tune: bool = False,
) -> Predictor:
    """Fit a ``GraphRegressor`` of ``kind`` on every row of ``table`` (at least
    ``predictors.checks.MIN_TRAIN_ROWS``); ``tune`` searches a forest's grid first."""
    kind = check_kind(kind)
    if kind in GRAPH_KINDS:
        raise SparseNASError(
            f"a {kind} predictor is cross-validated by `nas predictor eval --models {kind}`; "
            "it is not trained into a predictor file yet"
        )
    check_seed(seed)
    check_n_estimators(n_estimators)
    check_train_rows(len(table), table.source)
    X, y = table.X, table.y
    estimator = GraphRegressor(kind=kind, n_estimators=n_estimators, tune=tune, random_state=seed)
    estimator.fit(X, y)
    return Predictor(
        estimator=estimator,
        features=tuple(table.features),
        cell=table.cell,
        data_hash=data_hash(X, y),
        rows=len(y),
        versions=library_versions(),
    )


def save_predictor(predictor: Predictor, path: str | PathLike[str]) -> Path:
    """Write ``predictor`` to ``path`` (a zip of card.json and the model as data, see
    ``predictors.archive``); returns the path."""
    path = Path(path)
    card = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": predictor.estimator.kind_,
        "features": list(predictor.features),
        "cell": predictor.cell,
        "data_hash": predictor.data_hash,
        "rows": predictor.rows,
        "versions": dict(predictor.versions),
    }
    try:
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        archive.write_archive(path, card, predictor.estimator)
    except OSError as exc:
        raise SparseNASError(f"cannot write predictor file '{path}': {exc.strerror}") from None
    return path


def load_predictor(path: str | PathLike[str], *, trust_pickle: bool = False) -> Predictor:
    """Read a predictor written by ``save_predictor``; nothing in the file is run.

    ``trust_pickle`` also reads format 1 (a joblib pickle, which runs code when loaded):
    only for files you made yourself.

    Raises
    ------
    SparseNASError
        If the file is missing, corrupt, not a predictor, of a newer format, or a pickle
        without ``trust_pickle``.

    Warns
    -----
    UserWarning
        If it was fitted with another scikit-learn or XGBoost version.
    """
    path = existing_file(path, "predictor file")
    source = predictor_source(path)
    if predictor_kind(path, trust_pickle=trust_pickle) == "zip":
        card, estimator = _read_zip(path, source)
    else:
        card, estimator = _read_pickle(path, source)
    return _checked(card, estimator, source)


def _read_zip(path: Path, source: str) -> tuple[dict, GraphRegressor]:
    try:
        with zipfile.ZipFile(path) as zipped:
            card = read_card(zipped, source)
            _check_format(card, source, FORMAT_VERSION)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # sklearn's own version warning: ours is clearer
                return card, archive.read_estimator(zipped, card, source)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError,
            RuntimeError, ValueError) as exc:  # fmt: skip
        kind = "zlib.error" if isinstance(exc, zlib.error) else type(exc).__name__
        raise SparseNASError(f"{source} is corrupt ({kind})") from None


def _read_pickle(path: Path, source: str) -> tuple[dict, object]:
    """Format 1 (a joblib pickle of one dict); runs whatever the file holds."""
    import joblib

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            payload = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 (unpickling a corrupt file raises anything)
        raise SparseNASError(
            f"{source} is corrupt or not a joblib file ({type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict):
        raise SparseNASError(f"{source} is not a predictor saved by `nas predictor train`")
    _check_format(payload, source, PICKLE_VERSION)
    return payload, payload.get("estimator")


def _check_format(card: dict, source: str, version: int) -> None:
    if card.get("format") != FORMAT:
        raise SparseNASError(f"{source} is not a predictor saved by `nas predictor train`")
    if card.get("format_version") != version:
        raise SparseNASError(
            f"{source} has format version {card.get('format_version')!r}; "
            f"this version reads {FORMAT_VERSION}"
        )


def _checked(card: dict, estimator: object, source: str) -> Predictor:
    """The Predictor of a read card and estimator, once both hold together."""
    lacking = [key for key in _KEYS if key not in card]
    if lacking or not isinstance(estimator, GraphRegressor) or not hasattr(estimator, "model_"):
        raise SparseNASError(f"{source} is incomplete (no fitted model or metadata)")
    features = card["features"]
    if not isinstance(features, list) or not all(isinstance(name, str) for name in features):
        raise SparseNASError(f"{source} has a feature list that is not a list of names")
    features = tuple(features)
    if not features or len(features) != getattr(estimator, "n_features_in_", -1):
        raise SparseNASError(f"{source} has a feature list that does not match its model")
    cell, versions = card["cell"], card["versions"]
    if not (cell is None or isinstance(cell, str)) or not isinstance(card["data_hash"], str):
        raise SparseNASError(f"{source} has a malformed cell or data hash")
    if not isinstance(versions, dict):
        raise SparseNASError(f"{source} has malformed library versions")
    try:
        rows = check_int(card["rows"], "rows", low=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.predict(pd.DataFrame(np.zeros((1, len(features))), columns=features))
    except SparseNASError as exc:
        raise SparseNASError(f"{source} is malformed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 (a crafted model fails in any way)
        raise SparseNASError(f"{source} holds a model that cannot predict ({exc!r:.120})") from None
    versions = {str(k): str(v) for k, v in versions.items()}
    now = library_versions()
    changed = [
        f"{name} {versions.get(name)} -> {now[name]}"
        for name in _CHECKED
        if versions.get(name) != now[name]
    ]
    if changed:
        warnings.warn(
            f"{source} was fitted with other library versions ({', '.join(changed)}); "
            "its predictions may differ",
            UserWarning,
            stacklevel=3,
        )
    return Predictor(
        estimator=estimator,
        features=features,
        cell=cell,
        data_hash=card["data_hash"],
        rows=rows,
        versions=versions,
    )


def data_hash(X: pd.DataFrame | np.ndarray, y) -> str:
    """SHA-256 (hex) of the feature names, the feature values and the target, as float64."""
    digest = hashlib.sha256()
    if isinstance(X, pd.DataFrame):
        digest.update("\x1f".join(map(str, X.columns)).encode())
    values = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    digest.update(str(values.shape).encode())
    digest.update(values.tobytes())
    digest.update(np.ascontiguousarray(np.asarray(y, dtype=np.float64)).tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a saved predictor depends on."""
    versions = {"python": platform.python_version()}
    for name in _DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    if versions["xgboost"] == "unknown":  # installed as xgboost-cpu
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions["xgboost"] = metadata.version("xgboost-cpu")
    return versions
