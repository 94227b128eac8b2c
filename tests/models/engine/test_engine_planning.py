"""Planning a stack: the slot count from the memory estimate, stacks in depth order."""

from types import SimpleNamespace

from engine_graphs import stack_dags

from models.engine import MAX_AUTO_SLOTS, auto_slots, depth_groups


def test_automatic_slot_count_follows_the_memory_estimate(tiny_task):
    dags = stack_dags()
    # The largest graph's activations for one candidate, as auto_slots estimates them.
    neurons = max(d.n_nodes for d in dags)
    lags = max(max(d.max_span, 1) for d in dags)
    steps = int(tiny_task.train.lengths.max()) + max(d.n_layers for d in dags)
    per_candidate = 4 * steps * 128 * neurons * (4 * 4 + lags + 8) * 2
    exactly = auto_slots(dags, "lstm", tiny_task, 128, available=4 * 3 * per_candidate)
    assert exactly == 3  # a quarter of the memory holds three candidates
    assert auto_slots(dags, "lstm", tiny_task, 128, available=per_candidate) == 1
    assert auto_slots(dags, "lstm", tiny_task, 128, available=2**50) == MAX_AUTO_SLOTS


def test_depth_groups_fill_stacks_in_depth_order_up_to_capacity():
    shape = [(10, 9), (4, 2), (15, 14), (11, 10), (22, 20), (6, 3), (10, 9), (4, 1)]
    dags = [SimpleNamespace(n_layers=L, max_span=s, n_nodes=20) for L, s in shape]
    # by layers, then span: 7 (4, 1), 1 (4, 2), 5 (6, 3), 0 (10, 9), 6 (10, 9), 3, 2, 4
    assert depth_groups(dags, capacity=64) == [[7, 1, 5, 0, 6, 3, 2, 4]]
    assert depth_groups(dags, capacity=3) == [[7, 1, 5], [0, 6, 3], [2, 4]]
    uniform = [SimpleNamespace(n_layers=7, max_span=4, n_nodes=n) for n in (30, 10, 20)]
    assert depth_groups(uniform, capacity=64) == [[1, 2, 0]]  # then by size
    assert depth_groups([], capacity=4) == []
