"""``nas predictor``: train, evaluate and apply accuracy predictors (a typer sub-app).

``nas.cli`` registers it with ``app.add_typer(predictor_app, name="predictor")``. Every
command turns its options into one library call (``predictors``) and prints the result with
rich or as JSON. Bad input exits with code 2 after one ``error:`` line (``nas.cli.console``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from core.checks import check_fraction
from core.errors import existing_file
from core.jsonsafe import json_safe
from models.cells import CELLS, check_cell
from nas.cli.console import (
    caption as wrapped_caption,
)
from nas.cli.console import (
    check_out_file,
    console,
    err_console,
    fmt,
    fmt_pm,
    progress_bar,
    run_or_exit,
    save_csv,
)
from predictors.card import card_columns, predictor_kind
from predictors.checks import (
    SCORED_ROWS_PER_FOLD,
    check_csv_header,
    check_folds,
    check_n_estimators,
    check_seed,
    check_splittable,
    check_train_rows,
)
from predictors.names import (
    CHOICES,
    DEFAULT_MODELS,
    FEATURE_SET_NAMES,
    MAX_NAN_SHARE,
    METRICS,
    TUNABLE,
    check_feature_set,
    check_kind,
    check_kinds,
    check_tune,
)

if TYPE_CHECKING:
    from predictors.validation import EvaluationReport

# pandas, scikit-learn, XGBoost and plotly come with the predictors' tables and models:
# each command imports them inside, once the options are checked (an error comes at once).

predictor_app = typer.Typer(
    help="Predict a Sparse-RNN's accuracy from its graph: train, evaluate, predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DATA_HELP = "Evaluations table (CSV or Parquet): ours or the thesis' published format."
CELL_HELP = f"Use the rows of this cell ({', '.join(CELLS)}); default: the table's only one."
FEATURES_HELP = f"Feature set: {', '.join(FEATURE_SET_NAMES)}."
TUNE_HELP = (
    f"Search the forests' hyper-parameters ({', '.join(TUNABLE)}) by an inner split of the "
    "training rows (nested in eval's folds)."
)
NAN_HELP = (
    "Drop rows with a NaN or infinite feature (with a warning) up to this share of the rows; "
    "more is refused as a broken table. 1 drops any number."
)
_LABELS = {
    "r2": "R²",
    "kendall_tau": "Kendall τ",
    "spearman": "Spearman ρ",
    "mae": "MAE",
    "top10_precision": "top-10%",
}


@predictor_app.command()
def train(
    data: Annotated[Path, typer.Option(help=DATA_HELP)],
    out: Annotated[
        Path,
        typer.Option(help="Write the fitted predictor here (a zip: card.json, the model as data)."),
    ],
    cell: Annotated[str | None, typer.Option(help=CELL_HELP)] = None,
    model: Annotated[str, typer.Option(help=f"Regressor: {', '.join(CHOICES)}.")] = "auto",
    features: Annotated[str, typer.Option(help=FEATURES_HELP)] = "all",
    seed: Annotated[int, typer.Option(help="Seeds the inner split and the models.")] = 0,
    n_estimators: Annotated[int, typer.Option(help="Trees of the tree ensembles.")] = 200,
    max_nan_share: Annotated[float, typer.Option(help=NAN_HELP)] = MAX_NAN_SHARE,
    tune: Annotated[bool, typer.Option(help=TUNE_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit a predictor on every usable row of a table (at least 6) and save it with its
    feature list."""

    def fit():
        check_kind(model)
        check_tune(model, tune)
        check_feature_set(features)
        _check_cell(cell)
        _check_settings(seed, n_estimators, max_nan_share)
        _check_out_early(out)
        existing_file(data, "evaluations table")  # before pandas and scikit-learn load
        from predictors.table import load_table

        table = load_table(data, features=features, cell=cell, max_nan_share=max_nan_share)
        check_train_rows(len(table), table.source)  # before scikit-learn and XGBoost load
        from predictors.persistence import fit_predictor, save_predictor

        check_out_file(out)  # may make its folder: only once the input is known to be good
        predictor = fit_predictor(table, model, seed=seed, n_estimators=n_estimators, tune=tune)
        save_predictor(predictor, out)
        return table, predictor

    table, predictor = run_or_exit(fit, writes=out)
    estimator = predictor.estimator
    summary = {
        "out": str(out),
        "cell": predictor.cell,
        "rows": predictor.rows,
        "dropped_rows": table.dropped,
        "features": list(predictor.features),
        "missing_features": list(table.missing),
        "model": estimator.kind,
        "chosen": estimator.kind_,
        "inner_kendall_tau": json_safe(estimator.cv_scores_),
        "data_hash": predictor.data_hash,
    }
    if as_json:
        print(json.dumps(summary))
        return
    grid = Table(title="trained predictor", show_header=False)
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("saved to", str(out))
    grid.add_row("cell", str(predictor.cell))
    grid.add_row("rows", str(predictor.rows))
    grid.add_row("features", f"{len(predictor.features)}")
    grid.add_row("model", estimator.kind_ + (" (auto)" if estimator.kind == "auto" else ""))
    for kind, tau in estimator.cv_scores_.items():
        grid.add_row(f"  inner τ {kind}", fmt(tau))
    grid.add_row("data hash", predictor.data_hash[:16])
    console.print(grid)


