"""Take a found network away (``nas export``) and run it on new text (``nas infer``).

A search keeps the trained weights of its best networks only: ``best/trial-NNNNN.pt`` for
the top ``keep_best`` trials (accuracy objective; the whole Pareto front for ``pareto``),
written by the process that trained them. ``export_network`` exports the network of a
ranking position whose weights are there; for any other rank it says which ranks it can
export and how to train that graph again, and never retrains silently.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from core.checks import check_int
from core.errors import SparseNASError
from core.jsonsafe import json_safe
from graphs.families import FAMILIES
from graphs.io import edges_from_string, read_graph
from graphs.properties import PROPERTY_NAMES
from models.cells import DEFAULT_EMBEDDING_DIM
from models.export import (
    ExportedNetwork,
    build_network,
    load_exported,
    load_weights,
    save_exported,
)
from nas.reports.data import load_run
from nas.reports.ranking import ranking
from nas.search.results import BEST_DIR, best_file
from nas.tasks import load_task
from nas.tasks.encoding import split_tokens
from predictors import library_versions

TOKENISATION = (
    "characters; whitespace-separated tokens when the text has inner whitespace "
    "(nas.tasks.encoding.split_tokens)"
)


LENGTH_FACTOR = 4
"""An input may be this many times longer than the longest training sequence."""
UNRECORDED_LONGEST = 1000
"""The most tokens per input for an export made before the card recorded its training lengths."""
MAX_INPUTS = 10_000
"""Inputs per ``nas infer`` call: the network runs on all of them at once."""


def export_network(
    run_dir: str | Path, rank: int, out: str | Path, *, force: bool = False
) -> dict[str, Any]:
    """Export the ``rank``-th best network of a search's out dir (1 = best; the order of
    ``nas rank``) into ``out``; returns its card.

    Raises
    ------
    SparseNASError
        If the run has fewer finished networks, the network's weights were not kept, the
        task cannot be rebuilt (a CSV file moved), ``out`` cannot be written, or ``out``
        already holds files and ``force`` is not set (an earlier export, or someone's
        card.json, is never overwritten unasked).
    """
    check_int(rank, "rank", low=1)
    taken = Path(out)
    if not force and taken.is_dir() and any(taken.iterdir()):
        raise SparseNASError(
            f"'{taken}' already holds files; choose another --out, or pass --force to "
            "overwrite the export there"
        )
    folder = Path(run_dir)
    run = load_run(folder)
    table = ranking(run.frame)
    if len(table) < rank:
        raise SparseNASError(
            f"'{folder}' has {len(table)} finished networks; rank {rank} is beyond"
        )
    row = table.iloc[rank - 1]
    trial = int(row["trial"])
    weights = best_file(folder, trial, ".pt")
    if not weights.is_file():
        kept = [
            r
            for r in range(1, len(table) + 1)
            if best_file(folder, _trial(table, r), ".pt").is_file()
        ]
        shown = ", ".join(map(str, kept)) or "none"
        raise SparseNASError(
            f"rank {rank} (trial {trial}) has no saved weights: a search keeps the trained "
            f"weights of its best networks only ({BEST_DIR}/, keep_best); ranks with weights "
            f"here: {shown}. Train its graph again with `nas evaluate --graph` on the "
            "edge list in `nas rank --json`"
        )
    config = run.config
    if not config.get("cell") or not config.get("task"):
        raise SparseNASError(f"'{folder}' has no config.json saying the cell and task")
    task = load_task(str(config["task"]), int(config.get("task_seed", 0)), config.get("n_strings"))
    graph = _graph(folder, trial, row)
    card = _card(run, row, task, config)
    model = build_network(graph, card)
    load_weights(model, weights)
    save_exported(model, graph, card, out)
    return load_exported(out).card


def _trial(table, rank: int) -> int:
    return int(table.iloc[rank - 1]["trial"])


def _graph(folder: Path, trial: int, row) -> Any:
    saved = best_file(folder, trial, ".graphml")
    if saved.is_file():
        return read_graph(saved)
    return edges_from_string(str(row["edge_list"]))


def _card(run, row, task, config: dict[str, Any]) -> dict[str, Any]:
    frame = run.frame.set_index("trial")
    full = frame.loc[int(row["trial"])]
    if task.vocab_size is not None:
        if task.vocabulary is None:
            raise SparseNASError(f"task {task.name!r} does not name its tokens; cannot export it")
        source = {
            "kind": "tokens",
            "vocab_size": task.vocab_size,
            "vocabulary": {token: i + 1 for i, token in enumerate(task.vocabulary)},
            "padding_id": 0,
            "tokenisation": TOKENISATION,
            "longest_trained": int(task.train.lengths.max()),
        }
    else:
        source = {"kind": "features", "n_features": task.n_features}
    properties = {name: json_safe(full.get(name)) for name in PROPERTY_NAMES if name in full}
    return {
        "cell": config["cell"],
        "task": config["task"],
        "task_seed": config.get("task_seed", 0),
        "n_strings": config.get("n_strings"),
        "n_classes": task.n_classes,
        "class_names": list(task.class_names or [str(c) for c in range(task.n_classes)]),
        "input": source,
        "embedding_dim": DEFAULT_EMBEDDING_DIM,  # what every search trains with
        "readout": config.get("readout", "last"),  # runs recorded before it read the last layer
        "rank": int(row["rank"]),
        "trial": int(row["trial"]),
        "study": config.get("study"),
        "valid_acc": json_safe(row.get("valid_acc")),
        "test_acc": float(row["test_acc"]),
        "epochs": json_safe(row.get("epochs")),
        "family": json_safe(full.get("family")),
        "graph_params": {
            k: json_safe(full.get(k)) for k in (*FAMILIES.parameter_names(), "graph_seed")
        },
        "layer_sizes": json_safe(full.get("layer_sizes")),
        "properties": properties,
        "seeds": {"search": config.get("seed"), "train": json_safe(full.get("train_seed"))},
        "versions": {
            "sparse-rnn-nas": _version("sparse-rnn-nas"),
            "torch": torch.__version__,
            "optuna": _version("optuna"),
            **library_versions(),
            "platform": platform.platform(),
        },
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


# -- inference -----------------------------------------------------------------------------------


def infer_texts(folder: str | Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Run an exported network on ``texts``: per text its class, that class's probability
    and every class's probability.

    Raises
    ------
    SparseNASError
        For a bad export folder, no text, an empty text, a symbol outside the network's
        vocabulary, or a network that reads float features (not text).
    """
    network = load_exported(folder)
    inputs, lengths = encode_texts(network, texts)
    with torch.no_grad():
        probabilities = torch.softmax(network.model(inputs, lengths), dim=1)
    names = network.card.get("class_names") or [str(c) for c in range(probabilities.shape[1])]
    results = []
    for text, row in zip(texts, probabilities.tolist(), strict=True):
        best = max(range(len(row)), key=row.__getitem__)
        results.append(
            {
                "input": text,
                "class": names[best],
                "probability": row[best],
                "probabilities": dict(zip(names, row, strict=True)),
            }
        )
    return results


