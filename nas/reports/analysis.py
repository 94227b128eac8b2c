"""The numbers of a report, one function per section, each on a ``RunData``.

Sections (in report order): ``summary``, the ranking (``nas.reports.ranking``),
``progress`` and ``timeline``, ``family_accuracy`` / ``property_correlations``,
``predictor_check``, ``pareto_rows`` / ``prune_match``. Figures are drawn from these by
``nas.reports.figures`` (HTML) and ``nas.reports.pngs`` (Markdown).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import SparseNASError
from graphs.properties import PROPERTY_NAMES
from nas.reports.data import RunData
from nas.reports.ranking import WITHIN_POINTS, ranking, smallest_within
from nas.reports.sources import PRUNE_MATCH, PRUNE_MATCH_COLUMNS, check_prune_match
from nas.search.records import FAILED, NOT_TRAINED, TrialStatus, pareto
from predictors import (
    GraphRegressor,
    cross_validate_predictor,
    feature_correlations,
    load_table,
    noise_ceiling,
    regression_metrics,
    repeated_splits,
)
from predictors.validation import size_features

CV_FOLDS = 3
CV_TREES = 100
MIN_CV_ROWS = 8
"""The predictor section's cross-validation: 3 folds, once, 100 trees (kept small so a
report builds in seconds; ``nas predictor eval`` runs the full protocol)."""
CORRELATED = (*PROPERTY_NAMES, "params_nonzero")
"""The columns correlated with accuracy: every graph property and the nonzero parameters."""


def status_counts(run: RunData) -> dict[str, int]:
    """Networks finished, stopped early and failed (the budget's unit)."""
    status = run.frame["status"]
    return {
        "finished": int(status.eq(TrialStatus.OK).sum()),
        TrialStatus.STOPPED.value: int(status.eq(TrialStatus.STOPPED).sum()),
        "failed": int(status.isin(FAILED).sum()),
    }


def summary(run: RunData) -> dict[str, Any]:
    """Section 1: what was searched, how it went, the best network and the smallest one
    within ``WITHIN_POINTS`` points of it, and how to run it again."""
    config = run.config
    ranked = ranking(run.frame, 1)
    best = ranked.iloc[0].to_dict() if len(ranked) else None
    return {
        "label": run.label,
        "source": run.source,
        "cell": config.get("cell", "?"),
        "task": config.get("task", "?"),
        "budget": config.get("budget"),
        "trials": len(run.frame),
        **status_counts(run),
        "wall_seconds": run.wall_seconds(),
        "best": best,
        "smallest": smallest_within(run.frame),
        "within_points": WITHIN_POINTS,
        "seed": config.get("seed"),
        "versions": {"optuna (search)": config["optuna"]} if "optuna" in config else {},
        "command": reproduce_command(config),
    }


def reproduce_command(config: dict[str, Any]) -> str | None:
    """The ``nas search`` command of a run's config (None for a bare table)."""
    if "budget" not in config or "cell" not in config:
        return None
    parts = ["nas search", f"--cell {config['cell']}", f"--budget {config['budget']}"]
    for key in ("task", "epochs", "strategy", "objective", "seed", "study"):
        if config.get(key) is not None:
            parts.append(f"--{key} {config[key]}")
    if config.get("nodes"):
        parts.append(f"--nodes {config['nodes'][0]}:{config['nodes'][1]}")
    if config.get("families"):
        parts.append(f"--families {','.join(config['families'])}")
    if config.get("warm_start"):
        parts.append(f"--warm-start {config['warm_start']}")
    command = " ".join(parts)
    if config.get("n_strings"):
        command += f"  # and n_strings={config['n_strings']} (SearchSpec; no CLI option)"
    return command


def progress(run: RunData) -> pd.DataFrame:
    """Section 3: best accuracy so far after each network trained, in the order they
    finished (file order for a table), by the accuracy the search chose on (validation;
    test for older runs and tables). Columns ``trained``, ``trial``, ``selection_acc``,
    ``best``, ``status``."""
    frame = run.frame[~run.frame["status"].isin(NOT_TRAINED)]
    if "datetime_complete" in frame and frame["datetime_complete"].notna().any():
        frame = frame.sort_values(["datetime_complete", "trial"], kind="stable")
    accuracy = frame["selection_acc"].where(frame["status"].eq(TrialStatus.OK))
    return pd.DataFrame(
        {
            "trained": np.arange(1, len(frame) + 1),
            "trial": frame["trial"].to_numpy(),
            "selection_acc": accuracy.to_numpy(),
            "best": accuracy.cummax().ffill().to_numpy(),
            "status": frame["status"].to_numpy(),
        }
    )


def timeline(run: RunData) -> pd.DataFrame | None:
    """Section 3: each trained network's start and end (seconds from the first start) and
    status; None without timestamps."""
    frame = run.frame
    if "datetime_start" not in frame or frame["datetime_start"].isna().all():
        return None
    frame = frame[frame["datetime_start"].notna() & frame["datetime_complete"].notna()]
    frame = frame[~frame["status"].isin(NOT_TRAINED)]
    origin = frame["datetime_start"].min()
    return pd.DataFrame(
        {
            "trial": frame["trial"].to_numpy(),
            "start": (frame["datetime_start"] - origin).dt.total_seconds().to_numpy(),
            "end": (frame["datetime_complete"] - origin).dt.total_seconds().to_numpy(),
            "status": frame["status"].to_numpy(),
        }
    )


def family_accuracy(run: RunData) -> pd.DataFrame:
    """Section 4: accuracy of the finished networks by graph family (count, mean, sd,
    best)."""
    done = run.finished
    if "family" not in done or done.empty:
        return pd.DataFrame(columns=["family", "count", "mean", "std", "best"])
    grouped = done.groupby(done["family"].fillna("?"))["test_acc"]
    table = grouped.agg(["count", "mean", "std", "max"]).rename(columns={"max": "best"})
    return table.reset_index().sort_values("mean", ascending=False, ignore_index=True)


def property_correlations(run: RunData) -> pd.DataFrame:
    """Section 4: Pearson and Spearman correlation (with p-values) of every graph property
    with the accuracy of the finished networks, sorted by |Spearman|; ``n`` rows each."""
    done = run.finished
    columns = [c for c in CORRELATED if c in done]
    if len(done) < 3 or not columns:
        return pd.DataFrame(columns=["feature", "pearson", "spearman", "n"])
    X = done[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    table = feature_correlations(X, done["test_acc"].to_numpy(dtype=float))
    return table.assign(n=len(done))


def important_properties(correlations: pd.DataFrame, count: int = 3) -> list[str]:
    """The properties most correlated with accuracy (|Spearman|), for the scatter plots."""
    finite = correlations[correlations["spearman"].notna()]
    return finite["feature"].head(count).tolist()


@dataclass
class PredictorCheck:
    """Section 5: a predictor cross-validated on the run's own finished networks, and the
    search predictor's predictions for the candidates it chose against what they measured.

    ``cv`` holds ``r2``, ``kendall_tau`` (means over folds), ``baseline_r2``,
    ``baseline_kendall_tau`` (size only), ``noise_ceiling`` and ``rows``, or None with
    too few rows; ``measured`` / ``predicted`` are the out-of-fold pairs. ``candidates``
    holds ``regression_metrics`` and ``n`` of the chosen candidates, or None.
    """

    cv: dict[str, Any] | None
    measured: np.ndarray
    predicted: np.ndarray
    trials: np.ndarray
    candidates: dict[str, Any] | None
    candidate_rows: pd.DataFrame
    note: str


def predictor_check(run: RunData, seed: int = 0) -> PredictorCheck:
    """Cross-validate an extra-trees predictor (``CV_FOLDS`` folds, ``CV_TREES`` trees,
    graphs kept in one fold) and a size-only baseline on the finished networks; compare
    the search's predictions (``predicted_acc``) of the trained candidates with what they
    measured on the split the search learnt from (validation; test for older runs)."""
    done = run.finished
    empty = np.array([])
    chosen = done[done["predicted_acc"].notna()] if "predicted_acc" in done else done.iloc[:0]
    candidates = None
    if len(chosen) >= 3:
        y = chosen["selection_acc"].to_numpy(float)
        p = chosen["predicted_acc"].to_numpy(float)
        candidates = {**regression_metrics(y, p), "n": len(chosen)}
    columns = ["trial", "predicted_acc", "predicted_std", "selection_acc"]
    rows = chosen.reindex(columns=columns)
    note = (
        f"{CV_FOLDS}-fold cross-validation, one repeat, {CV_TREES} trees (kept small so the "
        "report builds in seconds; `nas predictor eval` runs the full protocol)"
    )
    edges = "edge_list" in done and len(done) > 0 and bool(done["edge_list"].notna().all())
    names = (*PROPERTY_NAMES, "params_nonzero")
    known = [c for c in names if c in done and done[c].notna().any()]
    features = [c for c in names if edges or c in known]  # load_table computes the rest
    if len(done) < MIN_CV_ROWS or not features:
        note = (
            f"too few finished networks to cross-validate ({len(done)} < {MIN_CV_ROWS})"
            if features
            else "no graph properties or edge lists to predict from"
        )
        return PredictorCheck(None, empty, empty, empty, candidates, rows, note)
    columns = [*known, *(["edge_list"] if edges else [])]
    source = done[[*columns, "test_acc", "trial"]].assign(
        cell=run.config.get("cell", "gru"), status=TrialStatus.OK.value
    )
    if "train_seed" in done:
        source["train_seed"] = done["train_seed"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = load_table(source.reset_index(drop=True), features=features)
        try:
            splits = repeated_splits(len(table), CV_FOLDS, 1, seed, table.groups)
        except Exception as exc:  # noqa: BLE001 (too few distinct graphs: say so)
            note = f"cannot cross-validate: {exc}"
            return PredictorCheck(None, empty, empty, empty, candidates, rows, note)
        model = GraphRegressor(kind="extratrees", n_estimators=CV_TREES, random_state=seed)
        result = cross_validate_predictor(model, table.X, table.y, splits=splits, repeats=1)
        size = size_features(table)
        baseline = None
        if size is not None:
            rf = GraphRegressor(kind="rf", n_estimators=CV_TREES, random_state=seed)
            baseline = cross_validate_predictor(rf, size, table.y, splits=splits, repeats=1)
    scores = result.summary()
    cv = {
        "r2": scores["r2_mean"],
        "kendall_tau": scores["kendall_tau_mean"],
        "baseline_r2": None if baseline is None else baseline.summary()["r2_mean"],
        "baseline_kendall_tau": None
        if baseline is None
        else baseline.summary()["kendall_tau_mean"],
        "noise_ceiling": noise_ceiling(table),
        "rows": len(table),
        "features": len(table.features),
    }
    return PredictorCheck(
        cv, table.y, result.prediction, table.frame["trial"].to_numpy(), candidates, rows, note
    )


def pareto_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Section 6: the finished networks no other beats in both accuracy and nonzero
    parameters, by size (``nas.search.records.pareto``: on validation accuracy, test for
    older runs and tables)."""
    return pareto(frame)


def read_prune_match(path: str | Path) -> pd.DataFrame:
    """A ``prune_match.csv``, checked: readable as CSV, with the columns the report places
    and numbers where it needs them. Anything else (a binary file, another table) is one
    SparseNASError naming the file."""
    name = check_prune_match(path)  # the file and its header, read with the stdlib
    try:
        match = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise SparseNASError(f"{name} is empty") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:  # UnicodeDecodeError too
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
        raise SparseNASError(f"cannot read {name} as a CSV table ({reason})") from None
    for column in PRUNE_MATCH_COLUMNS[:2] + PRUNE_MATCH_COLUMNS[3:]:
        numbers = pd.to_numeric(match[column], errors="coerce")
        if (numbers.isna() & match[column].notna()).any():
            raise SparseNASError(f"{name} has a value that is not a number in column {column!r}")
    return match


def prune_match(run: RunData, path: str | Path | None = None) -> pd.DataFrame | None:
    """Section 6: a ``nas prune --match`` result (``prune_match.csv``) given, or found in
    the run dir (or its ``prune/``), with ``params_nonzero`` placed on the report's axis:
    the matched Sparse-RNN's row of this run (same nodes, edges and layer sizes) gives the
    count; the pruned dense model has the same number of nonzero recurrent weights. Rows
    whose network is not in this run are dropped. None when there is no such file."""
    candidates: list[Path] = []
    if not path and run.source and Path(run.source).is_dir():
        folder = Path(run.source)
        candidates = [folder / PRUNE_MATCH, folder / "prune" / PRUNE_MATCH]
    found = path or next((p for p in candidates if p.is_file()), None)
    if found is None:
        return None
    match = read_prune_match(found)
    done = run.finished
    rows = []
    for _, row in match.iterrows():
        same = done[
            done["nodes"].eq(row["nodes"])
            & done["edges"].eq(row["edges"])
            & done["layer_sizes"].astype(str).eq(str(row["layer_sizes"]))
        ]
        if len(same):
            rows.append(
                {
                    "trial": int(same["trial"].iloc[0]),
                    "params_nonzero": float(same["params_nonzero"].iloc[0]),
                    "dense_retrained_acc": float(row["dense_retrained_acc"]),
                    "sparse_rnn_acc": float(row["sparse_rnn_acc"]),
                    "sparsity": float(row["sparsity"]),
                }
            )
    return pd.DataFrame(rows) if rows else None
