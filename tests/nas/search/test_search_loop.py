"""The Optuna-backed search (nas.search.loop): strategies, budget, resume, seeds, failures, files.

Tiny settings throughout: a 200-string Reber task, nodes 10..12, 1-2 epochs, budgets of 4-6
(torch runs on one thread: tests/conftest.py).
"""

import hashlib
import json
import math
import sqlite3
import time
from contextlib import suppress
from pathlib import Path
from types import SimpleNamespace

import networkx as nx
import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from optuna.trial import TrialState, create_trial

import models.engine.stream
import nas.search.asking
import nas.search.loop
import nas.search.storage
from core.errors import SparseNASError
from core.seeds import child_seeds
from graphs.dag import layered_dag
from graphs.generators import GraphSpec
from graphs.io import edges_from_string, edges_to_string, read_graph
from models.engine.stream import _train_epoch as real_train_epoch
from models.evaluation import evaluate_stream as real_evaluate_stream
from models.networks import SparseRNNClassifier
from models.training import train_model
from nas.search import SearchInterrupted, SearchSpec, run_search
from nas.search.moves import mutate
from nas.search.optuna_adapter import rdb_backend, study_id
from nas.search.records import counts_toward_budget, networks_done, pareto_front, trial_status
from nas.search.results import hypervolume
from nas.search.space import SearchSpace, build_graph
from nas.search.storage import open_study
from nas.search.strategies.base import Warm
from nas.search.strategies.predictor import PredictorStrategy
from nas.search.strategies.targets import training_targets
from nas.search.urls import sqlite_path
from nas.tasks import load_task
from predictors import ALL, THESIS

THESIS_TABLE = str(Path(__file__).parents[2] / "data" / "thesis_table.csv")


def tiny(tmp_path, name="run", **changes) -> SearchSpec:
    settings = dict(
        cell="gru",
        budget=6,
        epochs=2,
        nodes=(10, 12),
        n_strings=200,
        round_size=3,
        pool_size=60,
        out=str(tmp_path / name),
        pruner="none",
    )
    return SearchSpec(**(settings | changes))


def backdate(spec: SearchSpec, trial_ids) -> None:
    """Make the trials' last sign of life (heartbeat and start) an hour old in the study's
    SQLite file: what a worker silent for an hour leaves, without waiting against SQLite's
    whole-second clock."""
    db = sqlite3.connect(sqlite_path(spec.resolved().storage))
    with db:
        for trial_id in trial_ids:
            for table, column in (("trial_heartbeats", "heartbeat"), ("trials", "datetime_start")):
                db.execute(
                    f"UPDATE {table} SET {column} = datetime({column}, '-1 hour') "
                    "WHERE trial_id = ?",
                    (trial_id,),
                )
    db.close()


def started(study) -> list:
    return [t for t in study.get_trials() if counts_toward_budget(t)]


def outcome(study) -> list:
    return [
        (t.number, t.state.name, t.params, t.user_attrs.get("test_acc"), t.user_attrs["edge_list"])
        for t in study.get_trials()
    ]


# -- strategies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["random", "tpe", "predictor"])
def test_each_strategy_spends_the_budget_and_writes_its_files(tmp_path, strategy):
    spec = tiny(tmp_path, strategy=strategy)
    events = []
    study = run_search(spec, progress=events.append)
    trials = started(study)
    assert len(trials) == 6 and all(t.state == TrialState.COMPLETE for t in trials)
    for trial in trials:
        assert {"family", "nodes", "graph_seed"} <= set(trial.params)
        graph = edges_from_string(trial.user_attrs["edge_list"])
        assert 10 <= graph.number_of_nodes() <= 12
        assert trial.user_attrs["status"] == "ok"
        assert trial.user_attrs["properties"]["nodes"] == graph.number_of_nodes()
        assert trial.user_attrs["params_nonzero"] > 0 and trial.user_attrs["train_seconds"] > 0
        assert len(trial.user_attrs["metrics"]["acc_by_epoch"]) == 2
    origins = {t.user_attrs["origin"] for t in trials}
    if strategy == "predictor":
        assert "warm-up" in origins and origins & {"pool", "local"}
        guided = [t for t in trials if t.user_attrs["origin"] in ("pool", "local")]
        assert all(0 <= t.user_attrs["predicted_acc"] <= 1 for t in guided)
        for trial in (t for t in guided if t.user_attrs["origin"] == "local"):
            parent = study.trials[trial.user_attrs["parent"]]
            assert trial.params == parent.params and trial.user_attrs["move"]
            assert trial.user_attrs["edge_list"] != parent.user_attrs["edge_list"]
    else:
        assert origins == {strategy}
    assert events[0].kind == "start" and events[-1].kind == "end" and events[-1].done == 6

    out = tmp_path / "run"
    table = pd.read_csv(out / "evaluations.csv")
    assert len(table) == 6 and set(table["status"]) == {"ok"}
    assert {"cell", "family", "test_acc", "edge_list", "density", "params_nonzero"} <= set(table)
    assert pd.read_parquet(out / "evaluations.parquet").shape == table.shape
    config = json.loads((out / "config.json").read_text())
    assert config["strategy"] == strategy and config["study"] == "gru-reber"
    assert config["storage"].startswith("sqlite:///") and config["budget"] == 6
    best = sorted(p.name for p in (out / "best").iterdir())
    assert len(best) == 2 * spec.keep_best
    top = max(trials, key=lambda t: (t.values[0], -t.user_attrs["params_nonzero"], -t.number))
    graph = read_graph(out / "best" / f"trial-{top.number:05d}.graphml")
    assert nx.utils.edges_equal(graph.edges, edges_from_string(top.user_attrs["edge_list"]).edges)
    state = torch.load(out / "best" / f"trial-{top.number:05d}.pt")
    assert state and all(isinstance(value, torch.Tensor) for value in state.values())


