"""The pruning experiment's plots (nas/experiments/prune_plots.py): both draw from a results
table, "never" included, and write a PNG."""

import pandas as pd

from nas.experiments.prune_plots import plot_accuracy, plot_regain


def results():
    rows = []
    for target in ("i2h", "both"):
        for percent, regain, pruned in ((50.0, 0, 0.9), (90.0, 2, 0.6), (99.0, "never", 0.5)):
            rows.append(
                {
                    "cell": "gru",
                    "task": "reber",
                    "method": "magnitude",
                    "target": target,
                    "percent": percent,
                    "base_acc": 0.95,
                    "acc_pruned": pruned,
                    "acc_retrained": 0.9,
                    "epochs_to_regain": regain,
                    "acc_epoch_1": 0.8,
                    "acc_epoch_2": 0.9,
                }
            )
    return pd.DataFrame(rows)


def test_both_plots_write_a_png(tmp_path):
    table = results()
    for plot, name in ((plot_accuracy, "accuracy.png"), (plot_regain, "regain.png")):
        path = plot(table, tmp_path / name)
        assert path == tmp_path / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
