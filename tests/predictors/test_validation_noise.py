"""Validation (predictors/validation/noise.py): ICC(1), the noise ceiling and averaging over seeds.

The tables are synthetic: real graphs of the thesis preset with a known accuracy function.
"""

import numpy as np
import pandas as pd
import pytest
from predictor_fixtures import our_table

from core.errors import SparseNASError
from predictors.table import load_table
from predictors.validation import (
    average_over_seeds,
    intraclass_correlation,
    noise_ceiling,
)


def test_icc_by_hand():
    # Groups {1, 3} and {5, 7}: MSB = 16, MSW = 2, k0 = 2 -> (16 - 2) / (16 + 2).
    assert intraclass_correlation([1, 3, 5, 7], ["a", "a", "b", "b"]) == pytest.approx(14 / 18)
    assert intraclass_correlation([1, 2, 3], ["a", "b", "c"]) is None  # no repeats
    assert intraclass_correlation([1, 1, 1, 1], ["a", "a", "b", "b"]) is None  # no variance
    assert intraclass_correlation([1, 2], None) is None


@pytest.mark.parametrize("share", [0.25, 0.5, 0.8])
def test_icc_recovers_a_known_variance_split(share):
    rng = np.random.default_rng(0)
    graphs, repeats = 1500, 3
    between = rng.normal(0, np.sqrt(share), graphs)
    y = np.repeat(between, repeats) + rng.normal(0, np.sqrt(1 - share), graphs * repeats)
    groups = np.repeat(np.arange(graphs), repeats)
    assert intraclass_correlation(y, groups) == pytest.approx(share, abs=0.05)
    # Unbalanced: singletons beside the repeated graphs.
    singles = rng.normal(0, 1, 500)
    y2 = np.concatenate([y, singles])
    groups2 = np.concatenate([groups, np.arange(graphs, graphs + 500)])
    assert intraclass_correlation(y2, groups2) == pytest.approx(share, abs=0.06)


def test_noise_ceiling_of_a_table_with_repeats():
    # Noise sd 0.02 against a graph signal sd of ~0.038: ICC ~ 0.038² / (0.038² + 0.02²).
    table = load_table(our_table(40, repeats=3, noise=0.02, seed=2), features="thesis")
    assert table.has_repeats
    ceiling = noise_ceiling(table)
    signal = pd.Series(table.y).groupby(table.groups).mean().var()
    assert 0.5 < ceiling < 0.95
    assert ceiling == pytest.approx(signal / (signal + 0.02**2), abs=0.15)


def test_the_same_graph_and_training_seed_twice_is_no_repeat():
    frame = our_table(12, repeats=1, seed=4)
    twice = pd.concat([frame, frame.iloc[:3]], ignore_index=True)  # a pool drew 3 graphs again
    table = load_table(twice, features="thesis")
    assert table.has_repeats and noise_ceiling(table) is None
    reseeded = frame.iloc[:3].assign(train_seed=1, test_acc=frame["test_acc"].iloc[:3] - 0.01)
    with_seeds = load_table(pd.concat([twice, reseeded], ignore_index=True), features="thesis")
    ceiling = noise_ceiling(with_seeds)
    rows = load_table(pd.concat([frame, reseeded], ignore_index=True), features="thesis")
    assert ceiling is not None and ceiling == pytest.approx(noise_ceiling(rows))


def test_average_over_seeds_worked_example():
    frame = our_table(4, repeats=1, seed=5)
    second = frame.iloc[:2].assign(train_seed=1, test_acc=[0.5, 0.7])
    duplicate = frame.iloc[:1]  # the same graph and training seed again: one training
    table = load_table(pd.concat([frame, second, duplicate], ignore_index=True), features="thesis")
    means = average_over_seeds(table)
    assert len(means) == 4 and means.frame["n_seeds"].tolist() == [2, 2, 1, 1]
    expected = [(frame["test_acc"][0] + 0.5) / 2, (frame["test_acc"][1] + 0.7) / 2]
    assert means.y[:2] == pytest.approx(expected) and means.y[2:] == pytest.approx(
        frame["test_acc"][2:].to_numpy()
    )
    assert means.features == table.features and not means.has_repeats
    assert means.run_icc == pytest.approx(noise_ceiling(table))


def test_the_ceiling_of_means_follows_spearman_brown():
    table = load_table(our_table(40, repeats=3, noise=0.02, seed=2), features="thesis")
    single = noise_ceiling(table)
    means = average_over_seeds(table)
    assert set(means.frame["n_seeds"]) == {3}
    assert noise_ceiling(means) == pytest.approx(3 * single / (1 + 2 * single))
    assert noise_ceiling(means) > single


def test_average_over_seeds_refuses_a_table_without_graphs_or_target():
    frame = our_table(6, seed=1).drop(columns=["edge_list"])
    with pytest.raises(SparseNASError, match="which rows are one graph"):
        average_over_seeds(load_table(frame, features="thesis"))
    with pytest.raises(SparseNASError, match="target"):
        average_over_seeds(load_table(our_table(6, seed=1), features="thesis", target=None))