@predictor_app.command("eval")
def evaluate(
    data: Annotated[Path, typer.Option(help=DATA_HELP)],
    cv: Annotated[int, typer.Option(help="Folds of the K-fold split.")] = 5,
    repeats: Annotated[int, typer.Option(help="Repeats of the K-fold split.")] = 3,
    features: Annotated[str, typer.Option(help=FEATURES_HELP)] = "all",
    models: Annotated[
        str, typer.Option(help=f"Comma list of regressors from {', '.join(CHOICES)}.")
    ] = ",".join(DEFAULT_MODELS),
    cell: Annotated[str | None, typer.Option(help=CELL_HELP)] = None,
    seed: Annotated[int, typer.Option(help="Seeds the splits and the models.")] = 0,
    n_estimators: Annotated[int, typer.Option(help="Trees of the tree ensembles.")] = 200,
    max_nan_share: Annotated[float, typer.Option(help=NAN_HELP)] = MAX_NAN_SHARE,
    importance: Annotated[
        bool, typer.Option(help="Permutation importance of the best fixed model.")
    ] = True,
    plot: Annotated[
        Path | None, typer.Option(help="Write predicted vs measured (out of fold) as PNG.")
    ] = None,
    mean_over_seeds: Annotated[
        bool,
        typer.Option(
            help="Score against each graph's mean accuracy over its training seeds (one row "
            "per graph); the noise ceiling becomes the reliability of those means."
        ),
    ] = False,
    tune: Annotated[bool, typer.Option(help=TUNE_HELP)] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Repeated K-fold cross-validation of predictors beside a size-only baseline and the
    noise ceiling (ICC(1) over repeated evaluations of a graph)."""
    kinds = [name.strip() for name in models.split(",") if name.strip()]

    def prepare():
        check_kinds(kinds)
        check_feature_set(features)
        _check_cell(cell)
        check_folds(cv, repeats)
        _check_settings(seed, n_estimators, max_nan_share)
        _check_out_early(plot)
        existing_file(data, "evaluations table")  # before pandas and scikit-learn load
        from predictors.table import load_table

        table = load_table(data, features=features, cell=cell, max_nan_share=max_nan_share)
        if mean_over_seeds:
            from predictors.validation.noise import average_over_seeds  # no scikit-learn

            table = average_over_seeds(table)
        # the folds' rows, before scikit-learn loads (planned_folds checks the same)
        check_splittable(len(table), cv, repeats, table.groups, per_fold=SCORED_ROWS_PER_FOLD)
        from predictors.validation import planned_folds

        total = planned_folds(table, len(set(kinds)), cv, repeats, importance=importance)
        check_out_file(plot)  # may make its folder: only once the input is known to be good
        return table, total

    table, total = run_or_exit(prepare)
    from predictors.plots import plot_predictions
    from predictors.validation import evaluate_table

    with progress_bar(not as_json) as bar:
        job = bar.add_task("cross-validating", total=total, status="")

        def advance(name: str) -> None:
            bar.update(job, advance=1, status=name)

        report = run_or_exit(
            lambda: evaluate_table(
                table,
                kinds,
                cv=cv,
                repeats=repeats,
                seed=seed,
                n_estimators=n_estimators,
                importance=importance,
                tune=tune,
                on_fold=advance,
            )
        )
    if plot is not None:
        run_or_exit(lambda: plot_predictions(report, plot), writes=plot)
        err_console.print(f"wrote {plot}")
    if as_json:
        print(json.dumps(report.to_dict()))
        return
    _print_report(report)


@predictor_app.command()
def predict(
    model: Annotated[Path, typer.Option(help="A predictor saved by `nas predictor train`.")],
    data: Annotated[
        Path, typer.Option(help="Table of graphs: their properties, or an edge_list column.")
    ],
    out: Annotated[Path | None, typer.Option(help="Write the rows with predictions (CSV).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    max_nan_share: Annotated[float, typer.Option(help=NAN_HELP)] = MAX_NAN_SHARE,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            help="Also load an old-format predictor (a joblib pickle). UNSAFE: a pickle runs "
            "code when loaded; use it only for files you made yourself, never for files from "
            "others."
        ),
    ] = False,
) -> None:
    """Predict the accuracy (and its uncertainty) of every graph in a table."""

    def run():
        check_fraction(max_nan_share, "max_nan_share")
        _check_out_early(out)
        existing_file(model, "predictor file")  # before pandas and scikit-learn load
        existing_file(data, "evaluations table")  # before the predictor file is unpacked
        predictor_kind(model, trust_pickle=trust_pickle)  # its first bytes: a zip, or refused
        columns = card_columns(model)  # its card (stdlib): the table is checked against it
        if columns is not None:  # before scikit-learn loads (predict_table reads it again)
            features, cell = columns
            check_csv_header(Path(data), features)  # before pandas, too
            from predictors.table import load_table

            with warnings.catch_warnings():  # its warnings come once, from predict_table
                warnings.simplefilter("ignore")
                load_table(data, features=features, cell=cell, target=None, require_all=True,
                           max_nan_share=max_nan_share)  # fmt: skip
        from predictors.persistence import load_predictor

        predictor = load_predictor(model, trust_pickle=trust_pickle)
        frame = predictor.predict_table(data, max_nan_share=max_nan_share)
        check_out_file(out)  # may make its folder: only once the input is known to be good
        return predictor, frame

    predictor, frame = run_or_exit(run)
    from predictors.persistence import PREDICTION, PREDICTION_STD

    if out is not None:
        save_csv(frame, out)
    if as_json:
        print(frame.to_json(orient="records"))
        return
    if out is not None:
        return
    keep = ["graph", "family", "graph_nr", "nodes", "edges", "layers", PREDICTION, PREDICTION_STD]
    columns = [c for c in keep if c in frame.columns]
    shown = frame.sort_values(PREDICTION, ascending=False).head(30)
    table = Table(title=f"predicted accuracy ({predictor.cell or 'any cell'})")
    for column in columns:
        table.add_column(column, justify="left" if column in ("graph", "family") else "right")
    for _, row in shown.iterrows():
        table.add_row(*(fmt(row[c]) for c in columns))
    console.print(table)
    if len(frame) > len(shown):
        console.print(f"(best 30 of {len(frame)} rows shown; use --out or --json for all)")


def _check_settings(seed: int, n_estimators: int, max_nan_share: float) -> None:
    """The options shared by train and eval, checked before the table is read."""
    check_seed(seed)
    check_n_estimators(n_estimators)
    check_fraction(max_nan_share, "max_nan_share")


def _check_cell(cell: str | None) -> None:
    """A --cell name, as ``predictors.table.load_table`` reads it (any case)."""
    if cell is not None:
        check_cell(str(cell).strip().lower())


def _check_out_early(path: Path | None) -> None:
    """Check an output file at once when that makes no folder (its folder exists, or a file
    stands in the way); a missing folder is made only after the input was checked, so bad
    input leaves nothing behind."""
    if path is None:
        return
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if folder == path.parent or not folder.is_dir():
        check_out_file(path)


def _print_report(report: EvaluationReport) -> None:
    title = (
        f"{report.cell or 'all cells'}: {report.rows} rows, {len(report.features)} features, "
        f"{report.cv}-fold x {report.repeats} (mean ± sd over folds)"
    )
    caption = (
        "top-10%: share of the true top 10% found in the predicted top 10%; noise ceiling: "
        "ICC(1), the best R² reachable on this table"
    )
    table = Table(title=title, caption=wrapped_caption(caption))
    table.add_column("model", no_wrap=True)
    for metric in METRICS:
        table.add_column(_LABELS[metric], justify="right")
    rows = list(report.models.values())
    if report.baseline is not None:
        rows.append(report.baseline)
    best = report.best
    for result in rows:
        summary = result.summary()
        cells = [
            fmt_pm(summary[f"{metric}_mean"], summary[f"{metric}_std"], two_lines=True)
            for metric in METRICS
        ]
        name = f"[bold]{result.name}[/]" if result.name == best else result.name
        if result.failed_folds:
            name += f" ({result.failed_folds} folds failed)"
        table.add_row(name, *cells)
    ceiling = report.noise_ceiling
    table.add_row(
        "noise ceiling",
        "n/a" if ceiling is None else f"{ceiling:.3f}",
        *([""] * (len(METRICS) - 1)),
        style="italic",
    )
    console.print(table)
    correlations = Table(title="correlation with test_acc (top 12 by |Spearman|)")
    for column in ("feature", "pearson", "spearman", "spearman_p"):
        correlations.add_column(column, justify="left" if column == "feature" else "right")
    for row in report.correlations.head(12).to_dict("records"):
        correlations.add_row(
            row["feature"],
            fmt(row["pearson"], 3, fixed=True),
            fmt(row["spearman"], 3, fixed=True),
            fmt(row["spearman_p"], 2),
        )
    console.print(correlations)
    if report.importance is not None:
        importance = Table(
            title=f"permutation importance, {report.importance_model} (drop in R², top 12)"
        )
        importance.add_column("feature")
        importance.add_column("importance", justify="right")
        for row in report.importance.head(12).to_dict("records"):
            spread = fmt_pm(row["importance_mean"], row["importance_std"])
            importance.add_row(row["feature"], spread)
        console.print(importance)
