"""``GNNRegressor``: a small graph neural network that reads a topology's wiring itself,
where the other regressors read hand-computed properties of it.

Each graph is its layered DAG (``graphs.dag.layered_dag``, the orientation the Sparse-RNN is
wired by). Node features: the layer index, the layer as a share of the depth, the in- and
out-degree, and whether the node is a source or a sink (standardised over the training
graphs). ``GNN_LAYERS`` message-passing layers in the manner of GIN (Xu et al. 2019), with
the predecessors' and the successors' sums kept apart since the DAG is directed:
``h <- h + MLP([h, sum of predecessors' h, sum of successors' h])``; the graph is read out
by the mean and the max over its nodes and its log node and edge counts, then an MLP. The
whole training set is one batch (graphs as blocks of one sparse graph), trained with Adam
on the standardised target. ``n_members`` networks from different seeds form an ensemble:
the prediction is their mean, the uncertainty their standard deviation (as in BANANAS,
White et al. 2021).

``X`` is the graphs, not a feature matrix: a DataFrame with an ``edge_list`` column, or a
sequence of edge-list strings (``graphs.io``). Plain PyTorch; scikit-learn's estimator API
(``get_params``, ``clone``, fitted state in ``*_`` attributes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from core.errors import SparseNASError
from core.seeds import child_seeds
from graphs.dag import layered_dag
from graphs.io import edges_from_string

NODE_FEATURES: tuple[str, ...] = (
    "layer",
    "depth_share",
    "in_degree",
    "out_degree",
    "source",
    "sink",
)
GNN_LAYERS = 3
EDGE_COLUMN = "edge_list"


def edge_lists(X) -> list[str]:
    """The edge lists of ``X`` (a frame with an ``edge_list`` column, a one-column 2-D array
    or a sequence of strings); a SparseNASError for anything else."""
    if hasattr(X, "columns"):
        if EDGE_COLUMN not in X.columns:
            raise SparseNASError("the gnn predictor reads graphs: X needs an edge_list column")
        values = X[EDGE_COLUMN].tolist()
    else:
        array = np.asarray(X, dtype=object)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise SparseNASError(
                f"the gnn predictor reads one edge list per row (got an array of shape "
                f"{array.shape})"
            )
        values = array.tolist()
    bad = [v for v in values if not isinstance(v, str) or not v.strip()]
    if bad:
        raise SparseNASError(f"the gnn predictor needs an edge list on every row (got {bad[0]!r})")
    return values


def node_features(edges: str) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, ``NODE_FEATURES``) of the graph ``edges`` and its directed edges (2, E)."""
    dag = layered_dag(edges_from_string(edges))
    n = dag.n_nodes
    pairs = np.array(dag.edges, dtype=np.int64).reshape(-1, 2).T
    indegree = np.bincount(pairs[1], minlength=n)
    outdegree = np.bincount(pairs[0], minlength=n)
    layer = np.asarray(dag.layer_of, dtype=float)
    share = layer / max(dag.n_layers - 1, 1)
    features = np.column_stack(
        [layer, share, indegree, outdegree, indegree == 0, outdegree == 0]
    ).astype(float)
    return features, pairs


