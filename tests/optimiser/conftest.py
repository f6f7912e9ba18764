"""Fixtures for the optimiser tests."""

import pytest

from optimiser import testing


@pytest.fixture
def mk():
    return testing
