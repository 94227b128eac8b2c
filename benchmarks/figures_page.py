"""Write docs/figures.md, the one page of current figures, from the files in benchmarks/data/.

A figure copied by hand into a page drifts from the data it came from; this page is generated
instead, so each figure has one home (its data file) and one rendering (here). Every section
names the file it reads and the command that made that file. Output is deterministic: fixed
rounding, a fixed order, no timestamps of its own. A test regenerates the page and compares.

    python benchmarks/figures_page.py           # write docs/figures.md
    python benchmarks/figures_page.py --check   # exit 1 if docs/figures.md is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from core.intervals import t_interval

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
PAGE = ROOT / "docs" / "figures.md"
IMG = "../benchmarks/data"  # image links are relative to docs/

MODEL_NAMES = {
    "auto": "`auto`",
    "bayesridge": "BayesianRidge",
    "rf": "random forest",
    "adaboost": "AdaBoost",
    "xgboost": "XGBoost",
    "extratrees": "extra trees",
}
# (label, evaluation table, predictor JSON stem): the five tables of the same 200 graphs.
PREDICTOR_TABLES = [
    ("gru", "evaluations_gru.csv", "predictor_gru"),
    ("lstm", "evaluations_lstm.csv", "predictor_lstm"),
    ("rnn_tanh", "evaluations_rnn_tanh.csv", "predictor_rnn_tanh"),
    ("rnn_relu", "evaluations_rnn_relu.csv", "predictor_rnn_relu"),
    ("gru on `reber-thesis`", "evaluations_gru_thesis.csv", "predictor_gru_reber_thesis"),
]
CHANCE = 0.51  # a run at or below this test accuracy learned nothing (Reber is balanced)
PRUNE_METHODS = ["magnitude", "random", "expander", "anti-expander"]
# The controlled expansion study (issue 30): one folder per task and cell, and its label.
CONTROLLED = [
    ("expansion_study", "digits, rnn_tanh, 128"),
    ("expansion_study_lstm64", "digits, lstm, 64"),
    ("expansion_study_lstm128", "digits, lstm, 128"),
    ("expansion_study_mnist1d_lstm", "mnist1d, lstm, 128"),
]


def _json(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _f(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _pm(mean: float, sd: float, digits: int = 3) -> str:
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _signed(x: float) -> str:
    return f"{x:+.2f}"


def _table(frame: pd.DataFrame) -> list[str]:
    """A frame as a Markdown table, every cell already a string."""
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(False)]
    return lines


def _source(files: str, command: str) -> str:
    return f"Data: {files}. Made by `{command}`."


def _image(alt: str, name: str) -> str:
    """A committed plot under benchmarks/data/, linked relative to docs/."""
    return f"![{alt}]({IMG}/{name})"


def _median_range(values: pd.Series, digits: int) -> str:
    return f"{values.median():.{digits}f} ({values.min():.{digits}f}–{values.max():.{digits}f})"


def engine_section() -> list[str]:
    path = DATA / "engine_benchmark.txt"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    frame = pd.DataFrame([r.split() for r in rows[1:] if len(r.split()) >= 6])
    columns = ["cell", "variant", "s per candidate-epoch", "range", "vs reference", "MiB"]
    if frame.shape[1] == 10:  # with the build and the floor (benchmarks/engine.py since issue 31)
        columns[1:2] = ["build", "variant"]
        columns[6:6] = ["G multiply-adds", "floor s", "x floor"]  # after "vs reference"
    frame.columns = columns
    frame = frame.rename(columns={"MiB": "peak MiB"})
    frame["range"] = frame["range"].str.replace("-", "–")
    frame = frame.sort_values(["cell", "variant"], key=_variant_key, kind="stable")
    return [
        "## Engine speed",
        "",
        "Seconds per candidate-epoch: the reference loop (`SparseRNN.forward`) against the "
        "engine training K networks in one stack. "
        + _source(
            "`benchmarks/data/engine_benchmark.txt`",
            "python benchmarks/engine.py --cells gru,lstm,rnn_tanh,rnn_relu --slots 8,16,32 "
            "--arch native,x86-64-v3 --repeat 3 > benchmarks/data/engine_benchmark.txt",
        )
        + f" Conditions, as the file records them: {header}.",
        "",
        *_table(frame),
    ]


def _variant_key(column: pd.Series) -> pd.Series:
    if column.name != "variant":
        return column
    return column.map(lambda v: -1 if v == "reference" else int(v.split("=")[1]))


def search_speed_section() -> list[str]:
    data = _json("search_speed.json")
    rounds = data["rounds"]
    parts = {
        "`nas search`": "search",
        "`evaluate_many`, same graphs, all epochs": "evaluate",
        "`evaluate_stream`, same graphs, same epochs": "same_work",
    }
    rows = []
    for label, key in parts.items():
        wall = pd.Series([r[key]["wall"] for r in rounds])
        epochs = pd.Series([r[key]["network_epochs"] for r in rounds])
        rows.append(
            [
                label,
                _median_range(wall, 1),
                str(int(epochs.median())),
                _median_range(wall / epochs, 3),
            ]
        )
    frame = pd.DataFrame(rows, columns=["run", "wall s", "network-epochs", "s per network-epoch"])
    ratio = pd.Series([r["ratio"] for r in rounds])
    same = pd.Series([r["ratio_same_work"] for r in rounds])
    split = pd.DataFrame([r["search"]["breakdown"] for r in rounds])
    measured = sorted(r["measured"] for r in rounds)
    return [
        "## Search versus its engine",
        "",
        f"The search's wall time against its own engine's on the same graphs; {len(rounds)} "
        f"rounds ({measured[0]} to {measured[-1]}), median (range). The search ran "
        f"`{rounds[0]['search']['command']}`. "
        + _source(
            "`benchmarks/data/search_speed.json`",
            f"python benchmarks/search_speed.py --repeat {len(rounds)} --json "
            "> benchmarks/data/search_speed.json",
        ),
        "",
        *_table(frame),
        "",
        f"- Search over `evaluate_many`, per network-epoch: **{_median_range(ratio, 2)}** "
        "(the speed issue asked for at most 1.5).",
        f"- Search over the same work without the search (`evaluate_stream`): "
        f"**{_median_range(same, 2)}**.",
        f"- The search's split: startup {_median_range(split['startup'], 1)} s, training "
        f"{_median_range(split['training'], 1)} s, end {_median_range(split['end'], 1)} s.",
        "",
        "The main job (`make run`) has no data file: its timings are in "
        "[history.md](history.md#the-main-job).",
    ]


def startup_section() -> list[str]:
    data = _json("startup.json")
    frame = pd.DataFrame(data["medians"])
    columns = ["imports", "task", "kernel", "build", "before epoch", "epoch", "wall"]
    shown = frame[["variant"]].copy()
    for column in columns:
        shown[column] = frame[column].map(lambda x: _f(x, 2))
    shown = shown.rename(columns={"wall": "process wall"})
    return [
        "## Startup",
        "",
        "What `nas evaluate --cell gru --family ws --nodes 30 --seed 1 --epochs 1` spends, phase "
        f"by phase, in seconds (medians of {data['repeats']} fresh processes). `cold` generates "
        "the task, `cached` reads it from the task cache, `baseline` is the code before the "
        "startup work (commit `acd06cc`). "
        + _source(
            "`benchmarks/data/startup.json`",
            "python benchmarks/startup.py --repeats 5 --baseline OLD_CHECKOUT --json "
            "> benchmarks/data/startup.json",
        ),
        "",
        *_table(shown),
    ]


def _best(models: dict, metric: str) -> tuple[str, dict]:
    """The model with the highest mean of ``metric`` (ties: the first name in sorted order)."""
    name = sorted(models, key=lambda m: (-models[m][f"{metric}_mean"], m))[0]
    return name, models[name]


def _score(models: dict, metric: str, with_name: bool = True) -> str:
    name, scores = _best(models, metric)
    text = _pm(scores[f"{metric}_mean"], scores[f"{metric}_std"])
    return f"{text} ({MODEL_NAMES[name]})" if with_name else text


def predictors_section() -> list[str]:
    means, runs = [], []
    for label, table, stem in PREDICTOR_TABLES:
        acc = pd.read_csv(DATA / table, usecols=["test_acc"])["test_acc"]
        mean = _json(f"{stem}_all_mean.json")
        thesis = _json(f"{stem}_thesis_mean.json")
        best_r2 = _best(mean["models"], "r2")[1]["r2_mean"]
        means.append(
            [
                label,
                f"`{table}`",
                str(len(acc)),
                _f(acc.mean()),
                f"{(acc <= CHANCE).mean() * 100:.1f} %",
                _f(mean["noise_ceiling"]),
                _score(mean["models"], "r2"),
                _f(mean["noise_ceiling"] - best_r2),
                _score(mean["models"], "kendall_tau"),
                _f(mean["baseline"]["r2_mean"]),
                _score(thesis["models"], "r2", with_name=False),
                _score(thesis["models"], "kendall_tau", with_name=False),
            ]
        )
        run = _json(f"{stem}_all.json")
        runs.append(
            [
                label,
                str(run["rows"]),
                _f(run["noise_ceiling"]),
                _score(run["models"], "r2"),
                _score(run["models"], "kendall_tau"),
                _f(run["baseline"]["r2_mean"]),
            ]
        )
    mean_cols = [
        "table",
        "file",
        "runs",
        "mean test acc",
        "at chance",
        "noise ceiling",
        "best R²",
        "gap",
        "best τ",
        "size only R²",
        "thesis' 23, best R²",
        "thesis' 23, best τ",
    ]
    run_cols = ["table", "rows", "noise ceiling", "best R²", "best τ", "size only R²"]
    pool = _json("predictor_rnn_tanh_pool_all.json")
    return [
        "## Predictors",
        "",
        "`nas predictor eval`, 5-fold × 3 cross-validation grouped by graph; R² and Kendall τ are "
        "mean ± sd over the 15 folds, the best of six regressors (named). The five tables hold "
        "the same 200 thesis-preset graphs × 4 training seeds. Noise ceiling: the ICC over "
        f"seeds; gap: ceiling − best R²; at chance: runs at test accuracy ≤ {CHANCE}. "
        "Data: the tables named below and, for table `T`, `predictor_T_all_mean.json` (all "
        "features, 4-seed means), `predictor_T_thesis_mean.json` (the thesis' 23 features) and "
        "`predictor_T_all.json` (per run), where `T` is `gru`, `lstm`, `rnn_tanh`, `rnn_relu` "
        "or `gru_reber_thesis`. Made by `python benchmarks/make_table.py --cell CELL --graphs "
        "200 --repeat-graphs 200 --train-seeds 4 --out benchmarks/data/TABLE` (`--task "
        "reber-thesis` for the last) and `nas predictor eval --data TABLE --mean-over-seeds "
        "--json` (`--features thesis` for the thesis' 23; without `--mean-over-seeds` per run).",
        "",
        "On each graph's mean over its 4 seeds (200 rows):",
        "",
        *_table(pd.DataFrame(means, columns=mean_cols)),
        "",
        "Per run:",
        "",
        *_table(pd.DataFrame(runs, columns=run_cols)),
        "",
        f"Search-space pool (`pool_rnn_tanh.csv`, {pool['rows']:,} graphs, one seed, no ceiling; "
        "`predictor_rnn_tanh_pool_all.json`): best R² "
        f"{_score(pool['models'], 'r2')}, best τ {_score(pool['models'], 'kendall_tau')}, "
        f"size only R² {_f(pool['baseline']['r2_mean'])}.",
        "",
        _image(
            "Predicted against measured accuracy, GRU, 4-seed means", "predictor_gru_all_mean.png"
        ),
    ]


def _quartiles(q: dict, never: float) -> str:
    def one(x: float) -> str:
        return "never" if x >= never else f"{x:.0f}"

    return f"{one(q['median'])} ({one(q['q1'])}, {one(q['q3'])})"


def replay_section() -> list[str]:
    rows, head = [], None
    for objective in ["accuracy", "pareto"]:
        data = _json(f"replay_pool_rnn_tanh_{objective}.json")
        head = data
        for strategy in ["predictor", "tpe", "random"]:
            s = data["strategies"][strategy]
            reach = s["evals_to_random_best"]
            hv = s["hypervolume"]
            rows.append(
                [
                    strategy,
                    objective,
                    _quartiles(reach, reach["not_reached_means"]),
                    _f(s["best_at_50"]["median"]),
                    _f(s["best_at_200"]["median"]),
                    f"{_f(hv['median'])} ({_f(hv['q1'])}, {_f(hv['q3'])})",
                ]
            )
    columns = [
        "strategy",
        "objective",
        "evaluations to random's best",
        "best at 50",
        "best at 200",
        "hypervolume",
    ]
    return [
        "## Search efficiency",
        "",
        f"Replays against `pool_rnn_tanh.csv` ({head['cell']}, budget {head['budget']}, "
        f"{head['seeds']} seeds; pool best {_f(head['pool_best'])}, random search's median "
        f"best {_f(head['random_median_best'])}). Medians over seeds, quartiles in brackets; "
        "hypervolume of (accuracy, nonzero parameters) as a share of the whole pool's. "
        + _source(
            "`benchmarks/data/replay_pool_rnn_tanh_accuracy.json`, `…_pareto.json`",
            "python benchmarks/replay.py --pool benchmarks/data/pool_rnn_tanh.csv --seeds 10 "
            "[--objective pareto]",
        ),
        "",
        *_table(pd.DataFrame(rows, columns=columns)),
        "",
        _image("Best accuracy found against evaluations", "replay_pool_rnn_tanh_accuracy.png"),
    ]


def _regain(value: object) -> str:
    return str(value) if value == "never" else str(int(float(value)))


def pruning_section() -> list[str]:
    both = pd.DataFrame(_json("pruning_gru_both.json")["results"]).sort_values("percent")
    percents = [f"{p:.0f}" for p in both["percent"]]
    curve = pd.DataFrame(
        [
            ["before retraining", *both["acc_pruned"].map(lambda x: _f(x, 4))],
            ["after 1 retraining epoch", *both["acc_epoch_1"].map(lambda x: _f(x, 4))],
            ["epochs to regain", *both["epochs_to_regain"].map(_regain)],
        ],
        columns=["% of `both` pruned", *percents],
    )
    h2h = []
    for cell in ["gru", "lstm"]:
        r = _json(f"pruning_{cell}_h2h100.json")["results"][0]
        last = max(int(k.split("_")[-1]) for k in r if k.startswith("acc_epoch_"))
        h2h.append(
            [
                cell,
                _f(r["acc_pruned"]),
                _f(r["acc_epoch_1"]),
                _f(r[f"acc_epoch_{last}"]),
                _regain(r["epochs_to_regain"]),
            ]
        )
    h2h_cols = ["cell", "right after", "after 1 epoch", "after 10 epochs", "epochs to regain"]
    diagnosis = _json("pruning_gru_diagnosis.json")["by_epochs"]
    base = pd.DataFrame(
        [
            [e, *(_f(diagnosis[e]["both_before_retraining"][p]) for p in ["30", "40", "50"])]
            for e in sorted(diagnosis, key=int)
        ],
        columns=["base epochs", "30 %", "40 %", "50 %"],
    )
    return [
        "## Pruning on `reber`",
        "",
        "The dense 3 × 50 GRU (seed 0, 5 base epochs, test accuracy 1.0), one global magnitude "
        "threshold over i2h and h2h (`both`), retrained 10 epochs. "
        + _source(
            "`benchmarks/data/pruning_gru_both.json`",
            "nas prune --cell gru --out DIR --json",
        ),
        "",
        *_table(curve),
        "",
        "All of h2h pruned (100 %). "
        + _source(
            "`pruning_gru_h2h100.json`, `pruning_lstm_h2h100.json`",
            "nas prune --cell CELL --target h2h --percent 100 --out DIR --json",
        ),
        "",
        *_table(pd.DataFrame(h2h, columns=h2h_cols)),
        "",
        "Accuracy right after pruning `both`, by the base model's training epochs. "
        + _source(
            "`benchmarks/data/pruning_gru_diagnosis.json`",
            "OMP_NUM_THREADS=1 python benchmarks/prune_diagnose.py "
            "--out benchmarks/data/pruning_gru_diagnosis.json",
        ),
        "",
        *_table(base),
        "",
        _image("Accuracy against the share pruned, gru, both", "pruning_gru_both_accuracy.png"),
    ]


def pruning_thesis_section() -> list[str]:
    summary = pd.read_csv(DATA / "pruning_thesis" / "summary.csv")
    cells = ["gru", "lstm", "rnn_relu", "rnn_tanh"]
    summary["cell_order"] = summary["cell"].map(cells.index)
    summary["target_order"] = summary["target"].map(["i2h", "h2h", "both"].index)
    summary = summary.sort_values(["cell_order", "target_order", "seed", "percent"])
    rows = []
    for (cell, target, seed), run in summary.groupby(
        ["cell", "target", "seed"], sort=False, dropna=False
    ):
        cells_text = [
            f"{_f(r.acc_pruned)} / {_f(r.acc_epoch_1)} / {_regain(r.epochs_to_regain)}"
            for r in run.itertuples()
        ]
        rows.append([cell, target, str(seed), _f(run["base_acc"].iloc[0], 4), *cells_text])
    percents = [f"{p:.0f} %" for p in sorted(summary["percent"].unique())]
    frame = pd.DataFrame(rows, columns=["cell", "target", "seed", "base", *percents])
    return [
        "## Pruning on `reber-thesis`, every cell",
        "",
        "Dense 3 × 50 models with a 50-wide embedding on `reber-thesis`, one-shot global "
        "magnitude pruning, retraining until the base is regained or 5 epochs have passed. Each "
        "cell reads *right after pruning / after one retraining epoch / epochs to regain* (0: "
        "not lost; never: not within 5), all on the test split. "
        + _source(
            "`benchmarks/data/pruning_thesis/summary.csv`",
            "OMP_NUM_THREADS=1 python benchmarks/prune_sweep.py "
            "--out benchmarks/data/pruning_thesis",
        ),
        "",
        *_table(frame),
        "",
        _image(
            "Accuracy against the share pruned, gru seed 0",
            "pruning_thesis/gru_seed0/prune_accuracy.png",
        ),
    ]


def expansion_section() -> list[str]:
    folder = DATA / "prune_methods"
    table = pd.read_csv(folder / "prune_methods_table.csv")
    results = pd.read_csv(folder / "prune_methods_results.csv")
    bases = results.drop_duplicates(["task", "cell", "seed"])
    dense = bases.groupby(["task", "cell"])["base_acc"].agg(["mean", "std"])
    accuracy = []
    for percent in [90, 95]:
        at = table[table["percent"] == percent].set_index(["task", "cell", "method"])
        for task, cell in sorted(dense.index):
            row = [str(percent), task, cell, _pm(*dense.loc[(task, cell)])]
            row += [
                _pm(
                    at.loc[(task, cell, m), "acc_retrained_mean"],
                    at.loc[(task, cell, m), "acc_retrained_std"],
                )
                for m in PRUNE_METHODS
            ]
            accuracy.append(row)
    masks = table[table["percent"] == 90].groupby(["method", "task"])
    gap = masks["ramanujan_gap_mean_mean"].mean()
    isolated = masks["isolated_mean"].mean()
    mask_rows = [
        [
            m,
            *(f"{gap[(m, t)]:+.2f}" for t in ["digits", "reber"]),
            *(f"{isolated[(m, t)]:.0f}" for t in ["digits", "reber"]),
        ]
        for m in ["expander", "random", "magnitude", "anti-expander"]
    ]
    beyond = pd.read_csv(folder / "prune_methods_beyond_sparsity.csv")
    pooled = beyond[(beyond["task"] == "both tasks") & (beyond["cell"] == "pooled")].iloc[0]
    labels = {
        "ignoring_sparsity": "ignoring sparsity",
        "given_sparsity": "given sparsity, all methods",
        "agnostic_given_sparsity": "given sparsity, weight-agnostic methods",
        "agnostic_given_sparsity_and_isolated": "the same, also given isolated nodes",
        "random_expander_given_sparsity": "given sparsity, random vs expander only",
        "spectral_gap_given_sparsity": "given sparsity, unnormalised spectral gap instead",
    }
    rho = [
        [
            label,
            f"{_signed(pooled[k])} [{_signed(pooled[k + '_low'])}, {_signed(pooled[k + '_high'])}]",
        ]
        for k, label in labels.items()
    ]
    paired = pd.read_csv(folder / "prune_methods_paired.csv")
    magnitude_wins = int((paired["magnitude_minus_random_mean"] > 0).sum())
    spread = paired["expander_minus_random_mean"].abs().max()
    return [
        "## Pruning methods and expansion",
        "",
        "480 pruned networks: 4 one-shot methods × 50–98 % × 3 cells × 4 seeds × 2 tasks, target "
        "`both`, a short fixed retraining budget ([expansion.md](expansion.md#the-experiment)). "
        + _source(
            "`benchmarks/data/prune_methods/` (`prune_methods_table.csv`, `…_results.csv`, "
            "`…_beyond_sparsity.csv`, `…_paired.csv`)",
            "OMP_NUM_THREADS=1 python benchmarks/prune_methods.py --out "
            "benchmarks/data/prune_methods && python benchmarks/prune_methods_analysis.py "
            "benchmarks/data/prune_methods",
        ),
        "",
        "Test accuracy after retraining, mean ± sd over seeds:",
        "",
        *_table(
            pd.DataFrame(accuracy, columns=["%", "task", "cell", "dense base", *PRUNE_METHODS])
        ),
        "",
        "The masks at 90 %: mean Ramanujan gap and isolated nodes (mean over cells and seeds):",
        "",
        *_table(
            pd.DataFrame(
                mask_rows,
                columns=[
                    "method",
                    "gap, digits",
                    "gap, reber",
                    "isolated, digits",
                    "isolated, reber",
                ],
            )
        ),
        "",
        "Rank correlation of accuracy with the mean Ramanujan gap, both tasks and all cells "
        "pooled (95 % seed-bootstrap interval):",
        "",
        *_table(pd.DataFrame(rho, columns=["", "rho"])),
        "",
        f"Expander minus random on the same base lies within ±{spread:.2f} in all "
        f"{len(paired)} task × cell × sparsity cells; magnitude beats random in "
        f"{magnitude_wins} of them (`prune_methods_paired.csv`).",
        "",
        _image(
            "Accuracy after retraining against sparsity", "prune_methods/prune_methods_accuracy.png"
        ),
    ]


def _t(values: pd.Series, signed: bool = False) -> str:
    """Mean ± the 95 % t half-width over seeds; "–" where nothing was run."""
    mean, half, n = t_interval(values.tolist())
    return f"{mean:{'+' if signed else ''}.3f} ± {half:.3f}" if n >= 2 else "–"


def _runs(wide: pd.DataFrame, percent: float, method: str) -> pd.Series:
    """One method's test accuracy per seed at one sparsity (empty where it was not run)."""
    if method not in wide or percent not in wide.index.get_level_values("percent"):
        return pd.Series(dtype=float)
    return wide.loc[percent, method]


