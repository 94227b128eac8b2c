"""Seconds per predictor round (``PredictorStrategy.propose``) at the search's default settings.

A study of ``--trained`` finished trials is taken from a tabular pool (the first members of a
seeded random order, told their looked-up accuracies, as ``benchmarks/replay.py`` does); then
rounds are proposed exactly as ``nas search`` proposes them: a pool of ``pool_size`` graphs,
local moves around the incumbents, the regressor refitted each round. Both settings run side
by side in one process: a fresh pool every round (``pool_rounds=1``, the search before the
rolling pool) and the rolling pool (``POOL_ROUNDS``: each round draws an eighth of the pool).
The first round of each is timed apart: it describes a whole pool when the pool is fresh,
one draw when it rolls (the pool then grows by a draw per round, as the study's earlier
predictor rounds say).

    python benchmarks/propose.py --pool benchmarks/data/pool_rnn_tanh.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState, create_trial
from replay import Pool, Replay

from nas.search import SearchSpec
from nas.search.space import SearchSpace
from nas.search.strategies.base import Warm
from nas.search.strategies.predictor import POOL_ROUNDS, PredictorStrategy
from predictors import ALL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--trained", type=int, default=60, help="finished trials in the study")
    parser.add_argument("--rounds", type=int, default=6, help="rounds timed after the first")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    table = pd.read_csv(args.pool, usecols=["cell"])
    spec = SearchSpec(cell=str(table["cell"].iloc[0]))
    space = SearchSpace(spec.families, spec.nodes)
    pool = Pool.load(args.pool, space)
    replay = Replay(pool, spec)
    for member in np.random.default_rng(0).permutation(len(pool.acc))[: args.trained]:
        replay.enqueue(int(member))
    trials = replay.study.get_trials(deepcopy=False)
    print(f"{len(trials)} finished trials of {spec.cell}; pool_size {spec.pool_size}")
    for label, rounds in (
        ("fresh pool each round", 1),
        (f"rolling, {POOL_ROUNDS} rounds", POOL_ROUNDS),
    ):
        strategy = PredictorStrategy.from_spec(spec, space, Warm(ALL), pool_rounds=rounds)
        started = time.perf_counter()
        strategy.propose(trials, spec.round_size, 0)
        first = time.perf_counter() - started
        seconds = []
        for round_index in range(1, args.rounds + 1):
            earlier = trials + _rounds_before(round_index)  # as the study records them
            started = time.perf_counter()
            strategy.propose(earlier, spec.round_size, round_index)
            seconds.append(time.perf_counter() - started)
        print(
            f"{label:>24}: first round {first:.2f} s, then {np.mean(seconds):.2f} s per round "
            f"(min {min(seconds):.2f}, max {max(seconds):.2f}, {args.rounds} rounds)"
        )


def _rounds_before(round_index: int) -> list[FrozenTrial]:
    """One trial per earlier predictor round (origin ``pool`` and its ``round``): what the pool's
    size follows. Without a graph, so nothing else in the proposal sees them."""
    return [
        create_trial(state=TrialState.FAIL, user_attrs={"origin": "pool", "round": j})
        for j in range(round_index)
    ]


if __name__ == "__main__":
    main()
