"""Fixtures of the tests under nas/: one tiny search shared by the report, rank, export and
infer tests (a 200-string Reber task, 8 networks of 10-12 nodes, 2 epochs, successive
halving so some are stopped early)."""

import optuna
import pytest

from nas.search import SearchSpec, run_search


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """(run dir, study) of a finished tiny search."""
    out = tmp_path_factory.mktemp("tiny-run") / "run"
    spec = SearchSpec(
        cell="gru", budget=8, epochs=2, nodes=(10, 12), n_strings=200, round_size=4,
        pool_size=60, out=str(out), seed=3,
    )  # fmt: skip
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = run_search(spec)
    finally:
        optuna.logging.set_verbosity(optuna.logging.INFO)
    return out, study
