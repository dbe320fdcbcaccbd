"""NB101 cells: validity as NAS-Bench-101 defines it, variation inside the space, conversion."""

import itertools
import json

import numpy as np
import pytest

from spdbench.errors import ArchitectureError
from spdbench.oracles.cached_runs import CachedRunsOracle
from spdbench.oracles.catalog import Catalog
from spdbench.spaces.nb101 import NB101Space, adjacency, on_path, pruned_edges

SPACE = NB101Space()


def _cell(edges, ops=(0, 1, 2, 0, 1)):
    a = np.zeros((7, 7), dtype=np.int64)
    for i, j in edges:
        a[i, j] = 1
    return np.concatenate([a[np.triu_indices(7, k=1)], ops])[None, :]


def test_validity_follows_nasbench101():
    chain = [(i, i + 1) for i in range(6)]
    assert SPACE.contains(_cell(chain)).all()
    assert not SPACE.contains(_cell(chain[:-1])).any()  # output unreachable
    dense = [*chain, (0, 2), (0, 3), (0, 4), (0, 6)]  # 10 edges, all on input->output paths
    assert pruned_edges(adjacency(_cell(dense)))[0] == 10
    assert not SPACE.contains(_cell(dense)).any()
    # edges into a dead end (node 5) are pruned before counting, as NAS-Bench-101 does
    dead = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]
    assert pruned_edges(adjacency(_cell(dead)))[0] == 5 and SPACE.contains(_cell(dead)).all()
    with pytest.raises(ArchitectureError, match="at most 9 edges"):
        SPACE.as_genotypes(_cell(dense))


def test_sampling_mutation_crossover_stay_valid():
    rng = np.random.default_rng(0)
    g = SPACE.sample(300, rng, unique=True)
    assert SPACE.contains(g).all() and len(np.unique(SPACE.keys(g))) == 300
    m = SPACE.mutate(g, rng)
    assert SPACE.contains(m).all() and ((m != g).sum(axis=1) == 1).all()
    c = SPACE.crossover(g, m, rng)
    assert SPACE.contains(c).all() and ((c == g) | (c == m)).all()
    assert np.array_equal(SPACE.parse(SPACE.format(g)), g)
    assert SPACE.encode(g).shape == (300, 36)


def _relabel(g, perm):
    """Rows `g` with intermediate node i renamed perm[i] (a graph isomorphism)."""
    a = adjacency(g)
    full = np.concatenate([[0], perm, [6]])
    b = np.zeros_like(a)
    b[:, full[:, None], full[None, :]] = a
    ops = np.zeros((len(g), 7), dtype=np.int64)
    ops[:, full[1:6]] = g[:, 21:]
    return np.concatenate([b[:, *np.triu_indices(7, k=1)], ops[:, 1:6]], axis=1), ~np.tril(b).any(
        axis=(1, 2)
    )


def _brute_force_classes(g):
    """Class labels by the lexicographically smallest relabelling of the pruned graph."""
    a = adjacency(g)
    keep = on_path(a)
    a &= keep[:, :, None] & keep[:, None, :]
    labels = np.full((len(g), 7), 3)
    labels[:, 1:6] = g[:, 21:]
    labels[:, 0], labels[:, 6] = 4, 5
    labels[~keep] = 6
    best = None
    for p in itertools.permutations(range(1, 6)):
        full = [0, *p, 6]
        code = np.concatenate([a[:, full][:, :, full].reshape(len(g), -1), labels[:, full]], 1)
        if best is None:
            best = code
            continue
        diff = code != best
        first = diff.argmax(axis=1)
        smaller = diff.any(axis=1) & (
            code[np.arange(len(g)), first] < best[np.arange(len(g)), first]
        )
        best[smaller] = code[smaller]
    return np.unique(best, axis=0, return_inverse=True)[1].ravel()


def test_keys_identify_networks_as_nasbench101_does():
    rng = np.random.default_rng(3)
    g = SPACE.sample(3000, rng)
    keys = SPACE.keys(g)
    # isomorphic relabellings keep the key
    for perm in ([2, 1, 3, 4, 5], [5, 4, 3, 2, 1], [3, 1, 5, 2, 4]):
        h, ok = _relabel(g, np.array(perm))
        assert ok.any() and np.array_equal(SPACE.keys(h[ok]), keys[ok])
    # a dead-end node and its op do not count (NAS-Bench-101 prunes them)
    chain = _cell([(0, 1), (1, 6)], ops=(0, 0, 0, 0, 0))
    dangling = _cell([(0, 1), (1, 6), (1, 2), (0, 3)], ops=(0, 2, 1, 0, 0))
    assert SPACE.keys(chain)[0] == SPACE.keys(dangling)[0]
    assert SPACE.keys(chain)[0] != SPACE.keys(_cell([(0, 1), (1, 6)], ops=(1, 0, 0, 0, 0)))[0]
    # and the key classes are exactly the isomorphism classes of the pruned graphs
    classes = _brute_force_classes(g)
    pairs = set(zip(classes.tolist(), keys.tolist(), strict=True))
    assert len(pairs) == len(set(classes.tolist())) == len(set(keys.tolist()))


def test_subset_conversion_from_the_naslib_layout(tmp_path):
    rng = np.random.default_rng(1)
    cells = SPACE.sample(5, rng, unique=True)
    cells[0] = _cell([(0, 1), (1, 6)])  # nodes 2..5 are off every path
    entries = {}
    for i, row in enumerate(cells):
        a = adjacency(row[None, :])[0].astype(int)
        key = (*a.ravel().tolist(), 0, *(row[21:] + 2).tolist(), 1)
        entries[str(key)] = {
            "flops": 10.0 * i,
            "params": 1.0 + i,
            "synflow": float(i),
            "val_accuracy": 90.0 + i,
        }
    # another spec of cell 0's network (a dead-end node added), with another repeat's accuracy
    spec = adjacency(cells[:1])[0].astype(int)
    spec[0, 3] = 1
    key = (*spec.ravel().tolist(), 0, *(cells[0, 21:] + 2).tolist(), 1)
    entries[str(key)] = {"flops": 99.0, "params": 9.0, "synflow": 9.0, "val_accuracy": 89.5}
    (tmp_path / "zero-cost").mkdir()
    (tmp_path / "zero-cost/zc_nasbench101.json").write_text(
        json.dumps({"nasbench101": {"cifar10": entries}})
    )
    oracle = CachedRunsOracle(Catalog().build("nb101-subset", tmp_path, verify=False))
    q = oracle.query(cells)
    assert q.metrics["valid_acc"].tolist() == [(89.5 + 90.0) / 2, 91.0, 92.0, 93.0, 94.0]
    assert oracle.recorded_runs(cells, "valid_acc").sum(axis=1).tolist() == [2, 1, 1, 1, 1]
    assert oracle.arch_info(cells, "naslib_entries").tolist() == [2, 1, 1, 1, 1]
    assert q.cost.tolist() == [0.0] * 5
    assert oracle.arch_info(cells, "zc_synflow").tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert "zc_synflow_time" not in oracle.arch_info_names  # NB101 records no proxy times
    other = SPACE.sample(50, rng, unique=True)
    other = other[~np.isin(SPACE.keys(other), SPACE.keys(cells))][:1]
    with pytest.raises(ArchitectureError, match="has no recorded runs"):
        oracle.query(other)
    assert len(oracle.sample(5, rng)) == 5 and oracle.size == 5
