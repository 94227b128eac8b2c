"""The pruning baseline experiment: prune the dense base model, retrain, compare.

1. Train the thesis' dense base model (embedding -> ``num_layers`` x ``hidden_size`` -> linear;
   Adam, batch 32) for ``epochs`` epochs.
2. For every target and percent: prune a copy (``models.pruning``: by default one global
   magnitude threshold over all recurrent layers together; ``method`` may instead set the
   masks' structure, ``random``, ``expander``, ``anti-expander`` or ``degree-blocks``, or
   take Kalra et al.'s ``ramanujan`` steps with a retraining epoch between them), measure the test
   accuracy right after pruning, retrain ``retrain_epochs`` epochs with the masks fixed
   recording the accuracy after each, and count the epochs needed to regain the base
   accuracy (within ``tolerance``; ``"never"`` if not). The expansion of every pruned matrix
   (``models.expansion``) is recorded beside it.
3. Equal-sparsity comparison: given a Sparse-RNN graph, prune the base model to exactly the
   Sparse-RNN's number of nonzero recurrent weights, retrain it, and train the Sparse-RNN
   from scratch with the same total budget (``epochs + retrain_epochs`` epochs, same batch
   size and learning rate); report both accuracies.

With ``method="gradual"`` step 2 prunes by magnitude while retraining instead, along Zhu &
Gupta's cubic schedule (``models.pruning.CubicSchedule``) over the first half of the retraining
epochs (10 pruning steps per epoch); there is no accuracy "right after pruning" (NaN).

Everything is seeded by ``PruneSpec.seed``; every pruned copy is retrained with the same
mini-batch order, so rows differ only by what was pruned.

This module runs the whole experiment (:func:`run_prune`) and holds its outcome; the parts
live beside it and are re-exported here: ``prune_spec`` (the spec and option parsing,
torch-free), ``prune_retrain`` (steps 1 and 2), ``prune_match`` (step 3) and
``prune_plots``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path

import networkx as nx
import pandas as pd

from core.errors import SparseNASError
from core.jsonsafe import json_safe
from models.data import Task
from nas.experiments.prune_match import (
    check_match,
    dense_recurrent_weights,
    match_sparse_rnn,
)
from nas.experiments.prune_plots import plot_accuracy, plot_regain
from nas.experiments.prune_retrain import (
    BaseModel,
    EpochHook,
    build_dense,
    epochs_to_regain,
    gradual_schedule,
    prune_once,
    train_base,
)
from nas.experiments.prune_spec import (
    DEFAULT_BASE_EPOCHS,
    DEFAULT_PERCENTS,
    DEFAULT_RETRAIN_EPOCHS,
    METHODS,
    PRUNING_STEPS_PER_EPOCH,
    PruneSpec,
    check_percent,
    parse_percents,
    parse_targets,
    planned_epochs,
    resolve_match,
)

__all__ = [  # the experiment, and the names of its parts that callers import from here
    "DEFAULT_BASE_EPOCHS",
    "DEFAULT_PERCENTS",
    "DEFAULT_RETRAIN_EPOCHS",
    "METHODS",
    "PRUNING_STEPS_PER_EPOCH",
    "BaseModel",
    "EpochHook",
    "PruneOutcome",
    "PruneSpec",
    "build_dense",
    "check_match",
    "check_percent",
    "dense_recurrent_weights",
    "epochs_to_regain",
    "gradual_schedule",
    "match_sparse_rnn",
    "parse_percents",
    "parse_targets",
    "planned_epochs",
    "plot_accuracy",
    "plot_regain",
    "prune_once",
    "resolve_match",
    "run_prune",
    "train_base",
]


@dataclass
class PruneOutcome:
    """Everything one ``nas prune`` run measured."""

    spec: PruneSpec
    base: dict[str, object]
    table: pd.DataFrame
    history: pd.DataFrame
    expansion: pd.DataFrame
    match: dict[str, object] | None = None
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON values (NaN becomes null)."""
        records = json.loads(self.table.to_json(orient="records")) if len(self.table) else []
        return json_safe(
            {
                "spec": asdict(self.spec),
                "base": self.base,
                "results": records,
                "match": self.match,
                "files": [str(p) for p in self.files],
            }
        )

    def write(self, out: str | PathLike[str]) -> list[Path]:
        """Write CSV tables and PNG plots into the folder ``out``; returns their paths."""
        folder = Path(out)
        written: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if len(self.table):
                for name, frame in (
                    ("prune_results.csv", self.table),
                    ("prune_history.csv", self.history),
                    ("prune_expansion.csv", self.expansion),
                ):
                    frame.to_csv(folder / name, index=False)
                    written.append(folder / name)
                written.append(plot_accuracy(self.table, folder / "prune_accuracy.png"))
                written.append(plot_regain(self.table, folder / "prune_regain.png"))
            if self.match is not None:
                pd.DataFrame([self.match]).to_csv(folder / "prune_match.csv", index=False)
                written.append(folder / "prune_match.csv")
        except OSError as exc:
            raise SparseNASError(f"cannot write into {folder}: {exc.strerror or exc}") from None
        self.files = written
        return written


def run_prune(
    spec: PruneSpec,
    task: Task,
    *,
    graph: nx.Graph | None = None,
    on_epoch: EpochHook | None = None,
) -> PruneOutcome:
    """Train the base model, prune and retrain it for every target and percent, and (given a
    Sparse-RNN ``graph``) run the equal-sparsity comparison."""
    if graph is not None:
        check_match(graph, spec, task)  # fail before training
    base = train_base(spec, task, on_epoch=on_epoch)
    rows, history, expansion = [], [], []
    for target in spec.targets:
        for percent in spec.percents:
            row, hist, exp = prune_once(base, spec, task, target, percent, on_epoch=on_epoch)
            rows.append(row)
            history.extend(hist)
            expansion.extend(exp)
    match = None
    if graph is not None:
        match = match_sparse_rnn(graph, base, spec, task, on_epoch=on_epoch)
    return PruneOutcome(
        spec=spec,
        base=base.summary(),
        table=pd.DataFrame(rows),
        history=pd.DataFrame(history),
        expansion=pd.DataFrame(expansion),
        match=match,
    )
