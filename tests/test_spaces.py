import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spdbench.errors import ArchitectureError, InvalidInputError
from spdbench.spaces import space_from_config
from spdbench.spaces.slope import SlopeSpace

GRID = SlopeSpace(values=np.round(np.arange(0.01, 2.02, 0.05), 2))
LINE = SlopeSpace(low=0.01, high=2.01)


@pytest.mark.parametrize("space", [GRID, LINE])
def test_sample_mutate_crossover_stay_inside(space):
    rng = np.random.default_rng(0)
    g = space.sample(200, rng)
    assert g.shape == (200, 1) and space.contains(g).all()
    m = space.mutate(g, rng)
    assert space.contains(m).all()
    assert (m != g).mean() > 0.9  # a mutation changes the architecture
    c = space.crossover(g, space.sample(200, rng), rng)
    assert space.contains(c).all()


def test_sampling_is_seeded_and_unique():
    a = GRID.sample(41, np.random.default_rng(3), unique=True)
    b = GRID.sample(41, np.random.default_rng(3), unique=True)
    assert np.array_equal(a, b)
    assert len(np.unique(a)) == 41
    with pytest.raises(InvalidInputError, match="holds 41"):
        GRID.sample(42, np.random.default_rng(0), unique=True)


def test_enumerate_finite_only():
    assert GRID.enumerate().shape == (41, 1)
    with pytest.raises(InvalidInputError, match="infinite"):
        LINE.enumerate()


@given(st.floats(min_value=0.01, max_value=2.01))
def test_text_round_trip(c):
    g = LINE.as_genotypes([c])
    assert np.array_equal(LINE.parse(LINE.format(g)), np.round(g, 6))


def test_outside_the_space_is_rejected():
    with pytest.raises(ArchitectureError, match="outside space"):
        LINE.as_genotypes([2.5])
    with pytest.raises(ArchitectureError, match="recorded 41 slopes"):
        GRID.as_genotypes([0.02])
    with pytest.raises(ArchitectureError, match="must be a number"):
        LINE.parse(["fast"])
    with pytest.raises(ArchitectureError, match="shape"):
        LINE.as_genotypes(np.zeros((2, 3)))


def test_space_rebuilds_from_its_config():
    assert space_from_config("sigmoid-slope", GRID.config()) == GRID
    assert space_from_config("sigmoid-slope", LINE.config()) == LINE
