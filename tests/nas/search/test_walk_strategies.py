"""Regularized evolution and local search: their rules on hand-made studies, and real seeded
searches (resumed after Ctrl-C, and two workers on one study) whose trials obey them."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

import models.engine.stream
from graphs.generators import GraphSpec
from graphs.io import edges_from_string, edges_to_string
from models.engine.stream import _train_epoch as real_train_epoch
from nas.search import SearchInterrupted, SearchSpec, run_search
from nas.search.records import counts_toward_budget
from nas.search.space import SearchSpace
from nas.search.strategies.base import LOCAL_STREAM, MOVE_STREAM, Warm
from nas.search.strategies.evolution import EvolutionStrategy
from nas.search.strategies.local import LocalSearchStrategy
from nas.search.strategies.neighbours import NEIGHBOURHOOD, Neighbourhoods
from predictors import ALL
from tests.search_processes import env, tiny_csv

SPACE = SearchSpace(("ws", "ba", "er"), (10, 14))
PARAMS = {"family": "ws", "nodes": 12, "ws_k": 4, "ws_p": 0.3, "graph_seed": 0}


def graph(seed: int, nodes: int = 12) -> str:
    return edges_to_string(GraphSpec("ws", nodes, k=4, p=0.3).build(seed))


def finished(number: int, edges: str, acc: float, **attrs) -> optuna.trial.FrozenTrial:
    trial = create_trial(
        state=TrialState.COMPLETE, value=acc, params={"nodes": 12},
        distributions={"nodes": IntDistribution(10, 14)},
        user_attrs={"edge_list": edges, "status": "ok", "valid_acc": acc, **attrs},
    )  # fmt: skip
    trial.number = number
    return trial


# -- the rules, on hand-made trials ---------------------------------------------------------------


def test_a_neighbourhood_is_one_move_away_and_the_same_for_the_same_graph():
    hoods = Neighbourhoods((10, 14), seed=3, stream=LOCAL_STREAM)
    edges = graph(0)
    first = hoods.of(PARAMS, edges)
    assert len(first) == NEIGHBOURHOOD and len({n.edges for n in first}) == NEIGHBOURHOOD
    again = Neighbourhoods((10, 14), seed=3, stream=LOCAL_STREAM).of(PARAMS, edges)
    assert [n.edges for n in again] == [n.edges for n in first]  # rebuilt, not remembered
    other = Neighbourhoods((10, 14), seed=4, stream=LOCAL_STREAM).of(PARAMS, edges)
    assert [n.edges for n in other] != [n.edges for n in first]
    parent = edges_from_string(edges)
    for n in first:
        child = edges_from_string(n.edges)
        assert n.params == PARAMS and nx.is_connected(child) and n.edges != edges
        nodes_changed = child.number_of_nodes() - parent.number_of_nodes()
        if n.move.startswith(("add edge", "remove edge")):  # exactly one edge differs
            assert nodes_changed == 0
            assert len(set(map(frozenset, child.edges)) ^ set(map(frozenset, parent.edges))) == 1
        elif n.move.startswith("add node"):
            assert nodes_changed == 1
        elif n.move.startswith("remove node"):
            assert nodes_changed == -1


def test_in_a_fixed_set_the_neighbours_are_the_nearest_members():
    graphs = [GraphSpec("ws", n, k=4, p=0.0).build(0) for n in (10, 11, 12, 13, 14)]
    members = [
        ({**PARAMS, "nodes": n}, g) for n, g in zip((10, 11, 12, 13, 14), graphs, strict=True)
    ]
    hoods = Neighbourhoods((10, 14), 0, LOCAL_STREAM, members, "gru", ("nodes",), size=2)
    near = hoods.of(members[0][0], edges_to_string(graphs[0]))
    assert [n.params["nodes"] for n in near] == [11, 12]  # rings differ only in size
    assert [n.params["nodes"] for n in hoods.of({}, edges_to_string(graphs[2]))] == [11, 13]


def test_evolution_ages_out_the_oldest_and_mutates_a_tournament_winner():
    trials = [finished(i, graph(i), acc) for i, acc in enumerate([0.99, 0.5, 0.7, 0.6])]
    hoods = Neighbourhoods((10, 14), seed=0, stream=LOCAL_STREAM)
    strategy = EvolutionStrategy(hoods, seed=0, population=3, tournament=3)
    assert [t.number for t, _ in strategy.members(trials)] == [1, 2, 3]  # 0 aged out
    proposals = strategy.propose(trials, 5, round_index=1)
    assert len(proposals) == 5 and len({p.attrs["edge_list"] for p in proposals}) == 5
    children = {n.edges for n in hoods.of(PARAMS, graph(2))}
    for p in proposals:  # the whole population in the tournament: the best member wins
        assert p.attrs["parent"] == 2 and p.attrs["origin"] == "evolution"
        assert p.attrs["edge_list"] in children
    small = EvolutionStrategy(hoods, seed=0, population=3, tournament=2)
    parents = [p.attrs["parent"] for p in small.propose(trials, 20, round_index=1)]
    assert set(parents) == {2, 3}  # a pair never won by its worse member; 1 loses every pair
    assert small.propose(trials, 4, 1) == small.propose(trials, 4, 1)
    assert small.propose(trials, 4, 1) != small.propose(trials, 4, 2)
    assert small.warmup_left(1) == 2 and small.warmup_left(3) == 0
    assert small.propose([], 4, 1) == []


def test_local_search_climbs_to_a_better_neighbour_and_restarts_at_an_optimum():
    hoods = Neighbourhoods((10, 14), seed=0, stream=LOCAL_STREAM, size=3)
    strategy = LocalSearchStrategy(SPACE, hoods, seed=0, warmup_trials=2)
    trials = [finished(0, graph(0), 0.6), finished(1, graph(1), 0.5)]
    first = strategy.propose(trials, 2, 1)
    home = hoods.of(PARAMS, graph(0))
    assert [p.attrs["edge_list"] for p in first] == [n.edges for n in home[:2]]
    assert {p.attrs["parent"] for p in first} == {0}
    # the first neighbour is better: the walk moves there, its neighbours come next
    trials += [finished(2, home[0].edges, 0.8), finished(3, home[1].edges, 0.55)]
    assert strategy.incumbent(trials).number == 2
    moved = strategy.propose(trials, 2, 2)
    assert {p.attrs["parent"] for p in moved} == {2}
    assert {p.attrs["edge_list"] for p in moved} <= {
        n.edges for n in hoods.of(PARAMS, home[0].edges)
    }
    # every neighbour of trial 2 finished and worse: a local optimum, so one restart
    number = 4
    for n in hoods.of(PARAMS, home[0].edges):
        if n.edges not in {t.user_attrs["edge_list"] for t in trials}:
            trials.append(finished(number, n.edges, 0.1))
            number += 1
    assert strategy.incumbent(trials).number == 2
    (restart,) = strategy.propose(trials, 2, 3)
    assert restart.attrs["origin"] == "restart" and set(restart.params) >= {"family", "nodes"}
    trials.append(finished(number, restart.attrs["edge_list"], 0.3, origin="restart"))
    assert strategy.incumbent(trials).number == number  # a new walk, though worse than 0.8
    # a neighbour of trial 2 still training: whether 2 is an optimum is not known yet
    last = trials[-2].user_attrs["edge_list"]
    still = create_trial(state=TrialState.RUNNING, user_attrs={"edge_list": last})
    assert strategy.propose([*trials[:-2], still], 2, 3) == []


# -- real searches --------------------------------------------------------------------------------


def tiny(tmp_path, strategy: str, **changes) -> SearchSpec:
    settings = dict(
        cell="gru", budget=9, epochs=1, nodes=(10, 12), n_strings=200, round_size=3,
        out=str(tmp_path / "run"), pruner="none", strategy=strategy, seed=5,
    )  # fmt: skip
    return SearchSpec(**(settings | changes))


def check_rules(study: optuna.Study, spec: SearchSpec) -> list[str]:
    """Every proposal of the study obeys its strategy, given the trials of earlier rounds;
    returns the trials' origins."""
    space = SearchSpace(spec.families, spec.nodes)
    strategy = EvolutionStrategy if spec.strategy == "evolution" else LocalSearchStrategy
    strategy = strategy.from_spec(spec, space, Warm(ALL))
    trials = study.get_trials()
    for trial in trials:
        attrs = trial.user_attrs
        if attrs.get("origin") not in ("evolution", "local"):
            continue
        before = [t for t in trials if t.user_attrs.get("round", 0) < attrs["round"]]
        before = [t for t in before if t.state.is_finished()]
        parent = study.trials[attrs["parent"]]
        hood = strategy.neighbourhoods.of(parent.params, parent.user_attrs["edge_list"])
        assert attrs["edge_list"] in {n.edges for n in hood}
        assert trial.params == parent.params
        if spec.strategy == "evolution":
            assert parent.number in {t.number for t, _ in strategy.members(before)}
        else:
            assert strategy.incumbent(before).number == parent.number
    return [t.user_attrs.get("origin") for t in trials]


