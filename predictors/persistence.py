"""Train a predictor on an evaluations table, save it, load it and predict with it.

A saved predictor is one joblib file holding a dict: the fitted ``GraphRegressor``, the
feature list (in the order the model expects), the cell, a SHA-256 hash of the training
data (feature names, feature values and targets), the number of training rows and the
library versions it was fitted with. Loading checks all of it: a missing, corrupt or foreign
file is a ``SparseNASError`` with a one-line message, and a version mismatch warns.

joblib files are pickles: load only predictors you trust.
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from os import PathLike
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from core.errors import SparseNASError, existing_file
from predictors.regressors import GraphRegressor, check_kind
from predictors.table import EvaluationTable, load_table

FORMAT = "sparse-rnn-nas predictor"
FORMAT_VERSION = 1
PREDICTION = "predicted_acc"
PREDICTION_STD = "predicted_std"

_DISTRIBUTIONS = ("numpy", "pandas", "scikit-learn", "xgboost", "joblib", "sparse-rnn-nas")
_CHECKED = ("scikit-learn", "xgboost")
_KEYS = ("estimator", "features", "cell", "data_hash", "rows", "versions")


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
        self, source: str | PathLike[str] | pd.DataFrame, *, return_std: bool = True
    ) -> pd.DataFrame:
        """Predict every row of a table (CSV, Parquet or DataFrame) of graph properties.

        Features the table lacks are computed from its ``edge_list`` column when it has one.
        Returns the rows used with ``predicted_acc`` (and ``predicted_std``) appended.

        Raises
        ------
        SparseNASError
            If the table cannot be read, holds other cells only, or lacks a feature the
            predictor needs and has no ``edge_list`` to compute it from.
        """
        table = load_table(
            source, features=self.features, cell=self.cell, target=None, require_all=True
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
) -> Predictor:
    """Fit a ``GraphRegressor`` of ``kind`` on every row of ``table``."""
    kind = check_kind(kind)
    X, y = table.X, table.y
    estimator = GraphRegressor(kind=kind, n_estimators=n_estimators, random_state=seed)
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
    """Write ``predictor`` to ``path`` (joblib, compressed); returns the path."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": predictor.estimator,
        "features": list(predictor.features),
        "cell": predictor.cell,
        "data_hash": predictor.data_hash,
        "rows": predictor.rows,
        "versions": dict(predictor.versions),
    }
    try:
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(payload, path, compress=3)
    except OSError as exc:
        raise SparseNASError(f"cannot write predictor file '{path}': {exc.strerror}") from None
    return path


def load_predictor(path: str | PathLike[str]) -> Predictor:
    """Read a predictor written by ``save_predictor``.

    Raises
    ------
    SparseNASError
        If the file is missing, corrupt, not a predictor or of a newer format.

    Warns
    -----
    UserWarning
        If it was fitted with another scikit-learn or XGBoost version.
    """
    path = existing_file(path, "predictor file")
    source = f"predictor file '{path}'"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's own version warning: ours is clearer
            payload = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 (unpickling a corrupt file raises anything)
        raise SparseNASError(
            f"{source} is corrupt or not a joblib file ({type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise SparseNASError(f"{source} is not a predictor saved by `nas predictor train`")
    if payload.get("format_version") != FORMAT_VERSION:
        raise SparseNASError(
            f"{source} has format version {payload.get('format_version')!r}; "
            f"this version reads {FORMAT_VERSION}"
        )
    lacking = [key for key in _KEYS if key not in payload]
    estimator = payload.get("estimator")
    if lacking or not isinstance(estimator, GraphRegressor) or not hasattr(estimator, "model_"):
        raise SparseNASError(f"{source} is incomplete (no fitted model or metadata)")
    features = tuple(str(name) for name in payload["features"])
    if not features or len(features) != getattr(estimator, "n_features_in_", -1):
        raise SparseNASError(f"{source} has a feature list that does not match its model")
    versions = {str(k): str(v) for k, v in dict(payload["versions"]).items()}
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
            stacklevel=2,
        )
    return Predictor(
        estimator=estimator,
        features=features,
        cell=payload["cell"],
        data_hash=str(payload["data_hash"]),
        rows=int(payload["rows"]),
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
