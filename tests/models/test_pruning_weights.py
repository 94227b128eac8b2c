"""What a target covers and the counts (models/pruning/weights.py)."""

from pruning_fixtures import tiny_dense

from models.pruning import prunable_weights, prune_magnitude, pruning_summary


def test_summary_counts_pruned_and_zero_entries():
    model = tiny_dense("gru", hidden=4, layers=2)
    prune_magnitude(model, "h2h", 0.5)
    rows = {r["name"]: r for r in pruning_summary(model, "both")}
    assert rows["rnn.weight_hh_l0"]["total"] == 3 * 4 * 4
    assert rows["rnn.weight_ih_l0"]["pruned"] == 0
    assert sum(rows[f"rnn.weight_hh_l{k}"]["pruned"] for k in (0, 1)) == 48
    assert rows["rnn.weight_hh_l1"]["zeros"] >= rows["rnn.weight_hh_l1"]["pruned"]


def test_targets_cover_their_matrices_in_a_fixed_order():
    model = tiny_dense("gru", layers=2)
    names = [w.name for w in prunable_weights(model, "all")]
    assert names == [
        "embedding.weight",
        "rnn.weight_ih_l0",
        "rnn.weight_hh_l0",
        "rnn.weight_ih_l1",
        "rnn.weight_hh_l1",
        "readout.weight",
    ]
    assert [w.kind for w in prunable_weights(model, "h2h")] == ["h2h", "h2h"]
    assert [w.layer for w in prunable_weights(model, "both")] == [0, 0, 1, 1]