def test_pareto_objective_keeps_a_front(tmp_path):
    spec = tiny(tmp_path, objective="pareto", budget=5)
    study = run_search(spec)
    assert len(study.directions) == 2
    front = pareto_front(study.get_trials())
    assert front and all(len(t.values) == 2 for t in front)
    sizes = [t.values[1] for t in front]
    accs = [t.values[0] for t in front]
    assert sizes == sorted(sizes) and accs == sorted(accs)  # bigger only if better
    saved = {p.stem for p in (tmp_path / "run" / "best").glob("*.graphml")}
    assert saved == {f"trial-{t.number:05d}" for t in front}


# -- resume and seeds ------------------------------------------------------------------------------


def test_resume_never_repeats_and_a_larger_budget_runs_only_the_difference(tmp_path):
    first = run_search(tiny(tmp_path, budget=4, strategy="random"))
    before = outcome(first)
    again = run_search(tiny(tmp_path, budget=4, strategy="random"))
    assert outcome(again) == before
    more = run_search(tiny(tmp_path, budget=6, strategy="random"))
    after = outcome(more)
    assert after[: len(before)] == before and len(started(more)) == 6
    edges = [row[-1] for row in after]
    assert len(set(edges)) == len(edges)


def test_same_seed_repeats_and_another_seed_differs(tmp_path):
    one = outcome(run_search(tiny(tmp_path, "a", budget=5, seed=3)))
    two = outcome(run_search(tiny(tmp_path, "b", budget=5, seed=3)))
    other = outcome(run_search(tiny(tmp_path, "c", budget=5, seed=4)))
    assert one == two
    assert [row[2] for row in one] != [row[2] for row in other]


# -- failures -----------------------------------------------------------------------------------


def test_a_diverged_network_is_a_failed_trial_and_the_search_goes_on(tmp_path, monkeypatch):
    def diverge_first(scheduler, *args, **kwargs):
        def end(key, record, model):
            if not diverge_first.done:
                record, model = {**record, "status": "diverged", "reason": "non-finite loss"}, None
                diverge_first.done = True
            scheduler.tell(key, record, model)

        wrapped = SimpleNamespace(ask=scheduler.ask, report=scheduler.report, tell=end)
        return real_evaluate_stream(wrapped, *args, **kwargs)

    diverge_first.done = False
    monkeypatch.setattr(nas.search.loop, "evaluate_stream", diverge_first)
    study = run_search(tiny(tmp_path, budget=4, strategy="predictor"))
    failed = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert len(failed) == 1 and failed[0].user_attrs["status"] == "diverged"
    assert failed[0].user_attrs["reason"] == "non-finite loss"
    assert len(started(study)) == 4 and len(study.get_trials()) == 4
    table = pd.read_csv(tmp_path / "run" / "evaluations.csv")
    assert sorted(table["status"]) == ["diverged", "ok", "ok", "ok"]