def controlled_study_section() -> list[str]:
    rows = []
    for folder, label in CONTROLLED:
        frame = pd.read_csv(DATA / folder / "expansion_study.csv")
        bases = frame[frame["setting"] == "trained"].drop_duplicates("seed")
        dense = _t(bases.set_index("seed")["dense_test_acc"])
        for setting in ("init", "trained"):
            part = frame[frame["setting"] == setting]
            wide = part.pivot_table(index=["percent", "seed"], columns="method", values="test_acc")

            row = [label, setting, dense, _t(_runs(wide, 90.0, "expander"))]
            for first, second in (("degree-blocks", "expander"), ("expander", "random")):
                row += [
                    _t(_runs(wide, p, first) - _runs(wide, p, second), signed=True)
                    for p in (90.0, 95.0)
                ]
            rows.append(row)
    columns = ["task, cell, units", "setting", "dense base", "expander, 90 %"]
    columns += [f"{a} − {b}, {p} %" for a, b in (("blocks", "expander"), ("expander", "random"))
                for p in (90, 95)]  # fmt: skip
    return [
        "## The controlled expansion study",
        "",
        "Masks fixed on the untrained network (`init`) or on a dense network trained to plateau "
        "(`trained`), every network trained to plateau, 5 seeds; `blocks` is the degree-matched "
        "block control (the expander's degrees, spectral gap 0). Test accuracy and paired "
        "differences (same seed), mean ± 95 % t half-width "
        "([expansion.md](expansion.md#does-expansion-preserve-accuracy-the-controlled-study)). "
        + _source(
            ", ".join(f"`benchmarks/data/{folder}/`" for folder, _ in CONTROLLED),
            "python benchmarks/expansion_study.py --out DIR --summary --plot",
        )
        + " Each folder's README gives its runs' own commands.",
        "",
        *_table(pd.DataFrame(rows, columns=columns)),
    ]


def render() -> str:
    """The whole page, from the data files as they are now."""
    sections = [
        [
            "# Current figures",
            "",
            "<!-- Generated by benchmarks/figures_page.py from benchmarks/data/; "
            "edit the script or the data, not this page. -->",
            "",
            "Every figure here is read from a file under `benchmarks/data/` by "
            "`python benchmarks/figures_page.py`, and a test fails when this page and the data "
            "disagree. Each section names its file and the command that made it. How each "
            "benchmark works: [benchmarks.md](benchmarks.md); earlier measurements and the notes "
            "taken at the time: [history.md](history.md); what the figures mean: "
            "[findings.md](findings.md), [pruning.md](pruning.md), [expansion.md](expansion.md).",
        ],
        engine_section(),
        search_speed_section(),
        startup_section(),
        predictors_section(),
        replay_section(),
        pruning_section(),
        pruning_thesis_section(),
        expansion_section(),
        controlled_study_section(),
    ]
    return "\n\n".join("\n".join(s) for s in sections) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python benchmarks/figures_page.py")
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} ({page.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
