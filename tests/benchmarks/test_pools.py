"""The committed tabular benchmarks (benchmarks/data/pools/): each pool holds the graphs its
manifest says, drawn by the command it names, with every training seed it claims."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphs.io import edges_to_string
from nas.search.space import SearchSpace
from nas.search.spec import parse_nodes

POOLS = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "pools"
MANIFEST = json.loads((POOLS / "manifest.json").read_text())


def _pool(entry: dict) -> pd.DataFrame:
    return pd.read_csv(POOLS / entry["file"])


@pytest.mark.parametrize("entry", MANIFEST["pools"], ids=lambda e: e["cell"])
def test_a_pool_has_the_shape_its_manifest_gives(entry):
    table = _pool(entry)
    assert set(table["cell"]) == {entry["cell"]}
    assert set(table["family"]) <= set(entry["families"])
    low, high = parse_nodes(entry["nodes"])
    assert table["nodes"].between(low, high).all()
    # one row per (graph, training seed), graph ids 0 .. graphs - 1
    assert not table.duplicated(["graph_id", "train_seed"]).any()
    ids = set(table["graph_id"])
    assert ids <= set(range(entry["graphs"]))
    assert len(ids) == entry["graphs"] or not entry["complete"]
    seeds = table.groupby("graph_id")["train_seed"].apply(frozenset)
    full = frozenset(range(entry["train_seeds"]))
    assert (seeds == full).sum() == entry["graphs_with_every_seed"]
    assert len(table) == entry["rows"]
    if entry["complete"]:
        assert entry["graphs_with_every_seed"] == entry["graphs"] and entry["graphs"] >= 1000
        assert len(table) == entry["graphs"] * entry["train_seeds"]
    ok = table["status"].eq("ok")
    for column in ("valid_acc", "test_acc"):
        assert table.loc[ok, column].between(0, 1).all()


@pytest.mark.parametrize("entry", MANIFEST["pools"], ids=lambda e: e["cell"])
def test_a_pools_graphs_are_the_ones_its_command_draws(entry):
    """The first graphs, drawn again from the search space with the command's seed, have
    the pool's parameters and edges (a pool of other graphs would fail)."""
    table = _pool(entry).query("train_seed == 0").set_index("graph_id").sort_index()
    space = SearchSpace(tuple(entry["families"]), parse_nodes(entry["nodes"]))
    drawn = space.connected_samples(np.random.default_rng(entry["seed"]), 12)
    for graph_id, (params, graph) in enumerate(drawn):
        row = table.loc[graph_id]
        assert row["family"] == params["family"] and row["nodes"] == params["nodes"]
        assert row["graph_seed"] == params["graph_seed"]
        assert row["edge_list"] == edges_to_string(graph)