@pytest.mark.parametrize("name", ["evolution", "local"])
def test_a_seeded_search_resumes_after_ctrl_c_and_obeys_its_strategy(tmp_path, monkeypatch, name):
    whole = run_search(tiny(tmp_path / "whole", name))
    origins = check_rules(whole, tiny(tmp_path / "whole", name))
    assert origins[:3] == ["warm-up"] * 3 and set(origins[3:]) - {"restart", "random"} == {name}
    assert sum(counts_toward_budget(t) for t in whole.get_trials()) == 9

    def interrupt_the_third_round(stack, optimizer, slots, *args):
        if any(slot.candidate.key >= 6 for slot in slots):
            raise KeyboardInterrupt
        return real_train_epoch(stack, optimizer, slots, *args)

    spec = tiny(tmp_path / "cut", name)
    monkeypatch.setattr(models.engine.stream, "_train_epoch", interrupt_the_third_round)
    with pytest.raises(SearchInterrupted) as stop:
        run_search(spec)
    assert stop.value.done == 6
    monkeypatch.setattr(models.engine.stream, "_train_epoch", real_train_epoch)
    resumed = run_search(spec)
    trials = resumed.get_trials()
    assert sum(counts_toward_budget(t) for t in trials) == 9
    assert all(t.state.is_finished() for t in trials)
    check_rules(resumed, spec)

    def trained(study):
        done = [t for t in study.get_trials() if t.state == TrialState.COMPLETE]
        return sorted(t.user_attrs["edge_list"] for t in done)

    assert trained(resumed) == trained(whole)  # the interrupted round trained as it was chosen


