"""Named encodings of the spaces: shapes, values against BANANAS' reference code (written out
here row by row), and the one-line error for an encoding a space does not offer."""

from __future__ import annotations

import numpy as np
import pytest

from spdbench.errors import ConfigError
from spdbench.spaces.macro import MacroSpace
from spdbench.spaces.nb101 import N_BITS, NODES, NB101Space
from spdbench.spaces.nb201 import NB201Space
from spdbench.spaces.slope import SlopeSpace

RNG = np.random.default_rng(0)


def _nb101_paths_reference(row: np.ndarray) -> np.ndarray:
    """BANANAS' `Cell.encode_paths` (naszilla, nas_bench/cell_101.py), one cell at a time."""
    matrix = np.zeros((NODES, NODES), dtype=int)
    matrix[np.triu_indices(NODES, k=1)] = row[:N_BITS]
    ops = [None, *row[N_BITS:], None]
    paths: list[list[list[int]]] = [[[]] if matrix[0][j] else [] for j in range(NODES)]
    for i in range(1, NODES - 1):
        for j in range(1, NODES):
            if matrix[i][j]:
                for path in paths[i]:
                    paths[j].append([*path, ops[i]])
    enc = np.zeros(364)
    for path in paths[-1]:
        enc[sum(3**i * (op + 1) for i, op in enumerate(path))] = 1
    return enc


def _nb201_paths_reference(row: np.ndarray) -> np.ndarray:
    """BANANAS' `Cell201.encode_paths` (naszilla, nas_bench_201/cell_201.py)."""
    enc = np.zeros(155)
    for i, blueprint in enumerate([[3], [0, 4], [1, 5], [0, 2, 5]]):
        index = 0 if i == 0 else (5 if i in (1, 2) else 5 + 25)
        index += sum(int(row[e]) * 5**j for j, e in enumerate(blueprint))
        enc[index] = 1
    return enc


def test_offered_encodings_per_space() -> None:
    assert NB201Space().offered_encodings() == ("features", "onehot", "path")
    assert NB101Space().offered_encodings() == ("features", "adjacency", "path")
    assert MacroSpace().offered_encodings() == ("features", "onehot")
    assert SlopeSpace().offered_encodings() == ("features",)


def test_nb101_path_encoding_matches_bananas() -> None:
    space = NB101Space()
    g = space.sample(300, RNG)
    got = space.encode_as(g, "path")
    assert got.shape == (300, 364)
    want = np.stack([_nb101_paths_reference(row) for row in g])
    np.testing.assert_array_equal(got, want)


def test_nb101_path_encoding_by_hand() -> None:
    # input -> 1 (conv3x3) -> output, and input -> output directly: paths (), (conv3x3,)
    bits = np.zeros(N_BITS, dtype=np.int64)
    iu = list(zip(*np.triu_indices(NODES, k=1), strict=True))
    for edge in [(0, 1), (1, 6), (0, 6)]:
        bits[iu.index(edge)] = 1
    g = np.concatenate([bits, [0, 0, 0, 0, 0]])[None, :]
    enc = NB101Space().encode_as(g, "path")[0]
    assert set(np.flatnonzero(enc)) == {0, 1}


def test_nb201_path_encoding_matches_bananas() -> None:
    space = NB201Space()
    g = space.sample(500, RNG)
    got = space.encode_as(g, "path")
    assert got.shape == (500, 155)
    np.testing.assert_array_equal(got, np.stack([_nb201_paths_reference(r) for r in g]))
    assert set(got.sum(axis=1)) <= {3.0, 4.0}  # 4 paths, the two of length 2 may coincide


@pytest.mark.parametrize(("space", "width"), [(NB201Space(), 30), (MacroSpace(), 24)])
def test_onehot(space, width) -> None:
    g = space.sample(50, RNG)
    x = space.encode_as(g, "onehot")
    assert x.shape == (50, width)
    np.testing.assert_array_equal(x.reshape(50, space.dims, -1).argmax(axis=2), g)
    np.testing.assert_array_equal(space.encode_as(g, "features"), x)


def test_nb101_adjacency() -> None:
    space = NB101Space()
    g = space.sample(40, RNG)
    x = space.encode_as(g, "adjacency")
    assert x.shape == (40, 36)
    np.testing.assert_array_equal(x[:, :N_BITS], g[:, :N_BITS])
    np.testing.assert_array_equal(x[:, N_BITS:].reshape(40, 5, 3).argmax(axis=2), g[:, N_BITS:])


def test_encoding_not_offered_names_the_offered_ones() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^space 'nb201' offers no encoding 'adjacency'; it "
        r"offers: features, onehot, path$",
    ):
        NB201Space().encode_as(np.zeros((1, 6), dtype=np.int64), "adjacency")
    with pytest.raises(ConfigError, match=r"offers: features$"):
        SlopeSpace().check_encoding("path")


def test_path_encoding_is_vectorized_fast_enough() -> None:
    """A whole NB201 table and 10,000 NB101 cells encode in well under a second each."""
    import time

    space = NB201Space()
    t0 = time.perf_counter()
    space.encode_as(space.enumerate(), "path")
    nb101 = NB101Space()
    g = nb101.sample(10_000, RNG)
    nb101.encode_as(g, "path")
    assert time.perf_counter() - t0 < 5.0


def test_every_registered_space_implements_its_encodings() -> None:
    from spdbench import plugins

    for name in plugins.names("space"):
        cls = plugins.load("space", name)
        for enc in cls.encodings:
            assert callable(getattr(cls, "encode_" + enc.replace("-", "_"), None)), (name, enc)