def test_a_crash_fails_only_that_network(tmp_path, monkeypatch):
    """The stack raises; its networks are trained again one by one, and only the one that
    raises again is recorded as crashed."""
    calls = []

    def crash_twice(stack, optimizer, slots, *args):
        calls.append(len(slots))
        if len(calls) <= 2:  # the stack, then its first network alone
            raise RuntimeError("out of memory")
        return real_train_epoch(stack, optimizer, slots, *args)

    monkeypatch.setattr(models.engine.stream, "_train_epoch", crash_twice)
    study = run_search(tiny(tmp_path, budget=3, epochs=1, strategy="random"))
    states = [t.state for t in study.get_trials()]
    assert calls == [3, 1, 1, 1] and states.count(TrialState.FAIL) == 1
    crashed = study.get_trials()[0]
    assert crashed.state == TrialState.FAIL and crashed.user_attrs["status"] == "crashed"
    assert "RuntimeError: out of memory" in crashed.user_attrs["reason"]


class _PruneOdd(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return trial.number % 2 == 1


def test_stopped_trials_are_pruned_in_optuna_and_keep_their_last_accuracy(tmp_path, monkeypatch):
    monkeypatch.setattr(nas.search.loop, "make_pruner", lambda spec: _PruneOdd())
    study = run_search(tiny(tmp_path, budget=4, epochs=2, strategy="random"))
    stopped = [t for t in study.get_trials() if t.state == TrialState.PRUNED]
    assert [t.number for t in stopped] == [1, 3]
    for trial in stopped:
        assert trial.user_attrs["status"] == "stopped"
        assert trial.user_attrs["metrics"]["epochs"] == 1
        assert trial.user_attrs["test_acc"] == trial.intermediate_values[1] == trial.value
    table = pd.read_csv(tmp_path / "run" / "evaluations.csv")
    assert list(table["status"]) == ["ok", "stopped", "ok", "stopped"]
    assert len(started(study)) == 4


def test_a_stopped_networks_slot_is_taken_at_once_and_trains_as_alone(tmp_path, monkeypatch):
    """Continuous batching: trial 1 is stopped after epoch 1, so trial 3 starts in its slot
    after the stack's first epoch (batch offset 1) instead of waiting for 0 and 2; its
    accuracies equal training it alone from the same seeds and offset."""
    monkeypatch.setattr(nas.search.loop, "make_pruner", lambda spec: _PruneOdd())
    spec = tiny(tmp_path, budget=5, epochs=2, strategy="random")
    study = run_search(spec)
    offsets = [t.user_attrs["metrics"]["batch_offset"] for t in study.get_trials()]
    assert offsets == [0, 0, 0, 1, 2]  # 3 joins after one epoch; 4 after 0 and 2 end
    joined = study.get_trials()[3]
    assert joined.state == TrialState.PRUNED  # odd: stopped after its first epoch
    task = load_task(spec.task, seed=spec.task_seed, n_strings=spec.n_strings)
    dag = layered_dag(edges_from_string(joined.user_attrs["edge_list"]))
    init, order = child_seeds(joined.user_attrs["train_seed"], 2)
    model = SparseRNNClassifier.for_task(dag, spec.cell, task, seed=init)
    alone = train_model(
        model, task, spec.resolved().train_spec(), seed=order, batch_offset=1,
        on_epoch=lambda metrics: True,
    )  # fmt: skip
    assert joined.user_attrs["metrics"]["acc_by_epoch"] == [
        pytest.approx(alone.history[0].valid_acc, abs=1e-9)
    ]
    assert joined.user_attrs["test_acc"] == pytest.approx(alone.test_acc, abs=1e-9)


@pytest.mark.parametrize("pruner", ["sha", "hyperband"])
def test_the_pruners_see_every_epoch(tmp_path, pruner):
    study = run_search(tiny(tmp_path, budget=3, epochs=2, pruner=pruner, strategy="random"))
    for trial in study.get_trials():
        assert set(trial.intermediate_values) <= {1, 2} and 1 in trial.intermediate_values


def test_ctrl_c_keeps_finished_trials_and_the_same_search_resumes(tmp_path, monkeypatch):
    def interrupt_the_second_three(stack, optimizer, slots, *args):
        if any(slot.candidate.key >= 3 for slot in slots):
            raise KeyboardInterrupt
        return real_train_epoch(stack, optimizer, slots, *args)

    monkeypatch.setattr(models.engine.stream, "_train_epoch", interrupt_the_second_three)
    with pytest.raises(SearchInterrupted) as stop:
        run_search(tiny(tmp_path, budget=6, strategy="random"))
    assert stop.value.done == 3
    study = stop.value.study
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.FAIL] * 3 + [TrialState.WAITING] * 3
    interrupted = [t.user_attrs["edge_list"] for t in study.get_trials()[3:6]]
    assert len(pd.read_csv(tmp_path / "run" / "evaluations.csv")) == 6

    monkeypatch.setattr(models.engine.stream, "_train_epoch", real_train_epoch)
    resumed = run_search(tiny(tmp_path, budget=6, strategy="random"))
    trials = resumed.get_trials()
    assert [t.state for t in trials[6:]] == [TrialState.COMPLETE] * 3
    assert [t.user_attrs["edge_list"] for t in trials[6:]] == interrupted
    assert len(started(resumed)) == 6


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
@pytest.mark.parametrize("record", [{}, {"status": "ok", "valid_acc": 0.9}])
def test_a_worker_killed_hard_loses_its_trials_and_the_next_run_trains_them(tmp_path, record):
    """Killed in training, or (``record``, a study written before the record and the state
    became one transaction) between writing its record and telling its state: either way
    the trial is lost, its network trained again, and counted once."""
    spec = tiny(tmp_path, budget=3, strategy="random")
    run_search(spec)
    study = open_study(spec.resolved())  # a second worker starts a trial, then dies
    trial = study.ask()
    params = SearchSpace(spec.families, spec.nodes).suggest(trial)
    dead_edges = edges_to_string(build_graph(params))
    attrs = {"origin": "random", "edge_list": dead_edges, "train_seed": 7, **record}
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    study._storage.record_heartbeat(trial._trial_id)
    backdate(spec, [trial._trial_id])  # its last beat an hour ago, far past the grace
    resumed = run_search(tiny(tmp_path, budget=4, strategy="random"))
    trials = resumed.get_trials()
    assert trials[3].state == TrialState.FAIL and not counts_toward_budget(trials[3])
    assert trials[4].user_attrs["edge_list"] == dead_edges  # queued again, trained now
    assert trials[4].state == TrialState.COMPLETE and len(started(resumed)) == 4
    table = pd.read_csv(tmp_path / "run" / "evaluations.csv")
    assert table["status"].tolist() == ["ok", "ok", "ok", "lost", "ok"]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_whose_worker_died_before_its_first_heartbeat_is_taken_over(tmp_path):
    """Issue 16, fault 1: a trial asked by a worker killed before any heartbeat holds the
    budget until the grace has passed since its start; the search waits (saying how long)
    instead of spinning or ending short, then trains the budget itself. The dead worker's
    trial ages by an hour once the search has said it waits (no race with the clock)."""
    spec = tiny(tmp_path, budget=1, strategy="random")
    other = open_study(spec.resolved())
    events, dead = [], []

    def hear(event) -> None:
        if event.kind == "start":  # the other worker asks just before this one's first look,
            dead.append(other.ask())  # so its trial is fresh then, however slow the start
        if event.kind == "wait" and not any(e.kind == "wait" for e in events):
            backdate(spec, [dead[0]._trial_id])  # then its worker stays silent for an hour
        events.append(event)

    study = run_search(spec, hear)
    trials = study.get_trials()
    assert trials[dead[0].number].state == TrialState.FAIL
    assert trial_status(trials[dead[0].number]) == "lost"  # the docs' word (issue 32, item 15)
    assert len(started(study)) == 1 and trials[1].state == TrialState.COMPLETE
    waits = [e.message for e in events if e.kind == "wait"]
    assert waits and "taken over in" in waits[0] and "1 network(s) of other workers" in waits[0]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_asked_beyond_the_budget_is_given_back(tmp_path):
    """Two workers that checked the budget at the same moment both ask: the later trial
    number is the surplus, told FAIL (status surplus) without training."""
    spec = tiny(tmp_path, budget=1, strategy="random")
    study = open_study(spec.resolved())
    first = study.ask()  # another worker's claim, asked just before ours
    study._storage.record_heartbeat(first._trial_id)
    search = nas.search.loop.SearchRun(spec.resolved(), study, None, Warm(ALL), lambda e: None, 1)
    search.asker.budget_claimed = lambda asked, trials: (
        False
    )  # it looked before the other worker asked
    assert search.asker.ask(1, 0, "random") == []
    mine = study.get_trials()[1]
    assert mine.state == TrialState.FAIL and mine.user_attrs["status"] == "surplus"
    assert not counts_toward_budget(mine)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_taken_over_while_it_is_asked_is_dropped_not_fatal(tmp_path, monkeypatch):
    """A storage outage longer than the grace: another worker takes a trial this one has
    just asked for lost. Asking goes on with the next trial (the search crashed here once)."""
    spec = tiny(tmp_path, budget=2, strategy="random").resolved()
    study = open_study(spec)
    other_worker = open_study(spec)
    search = nas.search.loop.SearchRun(spec, study, None, Warm(ALL), lambda e: None, 1)
    suggest = SearchSpace.suggest

    def suggest_then_lose(space, trial):
        params = suggest(space, trial)
        if trial.number == 0:
            other_worker.tell(trial.number, state=TrialState.FAIL)  # taken for lost
        return params

    monkeypatch.setattr(SearchSpace, "suggest", suggest_then_lose)
    batch = search.asker.ask(2, 0, "random")
    assert [entry.trial.number for entry, _ in batch] == [1, 2]
    assert 0 not in search.trials and study.get_trials()[0].state == TrialState.FAIL


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_taken_over_while_the_pruner_judges_it_is_stopped_not_fatal(tmp_path, monkeypatch):
    """The same outage while the pruner judges an epoch: the write of its report and the
    pruner's rung finds the trial finished. That trial stops here and the search trains the
    budget (the fresh-clone PostgreSQL outage test crashed here once)."""
    spec = tiny(tmp_path, budget=3, strategy="random", pruner="sha")
    other_worker = open_study(spec.resolved())
    prune = optuna.pruners.SuccessiveHalvingPruner.prune
    lost = []

    def lose_then_judge(pruner, study, trial):
        if not lost:
            lost.append(trial.number)
            other_worker.tell(trial.number, state=TrialState.FAIL)  # taken for lost
        return prune(pruner, study, trial)

    monkeypatch.setattr(optuna.pruners.SuccessiveHalvingPruner, "prune", lose_then_judge)
    study = run_search(spec)
    trials = study.get_trials()
    assert lost and trials[lost[0]].state == TrialState.FAIL
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) >= 1
    assert len(started(study)) == 3


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_live_worker_keeps_its_trials_through_a_long_epoch(tmp_path, monkeypatch):
    """An epoch an hour long (the trials' beats backdated by an hour while it runs): the
    worker's heartbeats go on during it, so another worker's stale check, made once every
    trial has beaten again, takes none of them for lost."""
    spec = tiny(tmp_path, budget=2, round_size=2, strategy="random", grace=6)

    def slow(*args):
        if not slow.done:
            other_worker = open_study(spec.resolved())
            storage = rdb_backend(other_worker)  # the RDB storage under Optuna's cache
            running = [t._trial_id for t in other_worker.get_trials(states=[TrialState.RUNNING])]
            backdate(spec, running)
            hang_guard = time.monotonic() + 600  # a guard against hanging, not a time bound
            while any(age > 60 for age in storage.running_ages(study_id(other_worker)).values()):
                assert time.monotonic() < hang_guard, "no heartbeat during the epoch"
                time.sleep(0.05)  # until each trial has beaten again, during this epoch
            optuna.storages.fail_stale_trials(other_worker)
            slow.done = True
        return real_train_epoch(*args)

    slow.done = False
    monkeypatch.setattr(models.engine.stream, "_train_epoch", slow)
    study = run_search(spec)
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE] * 2


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"cell": "transformer"},
        {"budget": 0},
        {"budget": -3},
        {"nodes": "20:10"},
        {"nodes": "2:10"},
        {"nodes": "ten"},
        {"families": "ws,xx"},
        {"families": ""},
        {"strategy": "grid"},
        {"objective": "speed"},
        {"epochs": 0},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_bad_settings_raise_before_anything_is_written(tmp_path, changes):
    with pytest.raises(SparseNASError):
        tiny(tmp_path, **changes)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"task": "csv:missing.csv"},
        {"task": "sudoku"},
        {"storage": "nosuchdb://x/y"},
        {"warm_start": "missing.csv"},
    ],
    ids=["missing-csv", "unknown-task", "bad-storage", "missing-warm-start"],
)
def test_unreadable_task_table_or_storage_raise_and_write_nothing(tmp_path, changes):
    with pytest.raises(SparseNASError):
        run_search(tiny(tmp_path, **changes))
    assert not (tmp_path / "run").exists()