@pytest.mark.slow
@pytest.mark.parametrize("name", ["evolution", "local"])
def test_two_workers_walk_one_study(tmp_path, name):
    data = tiny_csv(tmp_path / "parity.csv")
    spec = SearchSpec(
        cell="gru", budget=12, epochs=1, nodes=(10, 12), task=f"csv:{data}", round_size=2,
        out=str(tmp_path / "run"), pruner="none", strategy=name,
    )  # fmt: skip
    script = (  # a process of its own: run_search(workers=2) makes its caller one-threaded
        "import json, sys; from nas.search import SearchSpec, run_search; "
        "run_search(SearchSpec.from_json(json.loads(sys.argv[1])), workers=2)"
    )
    command = [sys.executable, "-c", script, json.dumps(spec.to_json())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env())
    assert result.returncode == 0, result.stderr
    spec = spec.resolved()
    study = optuna.load_study(study_name=spec.study, storage=spec.storage)
    trials = study.get_trials()
    assert sum(counts_toward_budget(t) for t in trials) == 12
    # proposals left queued when the budget ran out stay for a later, larger budget
    assert {t.state for t in trials if not t.state.is_finished()} <= {TrialState.WAITING}
    assert len({t.user_attrs["worker"] for t in trials if counts_toward_budget(t)}) == 2
    walked = [t for t in trials if t.user_attrs.get("origin") == name]
    assert walked
    stream = LOCAL_STREAM if name == "local" else MOVE_STREAM
    hoods = [Neighbourhoods(spec.nodes, seed, stream) for seed in (spec.seed, spec.seed + 1)]
    for trial in walked:  # a child of a finished trial, by one of the two workers (seeds 0, 1)
        parent = study.trials[trial.user_attrs["parent"]]
        # a proposal still queued (WAITING) holds its parameters as Optuna's fixed_params
        asked = trial.state != TrialState.WAITING
        params = trial.params if asked else trial.system_attrs["fixed_params"]
        assert parent.state.is_finished() and params == parent.params
        edges = parent.user_attrs["edge_list"]
        children = {n.edges for h in hoods for n in h.of(parent.params, edges)}
        assert trial.user_attrs["edge_list"] in children
