"""Sequence classifiers: input encoding -> recurrent core -> linear readout (of the last
layer, the DAG's sinks or every neuron: graphs.dag.READOUTS).

:class:`SparseRNNClassifier` wraps the graph-wired core; :class:`DenseRNNClassifier` is the
thesis' dense base model (3 recurrent layers x 50 units) that the pruning baseline starts from.
Token inputs go through an embedding (id 0 is padding); float inputs feed the core directly.
"""

from __future__ import annotations

import torch
from torch import nn

from core.errors import SparseNASError
from graphs.dag import LayeredDAG
from models.cells import DEFAULT_EMBEDDING_DIM, check_cell, nonzero_params, stored_params
from models.data import Task
from models.sparse_rnn import SparseRNN, gather_last, init_linear


def _input_encoder(
    vocab_size: int | None, n_features: int | None, embedding_dim: int, generator: torch.Generator
) -> tuple[nn.Module | None, int]:
    """An embedding for token inputs, or nothing for float features; returns it and its width."""
    if (vocab_size is None) == (n_features is None):
        raise SparseNASError("give exactly one of vocab_size (tokens) and n_features (floats)")
    if vocab_size is None:
        return None, int(n_features)  # type: ignore[arg-type]
    embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
    with torch.no_grad():
        nn.init.normal_(embedding.weight, generator=generator)
        embedding.weight[0].zero_()
    return embedding, embedding_dim


class SparseRNNClassifier(nn.Module):
    """Embedding (or raw features) -> SparseRNN wired by ``dag`` -> linear readout."""

    def __init__(
        self,
        dag: LayeredDAG,
        cell: str,
        n_classes: int,
        *,
        vocab_size: int | None = None,
        n_features: int | None = None,
        embedding_dim: int = DEFAULT_EMBEDDING_DIM,
        seed: int = 0,
        readout: str = "last",
    ) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.embedding, width = _input_encoder(vocab_size, n_features, embedding_dim, generator)
        self.rnn = SparseRNN(dag, cell, width, generator=generator, readout=readout)
        self.readout = init_linear(nn.Linear(self.rnn.output_size, n_classes), generator)

    @classmethod
    def for_task(
        cls,
        dag: LayeredDAG,
        cell: str,
        task: Task,
        *,
        embedding_dim: int = DEFAULT_EMBEDDING_DIM,
        seed: int = 0,
        readout: str = "last",
    ) -> SparseRNNClassifier:
        """The classifier shaped for ``task`` (its classes and its token or float inputs)."""
        return cls(
            dag,
            cell,
            task.n_classes,
            vocab_size=task.vocab_size,
            n_features=task.n_features,
            embedding_dim=embedding_dim,
            seed=seed,
            readout=readout,
        )

    def encode(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.embedding(inputs) if self.embedding is not None else inputs

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes), by the reference recurrence (``SparseRNN.forward``); the
        engine (``models.engine``) trains and tests many networks at once, faster."""
        return self.readout(self.rnn(self.encode(inputs), lengths))


class DenseRNNClassifier(nn.Module):
    """The thesis' dense base model: embedding -> ``num_layers`` x ``hidden_size`` -> linear."""

    def __init__(
        self,
        cell: str,
        n_classes: int,
        *,
        vocab_size: int | None = None,
        n_features: int | None = None,
        embedding_dim: int = DEFAULT_EMBEDDING_DIM,
        hidden_size: int = 50,
        num_layers: int = 3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.cell = check_cell(cell)
        generator = torch.Generator().manual_seed(seed)
        self.embedding, width = _input_encoder(vocab_size, n_features, embedding_dim, generator)
        kinds = {
            "rnn_tanh": lambda **kw: nn.RNN(nonlinearity="tanh", **kw),
            "rnn_relu": lambda **kw: nn.RNN(nonlinearity="relu", **kw),
            "gru": nn.GRU,
            "lstm": nn.LSTM,
        }
        self.rnn = kinds[cell](
            input_size=width, hidden_size=hidden_size, num_layers=num_layers, batch_first=True
        )
        bound = hidden_size**-0.5
        with torch.no_grad():
            for param in self.rnn.parameters():
                nn.init.uniform_(param, -bound, bound, generator=generator)
        self.readout = init_linear(nn.Linear(hidden_size, n_classes), generator)

    def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        encoded = self.embedding(inputs) if self.embedding is not None else inputs
        sequence, _ = self.rnn(encoded)
        return self.readout(gather_last(sequence, lengths))


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """``params_total``: every stored trainable weight; ``params_nonzero``: those not fixed to
    zero by a graph or pruning mask (the network's effective size)."""
    total = nonzero = 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        total += param.numel()
        mask = _mask_for(model, name)
        nonzero += param.numel() if mask is None else int(mask.count_nonzero())
    return {"params_total": total, "params_nonzero": nonzero}


def planned_parameter_counts(
    dag: LayeredDAG,
    cell: str,
    task: Task,
    *,
    embedding_dim: int = DEFAULT_EMBEDDING_DIM,
    readout: str = "last",
) -> dict[str, int]:
    """``parameter_counts`` of the ``SparseRNNClassifier.for_task`` network, from the cell's
    formulas (``models.cells``) without building it."""
    if task.vocab_size is not None:
        width, embedding = embedding_dim, task.vocab_size * embedding_dim
    else:
        width, embedding = int(task.n_features), 0  # type: ignore[arg-type]
    return {
        "params_total": embedding + stored_params(dag, cell, width, task.n_classes, readout),
        "params_nonzero": embedding + nonzero_params(dag, cell, width, task.n_classes, readout),
    }


def _mask_for(model: nn.Module, param_name: str) -> torch.Tensor | None:
    """The graph mask of a parametrized weight (``...parametrizations.W.original``), if any."""
    marker = ".parametrizations."
    if marker not in param_name:
        return None
    owner_path, rest = param_name.split(marker, 1)
    tensor_name = rest.split(".", 1)[0]
    owner = model.get_submodule(owner_path)
    for parametrization in owner.parametrizations[tensor_name]:
        if hasattr(parametrization, "mask"):
            return parametrization.mask
    return None