def test_an_existing_study_is_untouched_by_other_settings(tmp_path):
    run_search(tiny(tmp_path, budget=3, strategy="random"))
    spec = tiny(tmp_path, budget=3, strategy="random").resolved()
    before = outcome(open_study(spec))
    for changes in ({"epochs": 1}, {"cell": "lstm", "study": "gru-reber"}, {"task": "sudoku"}):
        with pytest.raises(SparseNASError):
            run_search(tiny(tmp_path, budget=5, strategy="random", **changes))
    assert outcome(open_study(spec)) == before


def test_an_unconnectable_space_is_an_error(tmp_path, monkeypatch):
    def no_graph(params):
        raise SparseNASError("no connected graph")

    monkeypatch.setattr(nas.search.asking, "build_graph", no_graph)
    with pytest.raises(SparseNASError, match="no connected graph"):
        run_search(tiny(tmp_path, budget=1, strategy="random"))


# -- pieces ---------------------------------------------------------------------------------------


def test_warm_start_table_guides_the_predictor_from_the_start(tmp_path):
    with pytest.warns(UserWarning, match="missing from table"):  # no edge list: thesis only
        study = run_search(tiny(tmp_path, budget=4, warm_start=THESIS_TABLE, round_size=2))
    origins = [t.user_attrs["origin"] for t in study.get_trials()]
    assert origins[0] == "warm-up" and set(origins[1:]) <= {"pool", "local"}
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["features"] == list(THESIS) and config["warmup_trials"] == 1


