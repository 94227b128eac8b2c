"""Read a search's Optuna study: trial records, rankings, the Pareto front, exported files.

The study is the only record of a search. Each trial's user attributes hold what the
evaluation produced (``record_attrs``; read them back with ``attr``) plus how the trial came
about (``origin``, ``round``, ``predicted_acc``, ``parent``, ``move``...);
``evaluations.csv`` / ``.parquet``, the best topologies and their checkpoints are written
from it, never the other way round.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch
from optuna.trial import FrozenTrial, TrialState

from core.errors import SparseNASError
from core.files import atomic_write
from graphs.io import edges_from_string, write_graph
from graphs.properties import PROPERTY_NAMES
from nas.search.space import family_columns

FLAT_KEYS: tuple[str, ...] = (
    "status",
    "reason",
    "valid_acc",
    "test_acc",
    "params_nonzero",
    "train_seconds",
    "edge_list",
)
"""Result keys stored as user attributes of their own (shown by optuna-dashboard)."""

METRIC_KEYS: tuple[str, ...] = (
    "valid_loss",
    "test_loss",
    "epochs",
    "params_total",
    "layer_sizes",
    "batch_offset",
    "acc_by_epoch",
    "loss_by_epoch",
)
"""Result keys grouped in the ``metrics`` user attribute (the graph properties are grouped in
``properties``): every user attribute is one database write, so fewer is faster."""

PLAN_KEYS: tuple[str, ...] = (
    "origin",
    "round",
    "predicted_acc",
    "predicted_std",
    "parent",
    "move",
    "edge_list",
)
"""User attributes set before training: how the candidate was chosen (and its graph)."""

EVALUATIONS = "evaluations"
BEST_DIR = "best"
_BEST_FILE = re.compile(r"trial-(\d+)\.(graphml|pt)")


def json_value(value: Any) -> Any:
    """``value`` as a JSON-safe user attribute (NaN and inf become None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        return json_value(value.item())
    return value


def record_attrs(record: dict[str, Any]) -> dict[str, Any]:
    """The user attributes of an ``evaluate_many`` record: ``FLAT_KEYS``, then ``metrics``
    (``METRIC_KEYS``, with the per-epoch validation accuracy and loss) and ``properties``."""
    attrs = {key: json_value(record.get(key)) for key in FLAT_KEYS}
    history = record.get("history") or []
    per_epoch = ("acc_by_epoch", "loss_by_epoch")
    metrics = {key: json_value(record.get(key)) for key in METRIC_KEYS if key not in per_epoch}
    metrics["acc_by_epoch"] = [json_value(h["valid_acc"]) for h in history]
    metrics["loss_by_epoch"] = [json_value(h["valid_loss"]) for h in history]
    attrs["metrics"] = metrics
    attrs["properties"] = {name: json_value(record.get(name)) for name in PROPERTY_NAMES}
    return attrs


def attr(trial: FrozenTrial, key: str, default: Any = None) -> Any:
    """A result of ``trial`` by name, wherever ``record_attrs`` stored it."""
    attrs = trial.user_attrs
    if key in attrs:
        return attrs[key]
    for group in ("metrics", "properties"):
        values = attrs.get(group)
        if isinstance(values, dict) and key in values:
            return values[key]
    return default


def selection_acc(trial: FrozenTrial) -> float | None:
    """The accuracy that chooses between trials: the validation accuracy (of the last epoch
    trained), or for a study made before the validation split, the test accuracy it chose
    by then."""
    value = trial.user_attrs.get("valid_acc", trial.user_attrs.get("test_acc"))
    return None if value is None else float(value)


def trial_graph_edges(trial: FrozenTrial) -> str | None:
    """The trial's edge list (``u-v`` pairs), if it has one."""
    edges = trial.user_attrs.get("edge_list")
    return str(edges) if edges else None


def trial_status(trial: FrozenTrial) -> str:
    """``ok``, ``stopped`` (early, by Optuna's pruner), ``diverged``, ``crashed``,
    ``invalid``, ``interrupted``, ``lost``
    (its worker died in training: failed by the heartbeat check, which alone fails a trial
    without a status), or the trial's state for one still running or waiting."""
    status = trial.user_attrs.get("status")
    if status and trial.state.is_finished():
        return "stopped" if status == "pruned" else str(status)  # studies made before 0.2
    if trial.state == TrialState.FAIL and "train_seed" in trial.user_attrs:
        return "lost"
    return trial.state.name.lower()


def counts_toward_budget(trial: FrozenTrial) -> bool:
    """Whether the trial's network started training (the budget's unit): such a trial has
    a ``train_seed``. Interrupted and lost trials are queued again instead, so they do not
    count."""
    return "train_seed" in trial.user_attrs and trial_status(trial) not in ("interrupted", "lost")


def networks_done(trials: Sequence[FrozenTrial]) -> int:
    """Networks whose training started and ended (the progress shown against the budget)."""
    return sum(counts_toward_budget(t) and t.state.is_finished() for t in trials)


def trial_row(trial: FrozenTrial, config: dict[str, Any]) -> dict[str, Any]:
    """One row of the evaluations table (the predictors' table format)."""
    attrs = trial.user_attrs
    row: dict[str, Any] = {
        "trial": trial.number,
        "state": trial.state.name,
        "status": trial_status(trial),
        "origin": attrs.get("origin"),
        "round": attrs.get("round"),
        "cell": config.get("cell"),
        "task": config.get("task"),
        **family_columns(trial.params),
        "train_seed": attrs.get("train_seed"),
        "batch_offset": attr(trial, "batch_offset"),
        "worker": attrs.get("worker"),
    }
    keys = ("valid_acc", "valid_loss", "test_acc", "test_loss", "epochs", "train_seconds")
    for key in (*keys, "params_total"):
        row[key] = attr(trial, key)
    row["params_nonzero"] = attr(trial, "params_nonzero")
    row["predicted_acc"] = attrs.get("predicted_acc")
    row["predicted_std"] = attrs.get("predicted_std")
    row["layer_sizes"] = attr(trial, "layer_sizes")
    row |= {name: attr(trial, name) for name in PROPERTY_NAMES}
    row["parent"] = attrs.get("parent")
    row["move"] = attrs.get("move")
    row["reason"] = attrs.get("reason")
    accs = attr(trial, "acc_by_epoch") or []
    row["acc_by_epoch"] = " ".join("nan" if a is None else f"{a:.6g}" for a in accs)
    row["edge_list"] = attrs.get("edge_list")
    return row


def evaluations_frame(study: optuna.Study) -> pd.DataFrame:
    """Every trial that was asked (waiting ones excluded), one row each, by trial number."""
    config = study_config(study)
    trials = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
    rows = [trial_row(t, config) for t in sorted(trials, key=lambda t: t.number)]
    frame = pd.DataFrame(rows)
    numeric = ("valid_acc", "valid_loss", "test_acc", "test_loss")
    for column in (*numeric, "predicted_acc", "predicted_std", "p"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def export_evaluations(study: optuna.Study, out: Path) -> pd.DataFrame:
    """Write ``evaluations.csv`` and ``evaluations.parquet`` into ``out``; returns the table."""
    frame = evaluations_frame(study)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / f"{EVALUATIONS}.csv", lambda path: frame.to_csv(path, index=False))
    atomic_write(out / f"{EVALUATIONS}.parquet", lambda path: frame.to_parquet(path, index=False))
    return frame


def check_out_owner(out: Path, study: str, storage: str) -> None:
    """Refuse an out dir whose ``config.json`` belongs to another study (another name or
    storage): its exports (tables, ``best/``, ``config.json``) would be overwritten."""
    try:
        config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no exports yet (or none readable: nothing of another study to protect)
    if not isinstance(config, dict):
        return
    owner = (config.get("study"), _same_storage(config.get("storage")))
    if owner != (study, _same_storage(storage)):
        raise SparseNASError(
            f"{out} holds the exports of study {owner[0]!r} ({config.get('storage')}); "
            f"choose another --out for study {study!r} ({storage})"
        )


def _same_storage(url: Any) -> Any:
    """A SQLite URL with its path made absolute, so two spellings of one file compare equal."""
    if isinstance(url, str) and url.startswith("sqlite:///") and "?" not in url:
        path = url[len("sqlite:///") :]
        if path and path != ":memory:":
            return "sqlite:///" + str(Path(path).resolve())
    return url


def study_config(study: optuna.Study) -> dict[str, Any]:
    """The search configuration stored on the study (empty for a foreign study)."""
    config = study.user_attrs.get("search_config")
    return dict(config) if isinstance(config, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# -- rankings ----------------------------------------------------------------------------------


def _params(trial: FrozenTrial) -> float:
    value = attr(trial, "params_nonzero")
    return float(value) if value is not None else math.inf


def ranked_trials(trials: Iterable[FrozenTrial], count: int | None = None) -> list[FrozenTrial]:
    """Completed trials by their value, the validation accuracy (ties: fewer nonzero
    parameters, then earlier)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    complete.sort(key=lambda t: (-t.values[0], _params(t), t.number))
    return complete if count is None else complete[:count]


def pareto_front(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """Completed trials no other beats in both accuracy (higher) and nonzero parameters
    (fewer); ordered by parameters. Of equal points the earliest trial is kept."""
    points = [
        (t.values[0], _params(t), t) for t in trials if t.state == TrialState.COMPLETE and t.values
    ]
    points.sort(key=lambda p: (p[1], -p[0], p[2].number))
    front: list[FrozenTrial] = []
    best_acc = -math.inf
    for acc, _, trial in points:  # increasing size: keep each strict accuracy improvement
        if acc > best_acc:
            front.append(trial)
            best_acc = acc
    return front


def hypervolume(points: Iterable[tuple[float, float]], reference: tuple[float, float]) -> float:
    """Area dominated by ``(accuracy, size)`` points (accuracy maximised, size minimised)
    and bounded by ``reference = (lowest accuracy, largest size)``; points beyond the
    reference add nothing. The pareto objective's quality measure: larger is better."""
    acc_ref, size_ref = reference
    kept = sorted((s, a) for a, s in points if a > acc_ref and s < size_ref)
    area, best_acc = 0.0, acc_ref
    for index, (size, acc) in enumerate(kept):  # sweep sizes upwards: a staircase of strips
        best_acc = max(best_acc, acc)
        right = kept[index + 1][0] if index + 1 < len(kept) else size_ref
        area += (right - size) * (best_acc - acc_ref)
    return area


def ranked_run_graph(run_dir: Path, rank: int) -> tuple[Any, dict[str, Any]]:
    """The graph of the ``rank``-th best network of a search's out dir (1 = best; by
    validation accuracy, ties: fewer nonzero parameters, then the earlier trial) and its row of
    ``evaluations.csv``.

    Raises
    ------
    SparseNASError
        If the folder holds no evaluations table or fewer than ``rank`` finished networks.
    """
    table_path = Path(run_dir) / f"{EVALUATIONS}.csv"
    if not table_path.is_file():
        raise SparseNASError(f"'{run_dir}' is not a search's out dir (no {EVALUATIONS}.csv)")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise SparseNASError(f"rank must be an integer >= 1 (got {rank!r})")
    try:
        table = pd.read_csv(table_path)
    except (OSError, ValueError) as exc:
        raise SparseNASError(f"cannot read '{table_path}': {exc}") from None
    chooser = "valid_acc" if "valid_acc" in table.columns else "test_acc"  # older runs: test
    needed = {"status", chooser, "params_nonzero", "trial", "edge_list"}
    if not needed <= set(table.columns):
        raise SparseNASError(
            f"'{table_path}' lacks columns {', '.join(sorted(needed - set(table.columns)))}"
        )
    done = table[table["status"].eq("ok") & table[chooser].notna()]
    if len(done) < rank:
        raise SparseNASError(
            f"'{run_dir}' has {len(done)} finished networks; rank {rank} is beyond"
        )
    done = done.sort_values([chooser, "params_nonzero", "trial"], ascending=[False, True, True])
    row = done.iloc[rank - 1].to_dict()
    return edges_from_string(str(row["edge_list"])), row


def best_file(out: Path, trial: int, suffix: str) -> Path:
    """Where a search keeps a best trial's graph (``.graphml``) or weights (``.pt``)."""
    return Path(out) / BEST_DIR / f"trial-{trial:05d}{suffix}"


def best_trials(study: optuna.Study, objective: str, count: int) -> list[FrozenTrial]:
    """The top ``count`` trials (accuracy), or the whole Pareto front (pareto)."""
    trials = study.get_trials(deepcopy=False)
    if objective == "pareto":
        return pareto_front(trials)
    return ranked_trials(trials, count)


def save_best(
    best: Sequence[FrozenTrial], out: Path, models: dict[int, torch.nn.Module]
) -> list[Path]:
    """Write each best trial's graph as GraphML and, when ``models`` holds its trained
    network, its ``state_dict`` (``best/trial-NNNNN.graphml`` / ``.pt``); remove the files of
    trials no longer among the best. Returns the files written."""
    folder = out / BEST_DIR
    folder.mkdir(parents=True, exist_ok=True)
    keep = {t.number for t in best}
    written = []
    for trial in best:
        stem = best_file(out, trial.number, "")
        graph_path = stem.with_suffix(".graphml")
        edges = trial_graph_edges(trial)
        if edges and not graph_path.exists():
            write_graph(edges_from_string(edges), graph_path)
            written.append(graph_path)
        model = models.get(trial.number)
        if model is not None and not stem.with_suffix(".pt").exists():
            atomic_write(stem.with_suffix(".pt"), lambda p, m=model: torch.save(m.state_dict(), p))
            written.append(stem.with_suffix(".pt"))
    for path in folder.iterdir():
        match = _BEST_FILE.fullmatch(path.name)
        if match and int(match[1]) not in keep:
            path.unlink(missing_ok=True)
    return written


def summary_rows(trials: Sequence[FrozenTrial]) -> list[dict[str, Any]]:
    """Rows of the final table: rank, trial, origin, family, nodes, edges, layers, nonzero
    parameters, predicted, validation (which ranked them) and test accuracy."""
    rows = []
    for rank, trial in enumerate(trials, start=1):
        attrs = trial.user_attrs
        rows.append(
            {
                "rank": rank,
                "trial": trial.number,
                "origin": attrs.get("origin"),
                "family": trial.params.get("family"),
                "nodes": _int(attr(trial, "nodes")),
                "edges": _int(attr(trial, "edges")),
                "layers": _int(attr(trial, "layers")),
                "params_nonzero": _int(attr(trial, "params_nonzero")),
                "predicted_acc": attrs.get("predicted_acc"),
                "valid_acc": selection_acc(trial),
                "test_acc": attrs.get("test_acc"),
                "epochs": attr(trial, "epochs"),
                "edge_list": attrs.get("edge_list"),
            }
        )
    return rows


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def search_summary(study: optuna.Study, spec: Any) -> dict[str, Any]:
    """What a finished search reports (``nas search`` prints it, ``--json`` as it is): where
    the study lives, its settings, the trials by status and the best trials (accuracy) or
    the Pareto front (pareto) as ``summary_rows``."""
    trials = study.get_trials(deepcopy=False)
    statuses = Counter(trial_status(t) for t in trials if t.state != TrialState.WAITING)
    rows = summary_rows(best_trials(study, spec.objective, spec.keep_best))
    return {
        "study": spec.study,
        "storage": spec.storage,
        "out": spec.out,
        "budget": spec.budget,
        "objective": spec.objective,
        "config": study_config(study),
        "trials": dict(sorted(statuses.items())),
        "pareto_front" if spec.objective == "pareto" else "best": rows,
    }
