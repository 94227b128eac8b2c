"""benchmarks/expansion_study.py: the summary's statistics on a small synthetic CSV, checked
against scipy computed independently; the test-time noise; early stopping; and a tiny run
end to end, resumed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from models.data import SequenceSet, Task
from models.networks import DenseRNNClassifier


@pytest.fixture(scope="module")
def study(benchmark_script):
    return benchmark_script("expansion_study")


def synthetic(seeds=4):
    """One task and cell, two settings and sparsities, three methods, seeded accuracies."""
    rng = np.random.default_rng(0)
    dense = rng.uniform(0.8, 1.0, seeds)
    rows = []
    for setting in ("init", "trained"):
        for percent in (90.0, 95.0):
            for seed in range(seeds):
                for method, agnostic in (
                    ("expander", True),
                    ("random", True),
                    ("magnitude", False),
                ):
                    rows.append({
                        "task": "digits", "cell": "rnn_tanh", "setting": setting,
                        "method": method, "percent": percent, "seed": seed,
                        "weight_agnostic": agnostic, "test_acc": rng.uniform(0.5, 0.9),
                        "test_acc_noise_0.5": rng.uniform(0.3, 0.7),
                        "ramanujan_gap_mean": rng.normal(), "isolated": float(rng.integers(5)),
                        "sparsity": percent / 100,
                        "dense_test_acc": dense[seed] if setting == "trained" else np.nan,
                    })  # fmt: skip
    return pd.DataFrame(rows)


def test_the_cell_table_on_a_synthetic_csv(study, tmp_path):
    frame = synthetic()
    path = tmp_path / "study.csv"
    frame.to_csv(path, index=False)
    table = study.cell_table(pd.read_csv(path))
    assert len(table) == 2 * 2 * 3 and set(table["seeds"]) == {4}
    cell = table[
        (table.setting == "trained") & (table.percent == 95.0) & (table.method == "random")
    ]
    values = frame[
        (frame.setting == "trained") & (frame.percent == 95.0) & (frame.method == "random")
    ]
    for column in ("test_acc", "test_acc_noise_0.5"):
        data = values[column].to_numpy()
        low, high = stats.t.interval(0.95, len(data) - 1, loc=data.mean(), scale=stats.sem(data))
        assert cell[f"{column}_mean"].item() == pytest.approx(data.mean())
        assert cell[f"{column}_half"].item() == pytest.approx((high - low) / 2)


def test_paired_differences_are_per_seed(study):
    frame = synthetic()
    diffs = study.paired(frame, [("expander", "random")])
    one = diffs[(diffs.setting == "init") & (diffs.percent == 90.0)]
    part = frame[(frame.setting == "init") & (frame.percent == 90.0)].set_index("seed")
    data = part[part.method == "expander"].test_acc - part[part.method == "random"].test_acc
    low, high = stats.t.interval(0.95, 3, loc=data.mean(), scale=stats.sem(data))
    assert one["mean"].item() == pytest.approx(data.mean())
    assert one["half"].item() == pytest.approx((high - low) / 2)


def test_the_gap_to_the_dense_base_is_per_seed_in_both_settings(study):
    frame = synthetic()
    dense = frame[frame.setting == "trained"].groupby("seed").dense_test_acc.first()
    table = study.dense_table(frame)
    low, high = stats.t.interval(0.95, 3, loc=dense.mean(), scale=stats.sem(dense))
    assert table["mean"].item() == pytest.approx(dense.mean())
    assert table["half"].item() == pytest.approx((high - low) / 2)
    gaps = study.against_dense(frame)
    assert len(gaps) == 2 * 2 * 3 and set(gaps.seeds) == {4}
    for setting in ("init", "trained"):
        one = gaps[(gaps.setting == setting) & (gaps.percent == 95.0) & (gaps.method == "random")]
        part = frame[(frame.setting == setting) & (frame.percent == 95.0)]
        data = part[part.method == "random"].set_index("seed").test_acc - dense
        low, high = stats.t.interval(0.95, 3, loc=data.mean(), scale=stats.sem(data))
        assert one["mean"].item() == pytest.approx(data.mean())
        assert one["half"].item() == pytest.approx((high - low) / 2)


def test_correlations_per_seed_over_agnostic_and_all_methods(study):
    frame = synthetic()
    frame = frame[frame.percent == 90.0]  # one group per seed and setting: Spearman's rho
    frame = pd.concat([frame, frame[frame.method == "random"].assign(
        method="anti-expander", test_acc=0.1, ramanujan_gap_mean=-9.0)])  # fmt: skip
    result = study.correlations(frame)
    for methods, chosen in (
        ("weight-agnostic", ["expander", "random", "anti-expander"]),
        ("weight-agnostic, no anti-expander", ["expander", "random"]),
        ("all", None),
    ):
        row = result[(result.setting == "init") & (result.methods == methods)
                     & (result.accuracy == "test_acc")]  # fmt: skip
        rhos = []
        for _, group in frame[frame.setting == "init"].groupby("seed"):
            if chosen:
                group = group[group.method.isin(chosen)]
            rhos.append(stats.spearmanr(group.test_acc, group.ramanujan_gap_mean).statistic)
        low, high = stats.t.interval(0.95, 3, loc=np.mean(rhos), scale=stats.sem(rhos))
        assert row["mean"].item() == pytest.approx(np.mean(rhos))
        assert row["half"].item() == pytest.approx((high - low) / 2)
    alone = study.correlations(frame[frame.method == "random"])  # nothing to rank it against
    assert alone.empty


def test_one_run_has_no_rank_correlation_and_no_warning(study):
    one = synthetic().iloc[[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warned on a one-row correlation before
        assert np.isnan(study.centred_rank_correlation(one, "test_acc"))


def test_the_summary_prints_every_part(study, tmp_path):
    path = tmp_path / "study.csv"
    synthetic().to_csv(path, index=False)
    text = study.summarise(path)
    assert "expander - random" in text and "weight-agnostic" in text and " ± " in text
    assert "## Minus the dense base" in text
    assert text.count("\n| digits | rnn_tanh | init | 90 | expander |") == 2  # cell, minus dense


def float_task(n=200):
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, 6, (n,), generator=generator)
    inputs = torch.randn(n, 5, 2, generator=generator) * torch.tensor([1.0, 3.0])
    inputs[torch.arange(5)[None, :] >= lengths[:, None]] = 0
    data = SequenceSet(inputs, lengths, (inputs[:, 0, 0] > 0).long())
    return Task("floats", data, data, 2, valid=data, n_features=2)


def test_gaussian_noise_scales_with_each_features_spread_and_spares_padding(study):
    task = float_task()
    scale = study.feature_scale(task)
    assert scale.tolist() == pytest.approx([1.0, 3.0], rel=0.15)
    same = study.noisy(task.test, task, 0.0, scale, seed=1)
    assert torch.equal(same.inputs, task.test.inputs)
    noisy = study.noisy(task.test, task, 0.5, scale, seed=1)
    real = torch.arange(5)[None, :] < task.test.lengths[:, None]
    added = (noisy.inputs - task.test.inputs)[real]
    assert added.std(dim=0).tolist() == pytest.approx((0.5 * scale).tolist(), rel=0.15)
    assert torch.equal(noisy.inputs[~real], task.test.inputs[~real])
    again = study.noisy(task.test, task, 0.5, scale, seed=1)
    assert torch.equal(again.inputs, noisy.inputs)


def test_token_noise_replaces_tokens_at_its_rate(study, tiny_task):
    data = tiny_task.test
    real = torch.arange(data.inputs.shape[1])[None, :] < data.lengths[:, None]
    noisy = study.noisy(data, tiny_task, 1.0, None, seed=0)
    assert ((noisy.inputs[real] >= 1) & (noisy.inputs[real] < 6)).all()
    assert (noisy.inputs[~real] == 0).all()
    assert not torch.equal(noisy.inputs, data.inputs)
    assert torch.equal(study.noisy(data, tiny_task, 0.0, None, seed=0).inputs, data.inputs)


def test_plateau_stops_after_patience_and_restores_the_best_epoch(study, tiny_task):
    model = DenseRNNClassifier("gru", 2, vocab_size=6, hidden_size=4, num_layers=1, seed=0)
    plateau = study.Plateau(model, patience=2)
    metrics = [study.EpochMetrics(e, 0.0, 0.0, 0.0, acc, 0.0) for e, acc in
               enumerate([0.5, 0.7, 0.6, 0.7, 0.65], start=1)]  # fmt: skip
    assert [plateau(m) for m in metrics[:4]] == [False, False, False, True]
    assert plateau.best_epoch == 2 and plateau.best_acc == 0.7
    late = study.Plateau(model, patience=2, min_epochs=5)  # patient, but not before epoch 5
    assert [late(m) for m in metrics] == [False, False, False, False, True]


def arguments(study, out, **changes):
    argv = ["--out", str(out), "--tasks", "tiny", "--cells", "rnn_tanh", "--hidden-size", "4",
            "--max-epochs", "2", "--patience", "1", "--percents", "80", "--seeds", "0,1",
            "--methods", "random,ramanujan,degree-blocks", "--noise", "0.1,0.3"]  # fmt: skip
    for key, value in changes.items():
        argv[argv.index(f"--{key}") + 1] = value
    return study.parse_args(argv)


def test_a_tiny_study_runs_end_to_end_and_resumes(study, tiny_task, tmp_path):
    study.run(arguments(study, tmp_path), loader=lambda name: tiny_task)
    frame = pd.read_csv(tmp_path / study.RESULTS)
    assert len(frame) == 2 * 3 * 2  # settings x methods x seeds
    assert set(frame.setting) == {"init", "trained"}
    assert {"test_acc_noise_0.1", "test_acc_noise_0.3"} <= set(frame.columns)
    kalra = frame[(frame.method == "ramanujan") & (frame.setting == "trained")]
    assert (frame[frame.method == "ramanujan"].pruning_steps > 1).all()
    assert (kalra.sparsity <= 0.8 + 1e-9).all()
    assert frame[frame.method == "random"].sparsity.to_numpy() == pytest.approx(0.8, abs=0.01)
    assert frame[frame.method == "degree-blocks"].weight_agnostic.all()
    assert not frame[frame.method == "ramanujan"].weight_agnostic.any()
    assert (frame.epochs <= 2).all() and frame.dense_test_acc.notna().sum() == 6
    assert set(frame.lr) == {1e-3} and set(frame.batch_size) == {32}  # PruneSpec's, recorded
    study.run(arguments(study, tmp_path, seeds="0,1,2"), loader=lambda name: tiny_task)
    again = pd.read_csv(tmp_path / study.RESULTS)
    assert len(again) == 18 and again.iloc[:12].equals(frame)
    assert "ramanujan" in study.summarise(tmp_path / study.RESULTS)


def test_the_figure_draws_each_cells_interval_and_the_dense_base(study):
    frame = synthetic()
    frame.loc[frame.method == "magnitude", "sparsity"] -= 0.05  # drawn where it stopped
    drawing = study.figure(frame)
    axes = drawing.axes
    assert [ax.get_title() for ax in axes] == [
        "digits, rnn_tanh, init",
        "digits, rnn_tanh, trained",
    ]
    table = study.cell_table(frame)
    dense = study.dense_table(frame)["mean"].item()
    for ax, setting in zip(axes, ("init", "trained"), strict=True):
        lines = {line.get_label(): line for line in ax.get_lines()}
        lines |= {bars.get_label(): bars.lines[0] for bars in ax.containers}  # the errorbars
        assert lines["dense base"].get_ydata()[0] == pytest.approx(dense)
        for method in ("expander", "random", "magnitude"):
            rows = table[(table.setting == setting) & (table.method == method)]
            rows = rows.sort_values("sparsity")
            x, y = lines[method].get_data()
            assert list(x) == pytest.approx(list(100 * (1 - rows.sparsity)))
            assert list(y) == pytest.approx(list(rows.test_acc_mean))
        assert ax.xaxis_inverted() and ax.get_xscale() == "log"
        assert sorted(float(t) for t in ax.get_xticks()) == pytest.approx([5, 10, 15])


def test_plot_writes_a_png_without_a_dense_base(study, tmp_path):
    frame = synthetic()
    frame[frame.setting == "init"].drop(columns="dense_test_acc").to_csv(
        tmp_path / study.RESULTS, index=False
    )
    study.main(["--out", str(tmp_path), "--summary", "--plot"])
    image = (tmp_path / study.FIGURE).read_bytes()
    assert image.startswith(b"\x89PNG")
    assert len(study.figure(pd.read_csv(tmp_path / study.RESULTS)).axes) == 1