@pytest.mark.parametrize("family", ["ws", "ba", "er"])
def test_search_space_draws_rebuild_the_same_graph(family):
    space = SearchSpace((family,), (10, 30))
    rng = np.random.default_rng(0)
    for _ in range(20):
        params = space.sample(rng)
        try:
            graph = build_graph(params)
        except SparseNASError:
            continue
        assert graph.number_of_nodes() == params["nodes"] and nx.is_connected(graph)
        assert sorted(build_graph(params).edges) == sorted(graph.edges)


def test_connected_samples_are_the_sample_draws_that_build():
    space = SearchSpace(("ws",), (10, 12))  # ring degree 2 rewired: often no connected graph
    drawn = space.connected_samples(np.random.default_rng(5), 8)
    rng, expected = np.random.default_rng(5), []
    while len(expected) < 8:  # the same stream, one draw at a time
        params = space.sample(rng)
        with suppress(SparseNASError):
            expected.append((params, build_graph(params)))
    assert [p for p, _ in drawn] == [p for p, _ in expected]
    assert all(nx.is_connected(g) and sorted(g.edges) == sorted(build_graph(p).edges)
               for p, g in drawn)  # fmt: skip


def test_the_stream_of_search_space_parameters_is_pinned():
    # Resumed searches, the tabular replay and the committed tables rely on these very draws:
    # the digest of the first 60 parameter sets, as the search space drew them when pinned
    # (numpy's Generator and our code only).
    space, rng = SearchSpace(("ws", "ba", "er"), (10, 50)), np.random.default_rng(0)
    text = "\n".join(json.dumps(space.sample(rng), sort_keys=True) for _ in range(60))
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "076e2d92e9512e3207d528269da5e086558249134d582a924f0c6c6ac8bf69dc"
    )


