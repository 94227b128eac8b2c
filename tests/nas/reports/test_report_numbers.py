"""The report's section 4 and timeline numbers (issue 32, item 19), recomputed independently:
straight from the study's trials with the standard library, networkx and scipy, never
through the report's frames (``nas.reports.data``) or the search's records."""

import math
import statistics

import networkx as nx
import pytest
from scipy import stats

from nas.reports.analysis import family_accuracy, property_correlations, timeline
from nas.reports.data import load_run


def finished(study) -> list:
    """Trials whose network trained to the end: told COMPLETE with status ok."""
    return [
        t for t in study.trials if t.state.name == "COMPLETE" and t.user_attrs["status"] == "ok"
    ]


def graph(trial) -> nx.Graph:
    pairs = (pair.split("-") for pair in trial.user_attrs["edge_list"].split())
    return nx.Graph((int(u), int(v)) for u, v in pairs)


@pytest.fixture(scope="module")
def run(tiny_run):
    out, study = tiny_run
    return load_run(out), study


def test_family_accuracy_is_the_mean_sd_and_best_of_each_family(run):
    data, study = run
    by_family: dict[str, list[float]] = {}
    for trial in finished(study):
        by_family.setdefault(trial.params["family"], []).append(trial.user_attrs["test_acc"])
    table = family_accuracy(data).set_index("family")
    assert sorted(table.index) == sorted(by_family) and len(by_family) >= 1
    for family, accs in by_family.items():
        row = table.loc[family]
        assert row["count"] == len(accs)
        assert row["mean"] == pytest.approx(statistics.fmean(accs), abs=1e-12)
        spread = statistics.stdev(accs) if len(accs) > 1 else math.nan
        assert row["std"] == pytest.approx(spread, abs=1e-12, nan_ok=True)
        assert row["best"] == max(accs)
    means = table["mean"].tolist()
    assert means == sorted(means, reverse=True)  # best family first


@pytest.mark.parametrize("name", ["nodes", "edges", "params_nonzero"])
def test_correlations_with_accuracy_are_scipy_s(run, name):
    data, study = run
    done = finished(study)
    accs = [t.user_attrs["test_acc"] for t in done]
    values = {
        "nodes": lambda t: graph(t).number_of_nodes(),
        "edges": lambda t: graph(t).number_of_edges(),
        "params_nonzero": lambda t: t.user_attrs["params_nonzero"],
    }[name]
    values = [values(t) for t in done]
    table = property_correlations(data).set_index("feature")
    assert len(done) >= 3 and table["n"].iloc[0] == len(done)
    row = table.loc[name]
    if len(set(values)) < 2:  # a constant feature has no correlation
        assert math.isnan(row["pearson"]) and math.isnan(row["spearman"])
        return
    pearson, pearson_p = stats.pearsonr(values, accs)
    spearman, spearman_p = stats.spearmanr(values, accs)
    assert row["pearson"] == pytest.approx(pearson, abs=1e-9)
    assert row["pearson_p"] == pytest.approx(pearson_p, abs=1e-9)
    assert row["spearman"] == pytest.approx(spearman, abs=1e-9)
    assert row["spearman_p"] == pytest.approx(spearman_p, abs=1e-9)


def test_the_timeline_is_each_trained_network_s_start_and_end(run):
    data, study = run
    trained = [
        t for t in study.trials
        if "train_seed" in t.user_attrs and t.datetime_complete is not None
        and t.user_attrs.get("status") not in ("interrupted", "lost", "surplus", "invalid")
    ]  # fmt: skip
    origin = min(t.datetime_start for t in trained)
    expected = {
        t.number: (
            (t.datetime_start - origin).total_seconds(),
            (t.datetime_complete - origin).total_seconds(),
            t.user_attrs["status"],
        )
        for t in trained
    }
    table = timeline(data)
    shown = {int(r.trial): (r.start, r.end, str(r.status)) for r in table.itertuples(index=False)}
    assert shown.keys() == expected.keys() and len(shown) == 8
    for number, (start, end, status) in expected.items():
        assert shown[number][0] == pytest.approx(start, abs=1e-6)
        assert shown[number][1] == pytest.approx(end, abs=1e-6)
        assert shown[number][2] == status and end >= start >= 0
