"""The thesis' published tables load for every cell: its ``mode`` column names them in capitals."""

from __future__ import annotations

import pandas as pd
import pytest
from predictor_fixtures import THESIS_TABLE

from predictors.table import load_table


@pytest.mark.parametrize("mode", ["RNN_TANH", "RNN_RELU", "GRU", "LSTM"])
def test_each_thesis_file_loads_as_its_cell(tmp_path, mode: str) -> None:
    frame = pd.read_csv(THESIS_TABLE)
    frame["mode"] = mode
    path = tmp_path / f"{mode.lower()}.csv"
    frame.to_csv(path, index=False)
    table = load_table(path, features="thesis")
    assert table.cell == mode.lower()
    assert len(table.y) == len(frame) and table.X.shape[1] == 23
