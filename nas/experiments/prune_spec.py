"""What a pruning experiment runs (``PruneSpec``) and the parsing of its options.

Torch-free, so ``nas prune`` checks its options before torch is imported; the experiment
itself is ``nas.experiments.prune``.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from core.checks import check_choice, check_fraction, check_int, check_real
from core.errors import SparseNASError
from core.seeds import child_seeds, derive_seed
from graphs.io import read_graph
from models.cells import DEFAULT_EMBEDDING_DIM, check_cell
from models.pruning import MASK_METHODS, TARGETS, check_target
from models.train_spec import TrainSpec
from nas.reports.sources import check_run_dir
from nas.search.study_file import CONFIG

METHODS: tuple[str, ...] = ("magnitude", "gradual", *(m for m in MASK_METHODS if m != "magnitude"))
"""``gradual`` is magnitude pruning along a schedule; the others prune at once, by the mask
methods of ``models.pruning.MASK_METHODS`` (each method's index seeds its masks, so a new
method goes last)."""
DEFAULT_PERCENTS: tuple[float, ...] = tuple(float(p) for p in range(10, 101, 10))
DEFAULT_BASE_EPOCHS = 5
"""Base training epochs (the thesis trained 50). On the default Reber task the dense GRU and
LSTM reach full test accuracy within 5, and longer training does not make the model more
robust to pruning (``benchmarks/prune_diagnose.py``)."""
DEFAULT_RETRAIN_EPOCHS = 10
PRUNING_STEPS_PER_EPOCH = 10
"""Gradual method: pruning steps (Zhu & Gupta's dt) per retraining epoch."""
RAMANUJAN_STEP_EPOCHS = 1
"""Ramanujan method: retraining epochs between two of its pruning steps (each prunes 10 % of
a matrix's remaining weights), before the ``retrain_epochs`` that follow the last step."""


@dataclass(frozen=True)
class PruneSpec:
    """One pruning experiment; defaults follow the issue (Adam 1e-3, batch 32, 10 retraining
    epochs, 10..100 % in steps of 10, target ``both``).

    ``percents`` may be empty (only the equal-sparsity comparison runs). ``tolerance`` is the
    accuracy gap (a fraction: 0.005 = 0.5 points) within which the base accuracy counts as
    regained.
    """

    cell: str = "gru"
    targets: tuple[str, ...] = ("both",)
    percents: tuple[float, ...] = DEFAULT_PERCENTS
    method: str = "magnitude"
    epochs: int = DEFAULT_BASE_EPOCHS
    retrain_epochs: int = DEFAULT_RETRAIN_EPOCHS
    batch_size: int = 32
    lr: float = 1e-3
    tolerance: float = 0.005
    hidden_size: int = 50
    num_layers: int = 3
    embedding_dim: int = DEFAULT_EMBEDDING_DIM
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        check_cell(self.cell)
        if not self.targets:
            raise SparseNASError(f"give at least one pruning target ({', '.join(TARGETS)})")
        for target in self.targets:
            check_target(target)
        for percent in self.percents:
            check_percent(percent)
        check_choice(self.method, "pruning method", METHODS)
        for name in ("epochs", "retrain_epochs", "hidden_size", "num_layers", "embedding_dim"):
            check_int(getattr(self, name), name, low=1)
        check_fraction(self.tolerance, "tolerance")
        self.base_train()  # batch_size, lr, device

    @property
    def seeds(self) -> tuple[int, int, int, int]:
        """Child seeds of ``seed``: the initial weights, the base training's batch order,
        the retraining's batch order and the structured masks (``mask_seed``)."""
        init, order, retrain, masks = child_seeds(self.seed, 4)
        return init, order, retrain, masks

    def mask_seed(self, target: str, percent: float) -> int:
        """The seed of the structured masks of one ``target`` and ``percent``: a method's
        masks do not depend on which other methods or percents run."""
        method = METHODS.index(self.method)
        return derive_seed(self.seeds[3], method, TARGETS.index(target), round(percent * 1000))

    def base_train(self) -> TrainSpec:
        return TrainSpec(self.epochs, self.batch_size, self.lr, device=self.device)

    def retrain(self) -> TrainSpec:
        return TrainSpec(self.retrain_epochs, self.batch_size, self.lr, device=self.device)


def check_percent(percent: object) -> float:
    """Return ``percent`` as a float if it is a number in [0, 100], else raise naming it."""
    return check_real(percent, "percent", low=0.0, high=100.0)


def parse_percents(text: str) -> tuple[float, ...]:
    """``"10,20,90"`` -> ``(10.0, 20.0, 90.0)``; every value in [0, 100]."""
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            value = float(item.rstrip("%"))
        except ValueError:
            raise SparseNASError(f"percent must be a number in [0, 100] (got {item!r})") from None
        values.append(check_percent(value) if math.isfinite(value) else check_percent(item))
    if not values:
        raise SparseNASError(f"give at least one percent, e.g. 10,50,90 (got {text!r})")
    return tuple(values)


def parse_targets(text: str) -> tuple[str, ...]:
    """``"i2h,h2h"`` -> ``("i2h", "h2h")``; each one of ``models.pruning.TARGETS``."""
    targets = tuple(check_target(t.strip()) for t in text.split(",") if t.strip())
    if not targets:
        raise SparseNASError(f"give at least one pruning target ({', '.join(TARGETS)})")
    return tuple(dict.fromkeys(targets))


def check_match_source(match: Path | None, rank: object, cell: str | None = None) -> None:
    """The ``--match`` / ``--rank`` pair, checked from the paths alone (before torch): a rank
    of at least 1, a rank other than 1 only with a search's out dir (``check_run_dir``), and
    a graph file that reads as a graph (``resolve_match`` reads them)."""
    check_int(rank, "rank", low=1)
    if match is None:
        if rank != 1:
            raise SparseNASError("a rank needs a search's out dir to match")
        return
    if Path(match).is_dir():
        check_run_dir(match)
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no readable config
            searched = json.loads((Path(match) / CONFIG).read_text(encoding="utf-8")).get("cell")
            if searched is not None and cell is not None:  # else resolve_match checks its row
                check_same_cell(match, searched, cell)
    elif rank != 1:
        raise SparseNASError(f"a rank needs a search's out dir; '{match}' is a file")
    else:
        read_graph(match)  # networkx only; resolve_match reads it again for the experiment


def resolve_match(match: Path | None, rank: int, cell: str) -> tuple[nx.Graph | None, str]:
    """The Sparse-RNN graph to match and a label naming it: a graph file, or a search
    out dir's RANK-th best network (its cell must be ``cell``: the weight count depends on
    it). No torch: ``nas prune`` resolves it with its other checks (a run dir's ranking
    imports pandas and Optuna)."""
    check_match_source(match, rank, cell)
    if match is None:
        return None, ""
    if not match.is_dir():
        return read_graph(match), str(match)
    from nas.search.results import ranked_run_graph

    graph, row = ranked_run_graph(match, rank)
    check_same_cell(match, row.get("cell"), cell)
    return graph, f"{match} rank {rank} (trial {int(row['trial'])}, acc {row['test_acc']:.4f})"


def check_same_cell(match: Path, searched: object, cell: str) -> None:
    """The search's networks (``searched``) have the cell to prune: the weight count to
    match depends on it."""
    if searched != cell:
        raise SparseNASError(
            f"'{match}' searched {searched} networks, not {cell}: match the same cell"
        )


def planned_epochs(spec: PruneSpec, match: bool) -> int:
    """Training epochs a run will take (for a progress bar)."""
    runs = len(spec.targets) * len(spec.percents)
    extra = (2 * spec.retrain_epochs + spec.epochs) if match else 0
    return spec.epochs + runs * spec.retrain_epochs + extra
