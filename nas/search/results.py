"""Read a search's Optuna study and write what is exported from it: user attributes, the
evaluations table, a run dir's study, the best topologies and the summary.

The study is the only record of a search. Each trial's user attributes hold what the
evaluation produced (``record_attrs``; read them back with ``attr``) plus how the trial came
about (``origin``, ``round``, ``predicted_acc``, ``parent``, ``move``...);
``evaluations.csv`` / ``.parquet``, the best topologies and their checkpoints are written
from it, never the other way round. Statuses, the budget rule and the ranking live in
``nas.search.records`` (their names are re-exported here).
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from core.errors import SparseNASError
from core.files import atomic_write
from core.jsonsafe import json_safe
from graphs.io import edges_from_string, write_graph
from graphs.properties import PROPERTY_NAMES
from nas.search.records import attr, pareto_front, ranked_trials, selection_acc, trial_status
from nas.search.records import rank as rank_frame
from nas.search.space import family_columns
from nas.search.study_file import CONFIG, EVALUATIONS, RUN_DIR, STUDY_DB
from nas.search.urls import shown_url, sqlite_path, stored_url

if TYPE_CHECKING:  # torch only where checkpoints are saved: readers of a run never need it
    import torch

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

BEST_DIR = "best"
_BEST_FILE = re.compile(r"trial-(\d+)\.(graphml|pt)")


def record_attrs(record: dict[str, Any]) -> dict[str, Any]:
    """The user attributes of an ``evaluate_many`` record: ``FLAT_KEYS``, then ``metrics``
    (``METRIC_KEYS``, with the per-epoch validation accuracy and loss) and ``properties``."""
    attrs = {key: json_safe(record.get(key)) for key in FLAT_KEYS}
    history = record.get("history") or []
    per_epoch = ("acc_by_epoch", "loss_by_epoch")
    metrics = {key: json_safe(record.get(key)) for key in METRIC_KEYS if key not in per_epoch}
    metrics["acc_by_epoch"] = [json_safe(h["valid_acc"]) for h in history]
    metrics["loss_by_epoch"] = [json_safe(h["valid_loss"]) for h in history]
    attrs["metrics"] = metrics
    attrs["properties"] = {name: json_safe(record.get(name)) for name in PROPERTY_NAMES}
    return attrs


def trial_graph_edges(trial: FrozenTrial) -> str | None:
    """The trial's edge list (``u-v`` pairs), if it has one."""
    edges = trial.user_attrs.get("edge_list")
    return str(edges) if edges else None


