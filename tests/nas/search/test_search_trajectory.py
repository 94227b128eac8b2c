"""A seeded search's whole trajectory, pinned: the same trials, parameters, graphs, statuses
and accuracies as the search gave at commit 0479268 (before the record, strategy, family and
engine-protocol seams were cut). A refactor that changes what the search does fails here.

The pinned file was written by ``python tests/nas/search/test_search_trajectory.py --write``
at that commit; write it again only for a change that is meant to change the search.
"""

import hashlib
import json
import sys
from pathlib import Path

import optuna
import pytest

from nas.search import SearchSpec, run_search

PINNED = Path(__file__).resolve().parents[2] / "data" / "search_trajectory_gru_seed7.json"


def _spec(out: Path) -> SearchSpec:
    # Warm-up of 4, then three predictor rounds of 4 with local moves and successive halving;
    # the UCB's kappa of the pinned commit (the default since is 0.5: docs/strategies.md).
    return SearchSpec(
        cell="gru", budget=16, epochs=3, nodes=(10, 14), round_size=4,
        pool_size=80, out=str(out), seed=7, warmup=0.15, kappa=1.0,
    )  # fmt: skip


def trajectory(out: Path) -> list[dict]:
    """Each trial of the seeded search, in trial order, as plain JSON values."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = run_search(_spec(out))
    finally:
        optuna.logging.set_verbosity(optuna.logging.INFO)
    rows = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        attrs = trial.user_attrs
        edges = attrs.get("edge_list") or ""
        rows.append(
            {
                "number": trial.number,
                "state": trial.state.name,
                "params": trial.params,
                "status": attrs.get("status"),
                "origin": attrs.get("origin"),
                "round": attrs.get("round"),
                "move": attrs.get("move"),
                "parent": attrs.get("parent"),
                "edges_sha1": hashlib.sha1(edges.encode()).hexdigest()[:12],
                "valid_acc": attrs.get("valid_acc"),
                "test_acc": attrs.get("test_acc"),
                "predicted_acc": attrs.get("predicted_acc"),
            }
        )
    return rows


@pytest.mark.slow
def test_a_seeded_search_repeats_the_pinned_trajectory(tmp_path):
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    got = json.loads(json.dumps(trajectory(tmp_path / "run")))
    assert [r["number"] for r in got] == [r["number"] for r in pinned]
    for mine, theirs in zip(got, pinned, strict=True):
        for key in ("valid_acc", "test_acc", "predicted_acc"):
            assert mine.pop(key) == pytest.approx(theirs.pop(key), abs=1e-9), key
        assert mine == theirs


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        rows = trajectory(Path(folder) / "run")
    PINNED.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {PINNED}: {len(rows)} trials")