GRAPH_DIGESTS = {"3.6.1": "65f52994fb2912a56f0e73e4c60ef7db08dd5e758f1af2e9315695cb1f8d1fa8"}
"""networkx version -> digest of the first 60 connected graphs drawn with it."""


@pytest.mark.skipif(
    nx.__version__ not in GRAPH_DIGESTS,
    reason=f"graphs pinned for networkx {', '.join(GRAPH_DIGESTS)}: its generators build them",
)
def test_the_stream_of_search_space_graphs_is_pinned_for_its_networkx():
    # The graphs are networkx's generators run on the pinned parameters: pinned per networkx
    # version, so an upgrade that changes them is seen here (add its digest once checked).
    drawn = SearchSpace(("ws", "ba", "er"), (10, 50)).connected_samples(
        np.random.default_rng(0), 60
    )
    text = "\n".join(edges_to_string(graph) for _, graph in drawn)
    assert hashlib.sha256(text.encode()).hexdigest() == GRAPH_DIGESTS[nx.__version__]


def test_local_moves_stay_connected_labelled_and_in_range():
    graph = GraphSpec("ws", 12, k=4, p=0.3).build(0)
    rng = np.random.default_rng(1)
    kinds = set()
    for _ in range(60):
        moved = mutate(graph, rng, min_nodes=11, max_nodes=13)
        assert moved is not None
        child, move = moved
        kinds.add(move.split()[0] + " " + move.split()[1])
        assert nx.is_connected(child) and 11 <= child.number_of_nodes() <= 13
        assert sorted(child.nodes) == list(range(child.number_of_nodes()))
        assert not (
            child.number_of_nodes() == 12 and nx.utils.edges_equal(child.edges, graph.edges)
        )
    assert {"add node", "remove node", "add edge", "remove edge"} <= kinds


def _trial(number, state, acc, accs, status, value=None):
    attrs = {"edge_list": f"0-1 1-{number + 2}", "status": status, "test_acc": acc}
    attrs["metrics"] = {"acc_by_epoch": accs}
    values = None if value is None else [value]
    trial = create_trial(state=state, values=values, user_attrs=attrs)
    trial.number = number
    return trial


