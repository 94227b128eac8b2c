"""The pruning experiment's spec and option parsing (nas/experiments/prune_spec.py)."""

from dataclasses import replace

import pytest
from prune_fixtures import tiny_spec

from core.errors import SparseNASError
from models.pruning import MASK_METHODS
from nas.experiments.prune import (
    METHODS,
    parse_percents,
    parse_targets,
)


def test_parse_percents_and_targets():
    assert parse_percents("10, 50,100") == (10.0, 50.0, 100.0)
    assert parse_percents("12.5%") == (12.5,)
    assert parse_targets("i2h,h2h,i2h") == ("i2h", "h2h")
    for bad in ("150", "-1", "ten", "nan", ","):
        with pytest.raises(SparseNASError, match="percent"):
            parse_percents(bad)
    with pytest.raises(SparseNASError, match="'weights'"):
        parse_targets("both,weights")


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"method": "lottery"}, "unknown pruning method 'lottery'"),
        ({"percents": (50.0, 101.0)}, "101.0"),
        ({"targets": ("all", "x")}, "'x'"),
        ({"retrain_epochs": 0}, "retrain_epochs=0"),
        ({"cell": "rnn"}, "unknown cell"),
    ],
)
def test_bad_specs_are_rejected(changes, fragment):
    with pytest.raises(SparseNASError, match=fragment):
        tiny_spec(**changes)


def test_mask_seeds_differ_by_method_target_and_percent_but_not_by_the_rest():
    spec = tiny_spec(method="random")
    seeds = {
        spec.mask_seed("both", 90.0),
        spec.mask_seed("both", 95.0),
        spec.mask_seed("h2h", 90.0),
        replace(spec, method="expander").mask_seed("both", 90.0),
    }
    assert len(seeds) == 4
    assert replace(spec, percents=(1.0,)).mask_seed("both", 90.0) == spec.mask_seed("both", 90.0)
    assert spec.seeds[:3] == tiny_spec(method="magnitude").seeds[:3]


def test_the_methods_are_the_mask_registry_with_gradual_in_its_seeded_place():
    """A method's index seeds its masks (``PruneSpec.mask_seed``): the order is fixed."""
    assert METHODS == (
        "magnitude",
        "gradual",
        "random",
        "expander",
        "anti-expander",
        "degree-blocks",
        "ramanujan",
    )
    assert set(METHODS) - {"gradual"} == set(MASK_METHODS)
