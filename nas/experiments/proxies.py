"""Zero-cost proxies of a table's graphs (``models.proxies``), as feature columns.

Each graph is wired into the untrained ``SparseRNNClassifier`` of the task, initialised from
``init_seed`` (``models.evaluation`` starts a network of training seed s from
``child_seeds(s, 2)[0]``), and scored on one batch: the first ``batch_size`` training
sequences. The columns are named ``predictors.features.PROXY_FEATURES``
(``proxy_<name>``), so ``nas predictor eval --features proxies`` (or ``all+proxies``) reads a
table they were added to, and each column alone is a ranker.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch

from core.checks import check_int
from core.errors import SparseNASError
from graphs.dag import layered_dag
from graphs.io import edges_from_string
from models.cells import check_cell
from models.data import Task
from models.networks import SparseRNNClassifier
from models.proxies import PROXIES, zero_cost_proxies
from predictors.features import PROXY_FEATURES

BATCH_SIZE = 64


def proxy_columns(
    edge_lists: list[str],
    cell: str,
    task: Task,
    *,
    init_seed: int = 0,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """One row of ``PROXY_FEATURES`` per edge list, in order.

    Raises
    ------
    SparseNASError
        For an unknown cell, a bad batch size or an unreadable edge list.
    """
    check_cell(cell)
    check_int(batch_size, "batch_size", low=2)
    rows = task.train.subset(torch.arange(min(batch_size, len(task.train))))
    out = []
    for edges in edge_lists:
        if not isinstance(edges, str) or not edges.strip():
            raise SparseNASError(f"a row has no edge list to score (got {edges!r})")
        dag = layered_dag(edges_from_string(edges))
        model = SparseRNNClassifier.for_task(dag, cell, task, seed=init_seed)
        scores = zero_cost_proxies(model, rows.inputs, rows.lengths, rows.labels)
        out.append([scores[name] for name in PROXIES])
        if progress is not None:
            progress()
    return pd.DataFrame(out, columns=list(PROXY_FEATURES))