def test_stopped_targets_add_the_median_gain_and_diverged_take_the_floor():
    trials = [
        _trial(0, TrialState.COMPLETE, 0.9, [0.6, 0.7, 0.9], "ok", 0.9),
        _trial(1, TrialState.COMPLETE, 0.8, [0.5, 0.7, 0.8], "ok", 0.8),
        _trial(2, TrialState.COMPLETE, 0.7, [0.5, 0.6, 0.7], "ok", 0.7),
        _trial(3, TrialState.PRUNED, 0.4, [0.4], "stopped", 0.4),
        _trial(4, TrialState.FAIL, None, [], "diverged"),
    ]
    edges, y = training_targets(trials)
    assert len(edges) == 5
    assert y[:3].tolist() == [0.9, 0.8, 0.7]
    assert math.isclose(y[3], 0.4 + 0.3)  # median of the gains 0.3, 0.3, 0.2
    assert y[4] == min(y[:4])


def test_a_fixed_candidate_set_is_chosen_from_and_never_repeated():
    space = SearchSpace(("ws", "ba"), (10, 16))
    members = space.connected_samples(np.random.default_rng(3), 12)
    trained = members[:4]
    trials = []
    for number, (_params, graph) in enumerate(trained):
        edges = edges_to_string(graph)
        attrs = {"edge_list": edges, "test_acc": 0.5 + 0.1 * number, "status": "ok"}
        trial = create_trial(state=TrialState.COMPLETE, value=0.5 + 0.1 * number, user_attrs=attrs)
        trial.number = number
        trials.append(trial)
    strategy = PredictorStrategy(space, "gru", "accuracy", THESIS, 0, candidates=members)
    proposals = strategy.propose(trials, 5, round_index=0)
    chosen = [p.attrs["edge_list"] for p in proposals]
    free = {edges_to_string(g) for _, g in members[4:]}
    assert len(chosen) == 5 and len(set(chosen)) == 5
    assert set(chosen) <= free  # only members, never one already evaluated, no local moves
    assert {p.attrs["origin"] for p in proposals} == {"pool"}
    everything = strategy.propose(trials, 20, round_index=1)
    assert {p.attrs["edge_list"] for p in everything} == free  # a round cannot exceed the set


def test_hypervolume_of_a_worked_staircase():
    reference = (0.5, 20.0)
    # strips: sizes [5, 10) at accuracy 0.8, [10, 20) at 0.9 -> 5 * 0.3 + 10 * 0.4
    assert math.isclose(hypervolume([(0.9, 10.0), (0.8, 5.0)], reference), 5.5)
    dominated = [(0.9, 10.0), (0.8, 5.0), (0.7, 7.0), (0.85, 12.0)]
    assert math.isclose(hypervolume(dominated, reference), 5.5)
    beyond = [(0.4, 1.0), (0.95, 25.0), (float("nan"), 3.0)]
    assert hypervolume(beyond, reference) == 0.0
    assert hypervolume([], reference) == 0.0
    assert math.isclose(hypervolume([(1.0, 0.0)], reference), 10.0)  # the whole box


def test_a_stored_pruned_status_reads_as_stopped():
    """Studies written before the rename said ``pruned`` for a network stopped early."""
    from nas.search.records import trial_status

    old = create_trial(state=TrialState.PRUNED, user_attrs={"status": "pruned"})
    new = create_trial(state=TrialState.PRUNED, user_attrs={"status": "stopped"})
    assert trial_status(old) == trial_status(new) == "stopped"


def _trained_trials(space: SearchSpace, count: int) -> list:
    trials = []
    for params, graph in space.connected_samples(np.random.default_rng(11), count):
        accuracy = 0.5 + 0.01 * params["nodes"]
        attrs = {"edge_list": edges_to_string(graph), "test_acc": accuracy, "status": "ok"}
        trial = create_trial(state=TrialState.COMPLETE, value=accuracy, user_attrs=attrs)
        trial.number = len(trials)
        trials.append(trial)
    return trials


def _proposed_in(trials: list, rounds: range) -> list:
    """``trials`` with the first ones marked as chosen from the pool in ``rounds``."""
    for trial, round_index in zip(trials, rounds, strict=False):
        trial.set_user_attr("origin", "pool")
        trial.set_user_attr("round", round_index)
    return trials


def test_the_first_predictor_round_describes_one_draw_and_the_pool_grows():
    space = SearchSpace(("ws", "ba", "er"), (10, 20))
    strategy = PredictorStrategy(space, "gru", "accuracy", THESIS, 0, pool_size=24, pool_rounds=3)
    first = strategy.propose(_trained_trials(space, 6), 4, 5)  # no predictor round before
    assert set(strategy._draws) == {5}
    third = strategy.propose(_proposed_in(_trained_trials(space, 6), range(5, 7)), 4, 7)
    assert set(strategy._draws) == {5, 6, 7}  # two earlier predictor rounds: three draws
    assert first and third


