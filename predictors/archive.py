"""The predictor file: one zip that can hold data only, never code.

Members:

- ``card.json``: what the predictor is (format, feature list, cell, data hash, rows,
  library versions, kind), plain JSON;
- ``model.skops``: the fitted ``GraphRegressor`` in scikit-learn's secure format
  (``skops.io``), read back with an explicit list of trusted types: skops rebuilds objects
  from data and refuses any type it is not told to trust, so a crafted file cannot run code;
- ``xgboost-N.json``: for the xgboost kind, each booster in XGBoost's own JSON (in
  ``model.skops`` its Pipeline step is ``"passthrough"``), N counting the fitted model first,
  then its bootstrap copies.

Predictors of format 1 were joblib pickles, which run code when loaded:
``predictors.card.predictor_kind`` recognises them so the caller can refuse them with a fix.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline
from sklearn.tree._tree import Tree
from xgboost import XGBRegressor

from core.errors import SparseNASError
from predictors.card import CARD
from predictors.regressors import KINDS, GraphRegressor

MODEL = "model.skops"
PASSTHROUGH = "passthrough"


def _type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# Beyond skops' own defaults (scikit-learn's estimators, numpy and builtins): our regressor
# and the trees of the forest and AdaBoost kinds. Nothing else is ever loaded.
TRUSTED = (_type_name(GraphRegressor), _type_name(Tree))


def booster_file(number: int) -> str:
    return f"xgboost-{number}.json"


GNN_TENSORS = "gnn.pt"
"""The gnn predictor's tensors: ``torch.save`` of a dict of tensors, read back with
``weights_only=True`` (tensors and plain containers only, never code)."""


def write_archive(path: Path, card: dict[str, Any], estimator: Any) -> None:
    """Write ``card`` and the fitted ``estimator`` into the zip ``path`` (OSError on failure)."""
    if getattr(estimator, "kind_", None) == "gnn":
        _write_gnn(path, card, estimator)
        return
    pipelines = [estimator.model_, *estimator.bootstraps_]
    boosters = [pipe.steps[-1][1] for pipe in pipelines if isinstance(pipe[-1], XGBRegressor)]
    if boosters:
        shell = copy.copy(estimator)
        shell.model_, *shell.bootstraps_ = [_without_booster(pipe) for pipe in pipelines]
    else:
        shell = estimator
    import skops.io as sio  # imports all of scikit-learn's estimators: only when needed

    full = {**card, "boosters": len(boosters)}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CARD, json.dumps(full, indent=2) + "\n")
        archive.writestr(MODEL, sio.dumps(shell))
        for number, booster in enumerate(boosters):
            archive.writestr(booster_file(number), _booster_json(booster))


def read_estimator(archive: zipfile.ZipFile, card: dict[str, Any], source: str) -> Any:
    """The fitted regressor of the archive, loaded from data only (trusted types, JSON)."""
    names = set(archive.namelist())
    if card.get("estimator") == "gnn":
        return _read_gnn(archive, card, source)
    if MODEL not in names:
        raise SparseNASError(f"{source} is incomplete ({MODEL} is missing)")
    import skops.io as sio  # imports all of scikit-learn's estimators: only when needed

    data = archive.read(MODEL)
    try:
        untrusted = [name for name in sio.get_untrusted_types(data=data) if name not in TRUSTED]
    except Exception as exc:  # noqa: BLE001 (a crafted skops file raises anything)
        raise SparseNASError(f"{source} has a corrupt {MODEL} ({type(exc).__name__})") from None
    if untrusted:
        shown = ", ".join(sorted(untrusted)[:5])
        raise SparseNASError(
            f"{source} holds types a predictor never has ({shown}); it was not saved by "
            "`nas predictor train` and is not loaded"
        )
    try:
        estimator = sio.loads(data, trusted=list(TRUSTED))
    except Exception as exc:  # noqa: BLE001
        raise SparseNASError(f"{source} has a corrupt {MODEL} ({type(exc).__name__})") from None
    pipelines = _pipelines(estimator)
    if pipelines is None:
        raise SparseNASError(f"{source} is incomplete (no fitted model)")
    missing = [pipe for pipe in pipelines if _is_passthrough(pipe.steps[-1][1])]
    if card.get("boosters") != len(missing):
        raise SparseNASError(f"{source} does not hold the XGBoost models its {CARD} lists")
    for number, pipe in enumerate(missing):
        name = booster_file(number)
        if name not in names:
            raise SparseNASError(f"{source} is incomplete ({name} is missing)")
        booster = XGBRegressor()
        try:
            booster.load_model(bytearray(archive.read(name)))
        except Exception as exc:  # noqa: BLE001 (XGBoost's parser on a crafted file)
            # XGBoost's messages start "[hh:mm:ss] /its/source.cc:line:": keep what follows.
            text = re.sub(r"^\[[\d:]+\]\s+\S+:\d+:\s*", "", str(exc).strip())
            reason = text.splitlines()[0][:120] if text else type(exc).__name__
            raise SparseNASError(f"{source} has a corrupt {name} ({reason})") from None
        pipe.steps[-1] = (pipe.steps[-1][0], booster)
    return estimator


def _write_gnn(path: Path, card: dict[str, Any], estimator: Any) -> None:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(estimator.tensors(), buffer)
    full = {**card, "estimator": "gnn", "gnn_params": estimator.get_params()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CARD, json.dumps(full, indent=2) + "\n")
        archive.writestr(GNN_TENSORS, buffer.getvalue())


def _read_gnn(archive: zipfile.ZipFile, card: dict[str, Any], source: str) -> Any:
    import io

    import torch

    from predictors.gnn import GNNRegressor

    if GNN_TENSORS not in archive.namelist():
        raise SparseNASError(f"{source} is incomplete ({GNN_TENSORS} is missing)")
    try:
        tensors = torch.load(io.BytesIO(archive.read(GNN_TENSORS)), weights_only=True)
    except Exception as exc:  # noqa: BLE001 (a crafted file: refused, never run)
        raise SparseNASError(
            f"{source} has a corrupt {GNN_TENSORS} ({type(exc).__name__})"
        ) from None
    params = card.get("gnn_params")
    if not isinstance(tensors, dict) or not isinstance(params, dict):
        raise SparseNASError(f"{source} has a corrupt {GNN_TENSORS} or {CARD}")
    try:
        return GNNRegressor.from_tensors(params, tensors)
    except SparseNASError as exc:
        raise SparseNASError(f"{source}: {exc}") from None


def _pipelines(estimator: object) -> list[Pipeline] | None:
    """The fitted Pipelines of a loaded regressor, or None when it is not one."""
    if not isinstance(estimator, GraphRegressor) or getattr(estimator, "kind_", None) not in KINDS:
        return None
    bootstraps = getattr(estimator, "bootstraps_", None)
    if not isinstance(bootstraps, list):
        return None
    pipelines = [getattr(estimator, "model_", None), *bootstraps]
    for pipe in pipelines:
        steps = getattr(pipe, "steps", None) if isinstance(pipe, Pipeline) else None
        if not isinstance(steps, list) or not steps:
            return None
        if not all(isinstance(step, tuple) and len(step) == 2 for step in steps):
            return None
    return pipelines


def _is_passthrough(step: object) -> bool:
    return isinstance(step, str) and step == PASSTHROUGH


def _without_booster(pipe: Pipeline) -> Pipeline:
    if not isinstance(pipe[-1], XGBRegressor):
        return pipe
    shell = copy.copy(pipe)
    shell.steps = [*pipe.steps[:-1], (pipe.steps[-1][0], PASSTHROUGH)]
    return shell


def _booster_json(booster: XGBRegressor) -> bytes:
    """XGBoost's own JSON of a fitted XGBRegressor (with its scikit-learn attributes)."""
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "model.json"
        booster.save_model(file)
        return file.read_bytes()
