"""Shared fixtures: float64 for gradient checks, a seeded NumPy generator."""
import jax
import numpy as np
import pytest


@pytest.fixture
def x64():
    """Run the test body with JAX's 64-bit mode on (gradient checks need float64)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