class _Batch:
    """Graphs as the blocks of one graph: node features, edges, and each node's graph."""

    def __init__(self, graphs: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        offsets = np.cumsum([0] + [len(f) for f, _ in graphs])
        self.x = torch.tensor(np.vstack([f for f, _ in graphs]), dtype=torch.float32)
        edges = np.hstack([e + offsets[i] for i, (_, e) in enumerate(graphs)])
        n, src, dst = int(offsets[-1]), torch.tensor(edges[0]), torch.tensor(edges[1])
        ones = torch.ones(len(src))
        # row v sums over v's predecessors (edges u -> v); its transpose over successors
        self.into = _sparse(dst, src, ones, n)
        self.out_of = _sparse(src, dst, ones, n)
        self.graph = torch.repeat_interleave(
            torch.arange(len(graphs)), torch.tensor(np.diff(offsets))
        )
        self.size = torch.tensor(
            [[np.log(len(f)), np.log(max(e.shape[1], 1))] for f, e in graphs], dtype=torch.float32
        )
        self.count = len(graphs)


class _Net(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Linear(len(NODE_FEATURES), hidden)
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            for _ in range(GNN_LAYERS)
        )
        self.head = nn.Sequential(
            nn.Linear(2 * hidden + 2, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )

    def forward(self, x: torch.Tensor, batch: _Batch) -> torch.Tensor:
        h = torch.relu(self.embed(x))
        for conv in self.convs:
            before = torch.sparse.mm(batch.into, h)
            after = torch.sparse.mm(batch.out_of, h)
            h = h + conv(torch.cat([h, before, after], dim=1))
        width = h.shape[1]
        total = torch.zeros(batch.count, width).index_add(0, batch.graph, h)
        mean = total / torch.bincount(batch.graph, minlength=batch.count)[:, None]
        peak = torch.full((batch.count, width), -torch.inf).scatter_reduce(
            0, batch.graph[:, None].expand_as(h), h, "amax", include_self=True
        )
        return self.head(torch.cat([mean, peak, batch.size], dim=1)).squeeze(-1)


class GNNRegressor(RegressorMixin, BaseEstimator):
    """An ensemble of small graph neural networks; see the module docstring.

    Parameters
    ----------
    hidden : width of the node states.
    epochs : full-batch Adam steps per member.
    lr, weight_decay : Adam's settings.
    n_members : networks in the ensemble (>= 2 for a spread).
    random_state : int or None; seeds the members' initialisation.

    Attributes
    ----------
    members_ : the fitted networks' state dicts.
    x_mean_, x_scale_ : node feature standardisation; y_mean_, y_scale_ : target's.
    kind_ : ``"gnn"``.
    """

    def __init__(
        self,
        hidden: int = 32,
        epochs: int = 100,
        lr: float = 0.01,
        weight_decay: float = 1e-4,
        n_members: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.n_members = n_members
        self.random_state = random_state

    def fit(self, X, y):
        """Fit ``n_members`` networks to the graphs ``X`` and accuracies ``y``; returns self."""
        for name in ("hidden", "epochs", "n_members"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise SparseNASError(f"{name} must be a positive integer (got {value!r})")
        graphs = [node_features(e) for e in edge_lists(X)]
        y = np.asarray(y, dtype=float)
        if y.shape != (len(graphs),) or not np.isfinite(y).all() or len(graphs) < 2:
            raise SparseNASError(
                f"the gnn predictor needs a finite target per graph and at least 2 graphs "
                f"(got {len(graphs)} graphs, target of shape {y.shape})"
            )
        stacked = np.vstack([f for f, _ in graphs])
        self.x_mean_ = stacked.mean(axis=0)
        self.x_scale_ = np.where(stacked.std(axis=0) > 0, stacked.std(axis=0), 1.0)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        batch = _Batch(graphs)
        x = self._scaled(batch)
        target = torch.tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        seed = 0 if self.random_state is None else int(self.random_state)
        self.members_ = []
        for member_seed in child_seeds(seed, int(self.n_members)):
            torch_seed = torch.Generator().manual_seed(member_seed)
            net = _init(_Net(int(self.hidden)), torch_seed)
            optimizer = torch.optim.Adam(
                net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay)
            )
            for _ in range(int(self.epochs)):
                optimizer.zero_grad()
                loss = torch.mean((net(x, batch) - target) ** 2)
                loss.backward()
                optimizer.step()
            self.members_.append({k: v.detach().clone() for k, v in net.state_dict().items()})
        self.kind_ = "gnn"
        return self

    def predict(self, X, return_std: bool = False):
        """The ensemble's mean prediction; with ``return_std`` also the members' sd."""
        check_is_fitted(self, "members_")
        batch = _Batch([node_features(e) for e in edge_lists(X)])
        x = self._scaled(batch)
        outputs = []
        with torch.no_grad():
            for state in self.members_:
                net = _Net(int(self.hidden))
                net.load_state_dict(state)
                outputs.append(net(x, batch).numpy().astype(float))
        per_member = np.stack(outputs) * self.y_scale_ + self.y_mean_
        mean = per_member.mean(axis=0)
        return (mean, per_member.std(axis=0)) if return_std else mean

    def tensors(self) -> dict[str, torch.Tensor]:
        """The fitted state as named tensors (what a predictor file stores, no pickle)."""
        check_is_fitted(self, "members_")
        out = {f"member{i}.{k}": v for i, m in enumerate(self.members_) for k, v in m.items()}
        out["x_mean"] = torch.tensor(self.x_mean_)
        out["x_scale"] = torch.tensor(self.x_scale_)
        out["y"] = torch.tensor([self.y_mean_, self.y_scale_], dtype=torch.float64)
        return out

    @classmethod
    def from_tensors(cls, params: dict, tensors: dict[str, torch.Tensor]) -> GNNRegressor:
        """The regressor ``tensors`` (of ``tensors()``) and its ``get_params()`` describe;
        a SparseNASError when they do not fit together."""
        try:
            model = cls(**params)
            members = [
                {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"member{i}.")}
                for i in range(int(model.n_members))
            ]
            for state in members:  # the architecture must take every tensor, and only them
                _Net(int(model.hidden)).load_state_dict(state)
            model.members_ = members
            model.x_mean_ = tensors["x_mean"].numpy().astype(float)
            model.x_scale_ = tensors["x_scale"].numpy().astype(float)
            model.y_mean_, model.y_scale_ = (float(v) for v in tensors["y"])
        except (TypeError, KeyError, RuntimeError, ValueError) as exc:
            raise SparseNASError(
                f"the gnn predictor's tensors do not fit its settings ({exc})"
            ) from None
        model.kind_ = "gnn"
        return model

    def _scaled(self, batch: _Batch) -> torch.Tensor:
        mean = torch.tensor(self.x_mean_, dtype=torch.float32)
        scale = torch.tensor(self.x_scale_, dtype=torch.float32)
        return (batch.x - mean) / scale


def _sparse(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, n: int) -> torch.Tensor:
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]), values, (n, n), check_invariants=True
    ).coalesce()


def _init(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """PyTorch's default Linear initialisation, drawn from ``generator`` (no global seed)."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Linear):
                bound = module.in_features**-0.5
                module.weight.uniform_(-bound, bound, generator=generator)
                module.bias.uniform_(-bound, bound, generator=generator)
    return net
