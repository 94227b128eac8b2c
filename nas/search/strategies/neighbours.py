"""Neighbourhoods of a graph, and what the study knows, for the strategies that walk them
(``evolution``, ``local``).

A graph's neighbourhood is ``NEIGHBOURHOOD`` graphs one local move away
(``nas.search.moves``), drawn by a Generator seeded by (search seed, the graph's edge list):
the same graph always has the same neighbours, so a strategy rebuilt from the study (a
resumed search, another worker) walks the same space. Given a fixed candidate set instead (a
tabular pool, ``benchmarks/replay.py``), a move's result is almost never a member, so the
neighbourhood is the ``NEIGHBOURHOOD`` members nearest the graph in the predictor's features,
standardised over the set: the members a small edit would come closest to.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from optuna.trial import FrozenTrial

from graphs.io import edges_from_string, edges_to_string
from nas.search.moves import mutate
from nas.search.strategies.targets import training_targets
from predictors.features import feature_row

if TYPE_CHECKING:
    from nas.search.space import SearchSpace
    from nas.search.spec import SearchSpec
    from nas.search.strategies.base import Warm

NEIGHBOURHOOD = 24
"""Neighbours of a graph (a NAS-Bench-201 cell has 24)."""
_DRAWS = 4
"""Moves drawn per neighbour wanted before a neighbourhood is left smaller (repeats)."""


@dataclass(frozen=True)
class Neighbour:
    """A graph one move from a parent: its trial parameters (the parent's, as for the
    predictor's local moves: the edge list is what defines it), edge list and move."""

    params: dict[str, Any]
    edges: str
    move: str


class Neighbourhoods:
    """The neighbourhood of any graph; see the module docstring.

    Parameters
    ----------
    nodes : the search space's node range, which moves stay in.
    seed : the search's seed.
    stream : the seed stream (``nas.search.strategies.base``) of the moves.
    candidates : a fixed set of ``(parameters, graph)``, or None for the open space.
    cell, features : the feature row describing a member (fixed set only).
    size : neighbours per graph.
    described : the members' feature rows by edge list, if the caller has them (``Warm``).
    """

    def __init__(
        self,
        nodes: tuple[int, int],
        seed: int,
        stream: int,
        candidates: Sequence[tuple[dict[str, Any], nx.Graph]] | None = None,
        cell: str = "gru",
        features: Sequence[str] = (),
        size: int = NEIGHBOURHOOD,
        described: Mapping[str, tuple[np.ndarray, float]] | None = None,
    ) -> None:
        self.nodes = nodes
        self.seed = seed
        self.stream = stream
        self.candidates = candidates
        self.cell = cell
        self.features = tuple(features)
        self.size = size
        self.described = described
        self._fixed: tuple[list[dict[str, Any]], list[str], np.ndarray] | None = None
        self._cache: dict[str, list[Neighbour]] = {}

    @classmethod
    def for_search(
        cls, spec: SearchSpec, space: SearchSpace, warm: Warm, stream: int
    ) -> Neighbourhoods:
        """A search's neighbourhoods: its space's node range, its seed, its fixed candidate
        set and their feature rows (``Warm``), moves drawn from ``stream``."""
        return cls(
            space.nodes,
            spec.seed,
            stream,
            warm.candidates,
            spec.cell,
            warm.features,
            described=warm.described,
        )

    def of(self, params: dict[str, Any], edges: str) -> list[Neighbour]:
        """The neighbours of the graph ``edges`` (a trial with parameters ``params``)."""
        if edges not in self._cache:
            if self.candidates is None:
                self._cache[edges] = self._moves(params, edges)
            else:
                self._cache[edges] = self._nearest(edges)
        return self._cache[edges]

    def members(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The fixed set's parameters and edge lists (restarts draw from them)."""
        params, edges, _ = self._fixed_rows()
        return params, edges

    def _moves(self, params: dict[str, Any], edges: str) -> list[Neighbour]:
        rng = np.random.default_rng([self.seed, self.stream, zlib.crc32(edges.encode())])
        graph = edges_from_string(edges)
        low, high = self.nodes
        found: dict[str, Neighbour] = {}
        for _ in range(_DRAWS * self.size):
            if len(found) == self.size:
                break
            moved = mutate(graph, rng, min_nodes=low, max_nodes=high)
            if moved is None:
                break
            child = edges_to_string(moved[0])
            if child != edges and child not in found:
                found[child] = Neighbour(dict(params), child, moved[1])
        return list(found.values())

    def _fixed_rows(self) -> tuple[list[dict[str, Any]], list[str], np.ndarray]:
        if self._fixed is None:
            params = [dict(p) for p, _ in self.candidates or ()]
            graphs = [g for _, g in self.candidates or ()]
            edges = [edges_to_string(g) for g in graphs]
            known = self.described or {}
            rows = np.array([
                known[e][0] if e in known else [feature_row(g, self.cell)[f] for f in self.features]
                for e, g in zip(edges, graphs, strict=True)
            ], dtype=float)  # fmt: skip
            scale = rows.std(axis=0)
            rows = (rows - rows.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
            self._fixed = (params, edges, rows)
        return self._fixed

    def _nearest(self, edges: str) -> list[Neighbour]:
        params, members, rows = self._fixed_rows()
        if edges not in members:
            return []
        here = members.index(edges)
        distance = ((rows - rows[here]) ** 2).sum(axis=1)
        distance[here] = np.inf
        order = np.argsort(distance, kind="stable")[: self.size]
        return [Neighbour(dict(params[i]), members[i], f"nearest {rank + 1}") for rank, i in
                enumerate(order.tolist())]  # fmt: skip


def known_targets(trials: Sequence[FrozenTrial]) -> dict[str, float]:
    """The accuracy target (``training_targets``) of every graph the study has finished, the
    best where one was trained twice."""
    edges, targets = training_targets(trials)
    known: dict[str, float] = {}
    for edge_list, target in zip(edges, targets.tolist(), strict=True):
        known[edge_list] = max(target, known.get(edge_list, -np.inf))
    return known


def seen_edges(trials: Sequence[FrozenTrial]) -> set[str]:
    """Edge lists of every trial asked or queued: a strategy never proposes them again."""
    return {t.user_attrs["edge_list"] for t in trials if t.user_attrs.get("edge_list")}