def test_the_rolling_pool_holds_the_last_draws_and_a_fresh_process_chooses_alike():
    """Round r's pool is draws r-1 and r (pool_rounds=2): a process that ran rounds 0-2
    describes one new draw in round 3; a fresh process describes both, and both choose the
    same networks (a resumed search picks up where it stopped)."""
    space = SearchSpace(("ws", "ba", "er"), (10, 20))
    trials = _proposed_in(_trained_trials(space, 6), range(3))
    calls: list[str] = []

    class Counting(PredictorStrategy):
        def describe(self, graph, edges=None, *, cache=False):
            calls.append(edges)
            return super().describe(graph, edges, cache=cache)

    def make() -> Counting:
        return Counting(space, "gru", "accuracy", THESIS, 0, pool_size=24, pool_rounds=2)

    running = make()
    for round_index in range(3):
        running.propose(trials, 4, round_index)
    calls.clear()
    chosen = running.propose(trials, 4, 3)
    continued = len(calls)
    calls.clear()
    fresh = make()
    assert [p.attrs for p in fresh.propose(trials, 4, 3)] == [p.attrs for p in chosen]
    assert len(calls) - continued == len(fresh.draw(2))  # the one draw the runner already had
    window = {edges for j in (2, 3) for _, edges, _ in fresh.draw(j)}
    pooled = [p.attrs["edge_list"] for p in chosen if p.attrs["origin"] == "pool"]
    assert pooled and set(pooled) <= window
    assert len(fresh.draw(3)) <= 24 // 2  # pool_size / pool_rounds graphs a draw


def test_an_atomic_write_leaves_another_process_temporary_file_alone(tmp_path):
    """Two workers export the same table at once: each writes and renames its own temporary
    file, so neither finds its file gone (the race once failed a worker)."""
    from nas.search.results import write_json

    other = tmp_path / ".config.json.1.tmp"  # another process halfway through its write
    other.write_text("{half")
    write_json(tmp_path / "config.json", {"a": 1})
    assert json.loads((tmp_path / "config.json").read_text()) == {"a": 1}
    assert other.read_text() == "{half"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".config.json.1.tmp", "config.json"]


def test_a_study_without_a_search_config_is_refused_after_a_short_wait(tmp_path, monkeypatch):
    """A study another command is creating gets its config within moments; one that never
    gets it (made by plain Optuna) is refused with one line."""
    import nas.search.storage as storage_module
    from nas.search.storage import open_study

    monkeypatch.setattr(storage_module, "CONFIG_WAIT_SECONDS", 0.5)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    plain = optuna.create_study(storage=url, study_name="plain")
    plain.enqueue_trial({"x": 1})  # someone else's trial: the study is not ours to take
    spec = SearchSpec(cell="gru", storage=url, study="plain", out=str(tmp_path / "run"))
    with pytest.raises(SparseNASError, match="not created by `nas search`"):
        open_study(spec)


@pytest.mark.parametrize("step", ["schema only", "study without settings", "settings"])
def test_a_command_killed_at_any_step_of_creating_its_study_leaves_one_the_same_command_resumes(
    tmp_path, monkeypatch, step
):
    """Creating a study is three writes: the storage's tables, the study, its search
    settings. Whichever was the last before a kill, the same command opens the study and
    runs on it."""
    import nas.search.storage as storage_module

    monkeypatch.setattr(storage_module, "CONFIG_WAIT_SECONDS", 0.2)
    spec = tiny(tmp_path, budget=1, strategy="random").resolved()
    storage = nas.search.storage.open_storage(spec.storage)
    if step != "schema only":
        study = optuna.create_study(
            storage=storage, study_name=spec.study, directions=spec.directions
        )
        if step == "settings":
            study.set_user_attr("search_config", spec.identity())
    study = open_study(spec)
    assert study.user_attrs["search_config"] == spec.identity()
    assert networks_done(run_search(spec).get_trials()) == 1


def test_a_study_without_settings_but_other_directions_is_not_taken(tmp_path, monkeypatch):
    import nas.search.storage as storage_module

    monkeypatch.setattr(storage_module, "CONFIG_WAIT_SECONDS", 0.2)
    spec = tiny(tmp_path, budget=1, strategy="random").resolved()
    storage = nas.search.storage.open_storage(spec.storage)
    optuna.create_study(storage=storage, study_name=spec.study, direction="minimize")
    with pytest.raises(SparseNASError, match="not created by `nas search`"):
        open_study(spec)
