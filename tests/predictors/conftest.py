"""A synthetic evaluations table shared by the validation tests."""

import pytest
from predictor_fixtures import our_table

from predictors.table import load_table


@pytest.fixture(scope="module")
def synthetic():
    return load_table(our_table(60, seed=0), features="all")