def trial_row(trial: FrozenTrial, config: dict[str, Any]) -> dict[str, Any]:
    """One row of the evaluations table (the predictors' table format)."""
    attrs = trial.user_attrs
    row: dict[str, Any] = {
        "trial": trial.number,
        "state": trial.state.name,
        "status": str(trial_status(trial)),  # stored as its plain value
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


def evaluations_frame(
    study: optuna.Study, trials: Sequence[FrozenTrial] | None = None
) -> pd.DataFrame:
    """Every trial that was asked (waiting ones excluded), one row each, by trial number;
    ``trials``: the study as just read (else it is read now)."""
    config = study_config(study)
    if trials is None:
        trials = study.get_trials(deepcopy=False)
    trials = [t for t in trials if t.state != TrialState.WAITING]
    rows = [trial_row(t, config) for t in sorted(trials, key=lambda t: t.number)]
    frame = pd.DataFrame(rows)
    numeric = ("valid_acc", "valid_loss", "test_acc", "test_loss")
    for column in (*numeric, "predicted_acc", "predicted_std", "p"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def export_evaluations(
    study: optuna.Study, out: Path, trials: Sequence[FrozenTrial] | None = None
) -> pd.DataFrame:
    """Write ``evaluations.csv`` and ``evaluations.parquet`` into ``out``; returns the table
    (``trials`` as for ``evaluations_frame``)."""
    frame = evaluations_frame(study, trials)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / f"{EVALUATIONS}.csv", lambda path: frame.to_csv(path, index=False))
    atomic_write(out / f"{EVALUATIONS}.parquet", lambda path: frame.to_parquet(path, index=False))
    return frame


def config_storage(storage: str, out: Path) -> dict[str, str]:
    """How ``config.json`` records the storage: without its password, and a SQLite file
    inside the run dir by its path relative to it (``storage_relative_to``), so the folder
    can be moved and resumed from anywhere."""
    stored = stored_url(storage)
    path = sqlite_path(stored)
    if path is not None:
        with suppress(ValueError):
            inside = path.resolve().relative_to(Path(out).resolve())
            return {"storage": f"sqlite:///{inside.as_posix()}", "storage_relative_to": RUN_DIR}
    return {"storage": stored}


def study_config(study: optuna.Study) -> dict[str, Any]:
    """The search configuration stored on the study (empty for a foreign study)."""
    config = study.user_attrs.get("search_config")
    return dict(config) if isinstance(config, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# -- rankings and run dirs --------------------------------------------------------------------


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


def read_config(folder: Path) -> dict[str, Any]:
    """A run dir's ``config.json`` (empty when there is none).

    Raises
    ------
    SparseNASError
        If the file is there but cannot be read.
    """
    path = Path(folder) / CONFIG
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SparseNASError(f"cannot read '{path}': {exc}") from None
    return data if isinstance(data, dict) else {}


def recorded_run(out: Path) -> dict[str, Any]:
    """An out dir's ``config.json``, the record its resume keeps to (``spec.resumed``): empty
    when there is none or none readable (``check_out_owner`` refuses another study's)."""
    try:
        return read_config(out)
    except SparseNASError:
        return {}


def read_study(storage: str, study_name: str) -> optuna.Study:
    """The study ``study_name`` of ``storage`` (an Optuna URL), to read.

    Raises
    ------
    SparseNASError
        If the storage cannot be opened or holds no such study.
    """
    from nas.search.storage import open_storage  # storage reads this module's PLAN_KEYS

    opened = open_storage(storage)
    try:
        return optuna.load_study(study_name=study_name, storage=opened)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(opened)]
        shown = ", ".join(names) or "none"
        raise SparseNASError(
            f"no study {study_name!r} in {shown_url(storage)} (its studies: {shown})"
        ) from None


def run_study(folder: Path, config: dict[str, Any]) -> tuple[optuna.Study, str] | None:
    """A run dir's study and its storage URL: ``study.db`` beside ``config.json``; None when
    there is none, and the run dir's ``evaluations.csv`` stands in for it.

    A storage ``config.json`` names elsewhere (a database server) is never connected to: a
    run dir may come from someone else, and reading it reads its files. Read a server's study
    with ``--storage`` and ``--study``.

    Raises
    ------
    SparseNASError
        If ``study.db`` is there but is no study (empty, junk, or without this study), as
        ``nas search`` refuses it.
    """
    name = config.get("study")
    db = Path(folder) / STUDY_DB
    if not (name and db.is_file()):
        return None
    storage = f"sqlite:///{db}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return read_study(storage, str(name)), storage


def ranked_run_graph(run_dir: Path, rank: int) -> tuple[Any, dict[str, Any]]:
    """The graph of the ``rank``-th best network of a search's out dir (1 = best; the order
    of ``nas.search.records.rank``, as ``nas rank`` and ``nas export``) and its row of the
    evaluations table. The run dir's study is ranked when it opens (``run_study``);
    ``evaluations.csv``, which lags the study while a search runs, only without one.

    Raises
    ------
    SparseNASError
        If the folder holds neither a study nor an evaluations table, or fewer than ``rank``
        finished networks.
    """
    folder = Path(run_dir)
    table_path = folder / f"{EVALUATIONS}.csv"
    found = run_study(folder, read_config(folder)) if folder.is_dir() else None
    if found is None and not table_path.is_file():
        raise SparseNASError(f"'{run_dir}' is not a search's out dir (no {EVALUATIONS}.csv)")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise SparseNASError(f"rank must be an integer >= 1 (got {rank!r})")
    table = evaluations_frame(found[0]) if found is not None else _read_evaluations(table_path)
    done = rank_frame(table) if len(table) else table
    if len(done) < rank:
        raise SparseNASError(
            f"'{run_dir}' has {len(done)} finished networks; rank {rank} is beyond"
        )
    row = done.iloc[rank - 1].to_dict()
    return edges_from_string(str(row["edge_list"])), row


def _read_evaluations(table_path: Path) -> pd.DataFrame:
    """A run dir's ``evaluations.csv``, with the columns a ranking reads."""
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
    return table


def best_file(out: Path, trial: int, suffix: str) -> Path:
    """Where a search keeps a best trial's graph (``.graphml``) or weights (``.pt``)."""
    return Path(out) / BEST_DIR / f"trial-{trial:05d}{suffix}"


def best_trials(
    study: optuna.Study, objective: str, count: int, trials: Sequence[FrozenTrial] | None = None
) -> list[FrozenTrial]:
    """The top ``count`` trials (accuracy), or the whole Pareto front (pareto); ``trials``
    as for ``evaluations_frame``."""
    if trials is None:
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
    import torch  # here: the process that trained ``models`` has it loaded already

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
    statuses = Counter(str(trial_status(t)) for t in trials if t.state != TrialState.WAITING)
    rows = summary_rows(best_trials(study, spec.objective, spec.keep_best))
    return {
        "study": spec.study,
        "storage": shown_url(spec.storage),
        "out": spec.out,
        "budget": spec.budget,
        "objective": spec.objective,
        "config": study_config(study),
        "trials": dict(sorted(statuses.items())),
        "pareto_front" if spec.objective == "pareto" else "best": rows,
    }