def encode_texts(
    network: ExportedNetwork, texts: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (padded with 0) and lengths of ``texts`` in the export's vocabulary."""
    source = network.card["input"]
    if source.get("kind") != "tokens":
        raise SparseNASError(
            f"this network reads {source.get('n_features')} float features per step "
            f"(task {network.card.get('task')}), not text"
        )
    if not texts:
        raise SparseNASError("give at least one input text")
    if len(texts) > MAX_INPUTS:
        raise SparseNASError(
            f"give at most {MAX_INPUTS} input texts per call (got {len(texts)}); split the file"
        )
    limit = longest_input(source)
    vocabulary: dict[str, int] = source["vocabulary"]
    rows = []
    for number, text in enumerate(texts, start=1):
        tokens = split_tokens(text)
        if not tokens:
            raise SparseNASError(f"input {number} is empty")
        if len(tokens) > limit:
            raise SparseNASError(
                f"input {number} has {len(tokens)} tokens; this network reads at most {limit} "
                f"({_length_reason(source)})"
            )
        unknown = sorted({t for t in tokens if t not in vocabulary})
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:5])
            raise SparseNASError(
                f"input {number} ({text!r}) has symbol(s) {shown} outside the network's "
                f"vocabulary of {len(vocabulary)} tokens ({_vocabulary_text(vocabulary)})"
            )
        rows.append([vocabulary[t] for t in tokens])
    longest = max(len(row) for row in rows)
    inputs = torch.zeros((len(rows), longest), dtype=torch.int64)
    for index, row in enumerate(rows):
        inputs[index, : len(row)] = torch.tensor(row)
    return inputs, torch.tensor([len(row) for row in rows], dtype=torch.int64)


def longest_input(source: dict[str, Any]) -> int:
    """The most tokens one input may have: ``LENGTH_FACTOR`` times the longest sequence the
    network was trained on (a recurrent network may carry over to somewhat longer strings,
    not to any length), or ``UNRECORDED_LONGEST`` for an export that does not record it."""
    trained = source.get("longest_trained")
    return LENGTH_FACTOR * int(trained) if trained else UNRECORDED_LONGEST


def _length_reason(source: dict[str, Any]) -> str:
    trained = source.get("longest_trained")
    if trained:
        return f"{LENGTH_FACTOR} times its longest training sequence, {trained} tokens"
    return "the bound for an export that does not record its training lengths"


def _vocabulary_text(vocabulary: dict[str, int]) -> str:
    tokens = list(vocabulary)
    return " ".join(tokens) if len(tokens) <= 30 else " ".join(tokens[:30]) + " ..."
