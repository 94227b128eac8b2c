"""Predictors against the noise ceiling, per cell: today's best, the GNN, the zero-cost
proxies and what we tried to close the gap (issue 29).

For each cell's 200-graph table (``benchmarks/data/evaluations_<cell>.csv``, 4 training seeds
per graph) the protocol is exactly ``nas predictor eval --mean-over-seeds``'s: all features,
one row per graph scored against its 4-seed mean, 5-fold x 3 repeated K-fold from
``--seed`` (``predictors.validation.repeated_splits``; the same splits for every
candidate), the noise ceiling the Spearman-Brown reliability of the means. Each candidate's
R², Kendall tau, Spearman rho and precision@top-10 % are mean and sample sd over the 15 folds
(the fold-to-fold spread). Candidates:

- ``today``: the best model of ``predictor_<cell>_all_mean.json`` (rerun: the same figures);
- ``gnn``: ``predictors.gnn.GNNRegressor`` with its defaults;
- each zero-cost proxy (``proxies_evaluations_<cell>.csv``, by ``benchmarks/proxies.py
  --per-graph``: the untrained network of training seed 0) as a stand-alone ranker of each
  test fold (no fitting: tau and rho only);
- regressors on more features: the wiring features (``graphs.wiring``) and the proxies
  (signed log, so a linear model is not led by a few huge synflow values; a proxy
  undefined on some graph is left out of the features);
- hyper-parameters tuned by nested CV (a grid searched by an inner 3-fold split of each
  outer training fold only), a logit target transform;
- ``library_tuned``: the library's option as a user runs it, ``GraphRegressor(kind=
  "extratrees", tune=True)`` on ``load_table``'s ``all+wiring+proxies`` (the proxies as
  they are; those undefined on some graph left out);
- equal-weight blends: the mean of members' predictions on the same test fold (no weight is
  fitted, so nothing is tuned on a test fold).

``--only`` reruns the named candidates and merges them into the cell's existing JSON (the
others kept: every candidate is seeded and fitted on its own).

Features come from the graph and the untrained network only. Writes one JSON per cell,
``predictor_ceiling_<cell>.json`` (under ``--out``), as soon as the cell is done;
``--summary`` prints the Markdown tables of docs/predictors.md from those files instead.

    OMP_NUM_THREADS=1 nice -n 19 python benchmarks/predictor_ceiling.py
    python benchmarks/predictor_ceiling.py --summary
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import kendalltau, spearmanr
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, KFold

from core.jsonsafe import json_safe
from graphs.dag import layered_dag
from graphs.io import edges_from_string
from graphs.wiring import WIRING_FEATURES, wiring_features
from predictors.features import ALL, PROXY_FEATURES, WIRING
from predictors.gnn import GNNRegressor
from predictors.regressors import TUNING_GRID, GraphRegressor, make_pipeline
from predictors.table import load_table
from predictors.validation import (
    CVResult,
    average_over_seeds,
    cross_validate_predictor,
    noise_ceiling,
    repeated_splits,
)
from predictors.validation.metrics import regression_metrics
from predictors.validation.report import graph_column

DATA = Path("benchmarks/data")
CELLS = ("gru", "rnn_tanh", "rnn_relu", "lstm")
SHOWN = ("r2", "kendall_tau", "spearman", "top10_precision")
BLENDS = {
    "blend_et_br": ("et_wiring_proxies", "br_wiring_proxies"),
    "blend_et_br_gnn": ("et_wiring_proxies", "br_wiring_proxies", "gnn"),
    "blend_et_br_xgb_gnn": ("et_wiring_proxies", "br_wiring_proxies", "xgb_wiring_proxies", "gnn"),
}


def signed_log(frame: pd.DataFrame) -> pd.DataFrame:
    """sign(x) log(1 + |x|): keeps the order, tames proxies that span decades."""
    return np.sign(frame) * np.log1p(frame.abs())


def logit_target(estimator) -> TransformedTargetRegressor:
    """``estimator`` fitted on the log-odds of accuracy (clipped to (0.001, 0.999))."""

    def forward(y):
        p = np.clip(y, 1e-3, 1 - 1e-3)
        return np.log(p / (1 - p))

    def inverse(z):
        return 1.0 / (1.0 + np.exp(-z))

    return TransformedTargetRegressor(estimator, func=forward, inverse_func=inverse)


def tuned_extratrees(seed: int) -> GridSearchCV:
    """Extra trees whose ``TUNING_GRID`` (the library's ``tune=True`` grid) is searched on
    an inner 3-fold split of the training fold."""
    inner = KFold(3, shuffle=True, random_state=seed)
    return GridSearchCV(make_pipeline("extratrees", random_state=seed), TUNING_GRID, cv=inner)


def cell_report(
    cell: str, cv: int, repeats: int, seed: int, only: list[str] | None = None, folder=DATA
) -> dict[str, object]:
    """Every candidate's fold scores on ``cell``'s table (see the module docstring); with
    ``only``, those candidates merged into the cell's report in ``folder``."""
    frame = pd.read_csv(DATA / f"evaluations_{cell}.csv")
    table = average_over_seeds(load_table(frame, features="all"))
    X, y = table.X.reset_index(drop=True), table.y
    splits = repeated_splits(len(y), cv, repeats, seed, table.groups)
    edges = table.frame["edge_list"].reset_index(drop=True)
    wiring = pd.DataFrame([wiring_features(layered_dag(edges_from_string(e))) for e in edges])
    proxies = _proxies(cell, edges)
    finite = proxies.columns[np.isfinite(proxies.to_numpy(float)).all(axis=0)]
    library = _library_table(frame, cell, list(finite))
    if not np.array_equal(library.y, y):
        raise SystemExit(f"error: the library's table of {cell} has other rows")
    today = json.loads((DATA / f"predictor_{cell}_all_mean.json").read_text())
    sets = {
        "all": X,
        "wiring": pd.concat([X, wiring], axis=1),
        "proxies": pd.concat([X, signed_log(proxies[finite])], axis=1),
        "wiring_proxies": pd.concat([X, wiring, signed_log(proxies[finite])], axis=1),
    }
    candidates: dict[str, tuple[Callable[[], object], object]] = {
        "today": (lambda: GraphRegressor(kind=today["best"], random_state=seed), X),
        "gnn": (lambda: GNNRegressor(random_state=seed), graph_column(table)),
    }
    for name, kind in (("et", "extratrees"), ("br", "bayesridge"), ("xgb", "xgboost")):
        for features in ("wiring", "proxies", "wiring_proxies"):
            if kind != "extratrees" and features != "wiring_proxies":
                continue

            def make(kind=kind):
                return GraphRegressor(kind=kind, random_state=seed)

            candidates[f"{name}_{features}"] = (make, sets[features])
    candidates["et_tuned_wiring_proxies"] = (lambda: tuned_extratrees(seed), sets["wiring_proxies"])
    candidates["et_logit_wiring_proxies"] = (
        lambda: logit_target(GraphRegressor(kind="extratrees", random_state=seed)),
        sets["wiring_proxies"],
    )
    candidates["library_tuned"] = (
        lambda: GraphRegressor(kind="extratrees", tune=True, random_state=seed),
        library.X,
    )
    old = None
    if only is not None:
        old = json.loads((folder / f"predictor_ceiling_{cell}.json").read_text())
        unknown = set(only) - set(candidates)
        if unknown:
            raise SystemExit(f"error: no candidate {', '.join(sorted(unknown))}")
        candidates = {name: candidates[name] for name in only}
    results: dict[str, CVResult] = {}
    seconds: dict[str, float] = {} if old is None else old["cv_seconds_busy_machine"]
    for name, (make, data) in candidates.items():
        started = time.perf_counter()
        results[name] = cross_validate_predictor(
            make(), data, y, splits=splits, repeats=repeats, name=name
        )
        seconds[name] = time.perf_counter() - started
        _print(cell, name, results[name].fold_scores)
    scores = {} if old is None else old["candidates"]
    scores |= {name: _summary(result.fold_scores) for name, result in results.items()}
    for name, members in BLENDS.items():
        if set(members) <= set(results):
            scores[name] = _summary(_blend([results[m] for m in members], y, splits, repeats))
            _print(cell, name, scores[name]["folds"])
    for column in PROXY_FEATURES if old is None else ():
        folds = _ranker(proxies[column].to_numpy(float), y, splits)
        scores[column] = _summary(folds)
        scores[column]["finite_rows"] = int(np.isfinite(proxies[column]).sum())
        _print(cell, column, folds)
    ceiling = noise_ceiling(table)
    best = max(
        (n for n in scores if scores[n]["r2_mean"] is not None), key=lambda n: scores[n]["r2_mean"]
    )
    return {
        "cell": cell,
        "rows": len(y),
        "noise_ceiling": ceiling,
        "today_model": today["best"],
        "today_r2_committed": today["models"][today["best"]]["r2_mean"],
        "best": best,
        "best_gap": ceiling - scores[best]["r2_mean"],
        "wiring_features": list(WIRING_FEATURES),
        "proxy_features": list(finite),
        "candidates": scores,
        "cv_seconds_busy_machine": seconds,
    }


def _library_table(frame: pd.DataFrame, cell: str, proxies: list[str]):
    """``cell``'s 4-seed means as the library loads them with the proxy columns joined:
    ``all+wiring+proxies`` (``proxies``: those defined on every graph)."""
    scored = pd.read_csv(DATA / f"proxies_evaluations_{cell}.csv")
    scored = scored.drop_duplicates("edge_list").set_index("edge_list")[proxies]
    joined = frame.join(scored, on="edge_list")
    return average_over_seeds(load_table(joined, features=[*ALL, *WIRING, *proxies]))


def _proxies(cell: str, edges: pd.Series) -> pd.DataFrame:
    """The proxy columns of each graph, joined by edge list (NaN where a proxy is undefined:
    jacov of a network whose input Jacobian vanishes)."""
    scored = pd.read_csv(DATA / f"proxies_evaluations_{cell}.csv")
    scored = scored.drop_duplicates("edge_list").set_index("edge_list")
    return scored.loc[edges.to_numpy(), list(PROXY_FEATURES)].reset_index(drop=True)


def _blend(members: list[CVResult], y: np.ndarray, splits, repeats: int) -> dict:
    """Fold scores of the members' mean prediction on each test fold."""
    folds = _empty(len(splits))
    per_repeat = len(splits) // repeats
    for number, (_, test) in enumerate(splits):
        mean = np.mean([m.oof[number // per_repeat, test] for m in members], axis=0)
        for metric, value in regression_metrics(y[test], mean).items():
            folds[metric][number] = value
    return folds


def _ranker(values: np.ndarray, y: np.ndarray, splits) -> dict:
    """Fold scores of ``values`` as a ranking of each test fold (no fitting; its rows where
    ``values`` is finite, when at least 5)."""
    folds = _empty(len(splits))
    for number, (_, test) in enumerate(splits):
        test = test[np.isfinite(values[test])]
        if test.size < 5:
            continue
        folds["kendall_tau"][number] = kendalltau(values[test], y[test]).statistic
        folds["spearman"][number] = spearmanr(values[test], y[test]).statistic
    return folds


def _empty(n: int) -> dict[str, np.ndarray]:
    return {metric: np.full(n, np.nan) for metric in (*SHOWN, "mae")}


def _summary(folds: dict[str, np.ndarray]) -> dict[str, object]:
    out: dict[str, object] = {}
    for metric in SHOWN:
        scores = folds[metric][np.isfinite(folds[metric])]
        out[f"{metric}_mean"] = json_safe(scores.mean()) if scores.size else None
        out[f"{metric}_std"] = json_safe(scores.std(ddof=1)) if scores.size > 1 else None
    out["folds"] = {metric: [json_safe(v) for v in folds[metric]] for metric in SHOWN}
    return out


def summary_table(folder: Path, cells: list[str]) -> str:
    """The Markdown table: per cell the ceiling, today's best, the GNN, the proxies as
    rankers and the best candidate by mean R², each R² and tau as mean ± fold sd, and the
    best's R² minus today's fold by fold (paired: the same test folds) as mean ± sd."""

    def both(entry: dict) -> str:
        return f"{_pm(entry, 'r2')} | {_pm(entry, 'kendall_tau')}"

    lines = [
        "| cell | noise ceiling | today: R² | today: τ | gnn: R² | gnn: τ | "
        + " | ".join(f"{c.removeprefix('proxy_')} τ" for c in PROXY_FEATURES)
        + " | best (by R²) | its R² | its τ | gap | best − today, R² (paired) |",
        "|---" * (11 + len(PROXY_FEATURES)) + "|",
    ]
    for cell in cells:
        report = json.loads((folder / f"predictor_ceiling_{cell}.json").read_text())
        scores, best = report["candidates"], report["best"]
        proxies = " | ".join(_pm(scores[c], "kendall_tau") for c in PROXY_FEATURES)
        gain = np.subtract(scores[best]["folds"]["r2"], scores["today"]["folds"]["r2"])
        lines.append(
            f"| {cell} | {report['noise_ceiling']:.3f} | {both(scores['today'])} "
            f"| {both(scores['gnn'])} | {proxies} | `{best}` | {both(scores[best])} "
            f"| {report['best_gap']:.3f} | {gain.mean():+.3f} ± {gain.std(ddof=1):.3f} |"
        )
    return "\n".join(lines)


def candidates_table(folder: Path, cells: list[str]) -> str:
    """The Markdown table of every fitted candidate's R² and tau per cell (mean ± fold sd)."""
    reports = [
        json.loads((folder / f"predictor_ceiling_{cell}.json").read_text()) for cell in cells
    ]
    names = [n for n in reports[0]["candidates"] if n not in PROXY_FEATURES]
    lines = [
        "| candidate | " + " | ".join(f"{c}: R² | {c}: τ" for c in cells) + " |",
        "|---" * (1 + 2 * len(cells)) + "|",
    ]
    for name in names:
        cells_text = " | ".join(
            f"{_pm(r['candidates'][name], 'r2')} | {_pm(r['candidates'][name], 'kendall_tau')}"
            if name in r["candidates"]
            else "- | -"
            for r in reports
        )
        lines.append(f"| `{name}` | {cells_text} |")
    return "\n".join(lines)


def _pm(entry: dict, metric: str) -> str:
    mean, std = entry[f"{metric}_mean"], entry[f"{metric}_std"]
    return "-" if mean is None else f"{mean:.3f} ± {std:.3f}"


def _print(cell: str, name: str, folds: dict[str, np.ndarray]) -> None:
    def show(metric: str) -> str:
        scores = np.asarray(folds[metric], dtype=float)
        scores = scores[np.isfinite(scores)]
        return f"{scores.mean():.3f} ± {scores.std(ddof=1):.3f}" if scores.size else "  -  "

    print(f"{cell:<9} {name:<26} R² {show('r2')}  tau {show('kendall_tau')}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DATA, help="folder of the JSON files")
    parser.add_argument("--summary", action="store_true", help="print the table, run nothing")
    parser.add_argument("--only", default=None, help="comma list of candidates to rerun")
    args = parser.parse_args()
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    if args.summary:
        print(summary_table(args.out, cells))
        print()
        print(candidates_table(args.out, cells))
        return
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    for cell in cells:
        only = None if args.only is None else [n.strip() for n in args.only.split(",")]
        report = cell_report(cell, args.cv, args.repeats, args.seed, only, args.out)
        command = (
            f"python benchmarks/predictor_ceiling.py --cells {cell} --cv {args.cv} "
            f"--repeats {args.repeats} --seed {args.seed}"
        )
        if only is not None:  # the first run's command, then this one
            first = json.loads((args.out / f"predictor_ceiling_{cell}.json").read_text())
            command = f"{first['command']}; {command} --only {','.join(only)}"
        out = {"cv": args.cv, "repeats": args.repeats, "seed": args.seed, "command": command}
        out |= report
        path = args.out / f"predictor_ceiling_{cell}.json"
        path.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
