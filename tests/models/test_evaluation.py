"""Evaluating graphs: a Scheduler feeding ``evaluate_stream`` gets the records
``evaluate_many`` gives for the same networks."""

import networkx as nx
import pytest

from graphs.generators import watts_strogatz
from models.evaluation import evaluate_graph, evaluate_many, evaluate_stream
from models.training import EpochMetrics, TrainSpec

GRAPHS = [watts_strogatz(8, 2, 0.5, seed=1), watts_strogatz(10, 4, 0.3, seed=2),
          watts_strogatz(6, 2, 0.2, seed=3)]  # fmt: skip
SEED = 5
STOPPED = 1  # the key the scheduler stops after its first epoch
TIMINGS = {"train_seconds", "seconds"}


class FakeScheduler:
    """Feeds GRAPHS in order into the free slots, stops STOPPED after one epoch and keeps
    what it is told."""

    def __init__(self) -> None:
        self.queue = list(enumerate(GRAPHS))
        self.asked: list[int] = []
        self.reported: list[tuple[int, int]] = []
        self.told: list[tuple[int, dict[str, object], object]] = []

    def ask(self, free: int) -> list[tuple[int, nx.Graph, int]]:
        self.asked.append(free)
        taken, self.queue = self.queue[:free], self.queue[free:]
        return [(key, graph, SEED) for key, graph in taken]

    def report(self, key: int, metrics: EpochMetrics) -> bool:
        self.reported.append((key, metrics.epoch))
        return key == STOPPED

    def tell(self, key: int, record: dict[str, object], model: object) -> None:
        self.told.append((key, record, model))


def _same(got: object, expected: object) -> None:
    """Records equal but for timings; floats up to the engine's summation order."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected)
        for name in expected:
            if name not in TIMINGS:
                _same(got[name], expected[name])
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected)
        for one, other in zip(got, expected, strict=True):
            _same(one, other)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-5, nan_ok=True)
    else:
        assert got == expected


def test_a_scheduler_gets_the_records_evaluate_many_gives(tiny_task):
    spec = TrainSpec(epochs=2, batch_size=16)
    scheduler = FakeScheduler()
    epochs = evaluate_stream(scheduler, "gru", tiny_task, spec, slots=2, keep_models=True)
    assert scheduler.asked[0] == 2 and epochs == 3  # the third joins when STOPPED leaves
    assert sorted(key for key, _, _ in scheduler.told) == [0, 1, 2]  # once per network
    assert all(model is not None for _, _, model in scheduler.told)
    assert sorted(scheduler.reported) == [(0, 1), (0, 2), (1, 1), (2, 1), (2, 2)]
    told = {key: record for key, record, _ in scheduler.told}
    assert [told[key]["status"] for key in range(3)] == ["ok", "stopped", "ok"]
    assert all(type(record["status"]) is str for record in told.values())  # plain values
    assert [told[key]["batch_offset"] for key in range(3)] == [0, 0, 1]

    expected, _ = evaluate_many(
        GRAPHS, "gru", tiny_task, spec, seeds=[SEED] * 3,
        on_epoch=lambda key, metrics: key == STOPPED,
    )  # fmt: skip
    for key in (0, 1):  # started with the stack: trained exactly as evaluate_many trains them
        _same(told[key], expected[key])
    # The third started one epoch into its seed's mini-batch stream: the same network and
    # outcome, trained on other batches.
    batches = {"valid_acc", "valid_loss", "test_acc", "test_loss", "batch_offset", "history"}
    late = {name: value for name, value in told[2].items() if name not in batches}
    _same(late, {name: value for name, value in expected[2].items() if name not in batches})
    assert late["status"] == "ok" and late["epochs"] == 2 and late["edge_list"]


def test_evaluate_graph_is_evaluate_many_of_one(tiny_task):
    spec = TrainSpec(epochs=1, batch_size=16)
    seen: list[int] = []
    record = evaluate_graph(
        GRAPHS[0], "gru", tiny_task, spec, seed=SEED, on_epoch=lambda m: seen.append(m.epoch)
    )
    (expected,), _ = evaluate_many([GRAPHS[0]], "gru", tiny_task, spec, seeds=[SEED])
    _same(record, expected)
    assert seen == [1]
