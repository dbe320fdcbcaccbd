"""NB201 and NAS-Bench-Macro spaces: round trips, variation inside the space, exact keys."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spdbench.errors import ArchitectureError
from spdbench.spaces import space_from_config
from spdbench.spaces.macro import MacroSpace
from spdbench.spaces.nb201 import NB201Space

SPACES = [NB201Space(), MacroSpace()]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_enumeration_keys_and_text_round_trip(space):
    every = space.enumerate()
    assert len(every) == space.size == space.choices**space.dims
    assert np.array_equal(space.keys(every), np.arange(space.size))  # exact, collision-free
    assert np.array_equal(space.parse(space.format(every)), every)
    assert space_from_config(space.name, space.config()) == space


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_mutation_changes_exactly_one_position(space):
    rng = np.random.default_rng(0)
    g = space.sample(500, rng)
    child = space.mutate(g, rng)
    assert space.contains(child).all()
    assert ((child != g).sum(axis=1) == 1).all()
    assert np.array_equal(
        space.mutate(g, np.random.default_rng(1)), space.mutate(g, np.random.default_rng(1))
    )


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_crossover_takes_each_position_from_a_parent(space):
    rng = np.random.default_rng(0)
    a, b = space.sample(400, rng), space.sample(400, rng)
    child = space.crossover(a, b, rng)
    assert ((child == a) | (child == b)).all()
    assert 0.4 < (child == a)[a != b].mean() < 0.6


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_unique_sampling_and_one_hot_encoding(space):
    g = space.sample(space.size, np.random.default_rng(3), unique=True)
    assert len(np.unique(space.keys(g))) == space.size
    x = space.encode(g[:10])
    assert x.shape == (10, space.dims * space.choices) and (x.sum(axis=1) == space.dims).all()


@given(st.lists(st.integers(0, 4), min_size=6, max_size=6))
def test_nb201_string_round_trip(ops):
    space = NB201Space()
    text = space.format(np.array([ops]))[0]
    assert text.count("~") == 6 and space.parse([text]).tolist() == [ops]


def test_bad_architectures_fail_with_a_hint():
    with pytest.raises(ArchitectureError, match="not an NB201 cell string"):
        NB201Space().parse(["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(ArchitectureError, match=r"option index in 0\.\.4"):
        NB201Space().as_genotypes([[0, 0, 0, 0, 0, 7]])
    with pytest.raises(ArchitectureError, match="write 8 digits"):
        MacroSpace().parse(["0201210"])


def test_macro_canonical_moves_identities_to_the_stage_end():
    space = MacroSpace()
    got = space.format(space.canonical(space.parse(["10201020", "00000000", "01001002"])))
    assert got == ["10210020", "00000000", "01010020"]
