"""TrialStatus behaves as the plain string studies and tables store."""

import json

import pandas as pd

from core.status import TrialStatus


def test_a_status_is_its_string_everywhere_it_is_written():
    assert TrialStatus.OK == "ok"
    assert f"{TrialStatus.STOPPED}" == "stopped" and str(TrialStatus.LOST) == "lost"
    assert f"{TrialStatus.OK:>4}" == "  ok"
    assert json.dumps({"status": TrialStatus.DIVERGED}) == '{"status": "diverged"}'
    assert {"ok": 1}[TrialStatus.OK] == 1
    assert pd.Series(["ok", "stopped"]).eq(TrialStatus.OK).tolist() == [True, False]


def test_parse_reads_stored_values_and_refuses_others():
    assert TrialStatus.parse("ok") is TrialStatus.OK
    assert TrialStatus.parse("pruned") is TrialStatus.STOPPED  # studies made before 0.2
    assert TrialStatus.parse("running") is None and TrialStatus.parse(None) is None
