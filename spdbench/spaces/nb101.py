"""The NAS-Bench-101 cell space (Ying et al. 2019): a DAG on 7 nodes (input, 5 intermediate,
output), upper-triangular adjacency, each intermediate node one of conv3x3-bn-relu,
conv1x1-bn-relu, maxpool3x3.

A genotype row holds the 21 upper-triangle adjacency bits (row-major: 0->1, 0->2, ..., 5->6)
then the op index (0..2) of nodes 1..5. As in NAS-Bench-101, a matrix is valid when, after
pruning nodes off every input->output path, the output is reachable and at most 9 edges
remain; unpruned matrices are kept as written (benchmarks record them that way).

Keys identify a cell up to what NAS-Bench-101 treats as the same network: nodes off every
input->output path are pruned and isomorphic graphs share a key. As in NB101's own module
hash (Ying et al. 2019, Sec. 2.2; `graph_util.hash_module`), it is a Weisfeiler-Lehman
fingerprint of (out-degree, in-degree, op) labels refined 7 times, computed here on 64-bit
integers for all rows at once. So a query finds the recorded representative of its class.

Encodings (`encode_as`): "adjacency" (36 features: the 21 adjacency bits as written and a
one-hot op per intermediate node, also `encode`) and "path" (364 features: BANANAS' path
encoding, White et al. 2021).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from spdbench import hashing
from spdbench.errors import ArchitectureError, InvalidInputError
from spdbench.spaces.base import SearchSpace
from spdbench.spaces.motif_settings import CellMotifSettings

if TYPE_CHECKING:
    from spdbench.spaces.motifs import MotifNetworks

OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
NODES = 7
MAX_EDGES = 9
N_BITS = NODES * (NODES - 1) // 2  # 21
_IU = np.triu_indices(NODES, k=1)
_BIT_WEIGHTS = 1 << np.arange(N_BITS, dtype=np.int64)
_OP_WEIGHTS = 3 ** np.arange(NODES - 2, dtype=np.int64)
_INPUT_LABEL, _OUTPUT_LABEL = len(OPS), len(OPS) + 1
# BANANAS' path encoding: a path's op sequence (o_0, ..., o_{L-1}) of intermediate nodes, L <= 5,
# has index sum_i 3**i * (o_i + 1) (bijective base 3), so 1 + 3 + ... + 3**5 = 364 indices.
N_PATHS = sum(len(OPS) ** i for i in range(NODES - 1))
_PATH_STARTS = np.cumsum([0] + [len(OPS) ** i for i in range(NODES - 2)])  # first index per length
_PATH_LEN = np.searchsorted(_PATH_STARTS, np.arange(N_PATHS), side="right") - 1
_PATTERN = re.compile(r"^adj=([01]{21});ops=([\w-]+(?:,[\w-]+){4})$")


def adjacency(g: np.ndarray) -> np.ndarray:
    """(n, 7, 7) boolean adjacency matrices of rows `g`."""
    g = np.asarray(g)
    a = np.zeros((g.shape[0], NODES, NODES), dtype=bool)
    a[:, _IU[0], _IU[1]] = g[:, :N_BITS] != 0
    return a


def on_path(a: np.ndarray) -> np.ndarray:
    """(n, 7) mask of nodes on some input->output path."""
    n = a.shape[0]
    reach = np.zeros((n, NODES), dtype=bool)  # reachable from input
    reach[:, 0] = True
    back = np.zeros((n, NODES), dtype=bool)  # reaches the output
    back[:, -1] = True
    for j in range(1, NODES):  # topological order: edges only go i -> j > i
        reach[:, j] = (reach[:, :j] & a[:, :j, j]).any(axis=1)
    for i in range(NODES - 2, -1, -1):
        back[:, i] = (back[:, i + 1 :] & a[:, i, i + 1 :]).any(axis=1)
    return reach & back


def pruned_edges(a: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Edges left after removing nodes off every input->output path (`keep`: `on_path(a)`,
    when the caller has it already)."""
    keep = on_path(a) if keep is None else keep
    return (a[:, _IU[0], _IU[1]] & keep[:, _IU[0]] & keep[:, _IU[1]]).sum(axis=1)


def path_encoding(g: np.ndarray) -> np.ndarray:
    """(n, 364) indicators of the op sequences of the input->output paths of rows `g`
    (BANANAS' `encode_paths` for NAS-Bench-101, vectorized over rows: paths are extended node
    by node in topological order, as sets of path indices per node)."""
    g = np.asarray(g, dtype=np.int64)
    n = g.shape[0]
    a = adjacency(g)
    ops = g[:, N_BITS:]
    ext = len(OPS) ** _PATH_LEN  # index + ext * (op + 1): the path extended by op
    reach = np.zeros((n, NODES, N_PATHS), dtype=bool)  # paths from input ending at each node
    reach[:, 0, 0] = True  # the empty path
    for j in range(1, NODES):
        for i in range(j):
            src = reach[:, i] & a[:, i, j, None]
            if i == 0:
                reach[:, j] |= src
                continue
            r, idx = np.nonzero(src)  # extend by the op of node i (paths through it)
            reach[r, j, idx + ext[idx] * (ops[r, i - 1] + 1)] = True
    return reach[:, -1].astype(np.float64)


def packed_keys(g: np.ndarray) -> np.ndarray:
    """Exact keys of the rows as written: the 21 bits plus the ops in base 3 above them."""
    g = np.asarray(g, dtype=np.int64)
    return g[:, :N_BITS] @ _BIT_WEIGHTS + (g[:, N_BITS:] @ _OP_WEIGHTS) * (1 << N_BITS)


_IN_FACTOR, _OUT_FACTOR = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)


def graph_keys(g: np.ndarray) -> np.ndarray:
    """int64 fingerprints equal for cells that prune to isomorphic labelled graphs."""
    g = np.asarray(g, dtype=np.int64)
    a = adjacency(g)
    keep = on_path(a)
    a &= keep[:, :, None] & keep[:, None, :]  # prune: drop nodes off every path
    edges = a.astype(np.uint64)
    label = np.empty(keep.shape, dtype=np.uint64)
    label[:, 0], label[:, -1] = _INPUT_LABEL, _OUTPUT_LABEL
    label[:, 1:-1] = g[:, N_BITS:]
    out_deg, in_deg = edges.sum(axis=2), edges.sum(axis=1)
    h = hashing.mix64(label + (out_deg << np.uint64(8)) + (in_deg << np.uint64(16)))
    for _ in range(NODES):  # multisets of neighbour hashes, as sums of mixed values
        m = hashing.mix64(h)
        from_in = np.einsum("nwv,nw->nv", edges, m)
        from_out = np.einsum("nvw,nw->nv", edges, m)
        h = hashing.mix64(h + from_in * _IN_FACTOR + from_out * _OUT_FACTOR)
    return np.where(keep, hashing.mix64(h), np.uint64(0)).sum(axis=1).view(np.int64)


class NB101Space(CellMotifSettings, SearchSpace):
    name = "nb101"
    description = "NAS-Bench-101 cells: 7-node DAGs, <= 9 edges, 3 ops (Ying et al. 2019)"
    dims = N_BITS + NODES - 2
    dtype = np.dtype(np.int64)
    encodings = ("adjacency", "path")

    def config(self) -> dict[str, Any]:
        return {}

    @property
    def size(self) -> None:
        return None  # finite (423,624 graphs up to isomorphism) but never enumerated

    def contains(self, g: np.ndarray) -> np.ndarray:
        bits, ops = g[:, :N_BITS], g[:, N_BITS:]
        ok = ((bits == 0) | (bits == 1)).all(axis=1) & ((ops >= 0) & (ops < len(OPS))).all(axis=1)
        a = adjacency(np.where(ok[:, None], g, 0))
        keep = on_path(a)  # keep[:, -1]: the output lies on an input->output path
        return ok & keep[:, -1] & (pruned_edges(a, keep) <= MAX_EDGES)

    def explain_outside(self, row: np.ndarray) -> str:
        return (
            "a cell needs 21 adjacency bits and 5 op indices 0..2, an input->output path, and "
            f"at most {MAX_EDGES} edges on input->output paths"
        )

    def format(self, g: np.ndarray) -> list[str]:
        out = []
        for row in np.asarray(g, dtype=np.int64):
            ops = [OPS[v] if 0 <= v < len(OPS) else str(v) for v in row[N_BITS:]]
            out.append("adj=" + "".join(str(b) for b in row[:N_BITS]) + ";ops=" + ",".join(ops))
        return out

    def parse(self, texts: Sequence[str]) -> np.ndarray:
        index = {op: i for i, op in enumerate(OPS)}
        rows = []
        for text in texts:
            m = _PATTERN.match(text.strip())
            ops = m.group(2).split(",") if m else []
            if m is None or any(op not in index for op in ops):
                raise ArchitectureError(
                    f"{text!r} is not an NB101 cell: write adj=<21 upper-triangle bits, row-major>"
                    f";ops=<5 of {', '.join(OPS)}>"
                )
            rows.append([int(c) for c in m.group(1)] + [index[op] for op in ops])
        return self.as_genotypes(np.array(rows, dtype=np.int64).reshape(-1, self.dims))

    def keys(self, g: np.ndarray) -> np.ndarray:
        """Equal for cells NAS-Bench-101 treats as one network (pruned, isomorphic)."""
        return graph_keys(g)

    def exact_keys(self, g: np.ndarray) -> np.ndarray:
        return packed_keys(g)

    def motif_networks(
        self,
        g: np.ndarray,
        *,
        hidden: int = 3,
        image_size: int = 4,
        out_width: int = 10,
        **_unused: int,
    ) -> MotifNetworks:
        """Each cell as Cassimon et al.'s motif C (see spdbench.spaces.nb101_motifs)."""
        from spdbench.spaces.nb101_motifs import NB101MotifNetworks

        return NB101MotifNetworks(
            self.as_genotypes(g), hidden=hidden, image_size=image_size, out_width=out_width
        )

    def encode(self, g: np.ndarray) -> np.ndarray:
        """The "adjacency" encoding."""
        return self.encode_adjacency(g)

    def encode_path(self, g: np.ndarray) -> np.ndarray:
        """BANANAS' path encoding, 364 features (see `path_encoding`)."""
        return path_encoding(g)

    def encode_adjacency(self, g: np.ndarray) -> np.ndarray:
        """21 adjacency bits (as written, row-major upper triangle) and a one-hot op per
        intermediate node (36 features)."""
        onehot = np.eye(len(OPS))[g[:, N_BITS:]].reshape(g.shape[0], -1)
        return np.concatenate([g[:, :N_BITS].astype(np.float64), onehot], axis=1)

    # ---- sampling and variation: propose, keep the valid rows, re-propose the rest ----------
    def sample(self, n: int, rng: np.random.Generator, *, unique: bool = False) -> np.ndarray:
        self._check_count(n, unique)
        parts, seen, count, drawn = [], np.empty(0, dtype=np.int64), 0, 0
        while count < n:
            if drawn > 20 * n + 10_000:  # unique draws: random specs rarely hit big networks
                raise InvalidInputError(
                    f"drew only {count:,} distinct NB101 networks of the {n:,} asked for; "
                    "ask for fewer or sample from a benchmark's recorded cells"
                )
            m = 4 * (n - count) + 16
            drawn += m
            cand = np.concatenate(
                [rng.integers(0, 2, (m, N_BITS)), rng.integers(0, len(OPS), (m, NODES - 2))],
                axis=1,
            )
            cand = cand[self.contains(cand)]
            if unique:  # keep the first draw of each network not drawn before
                keys = self.keys(cand)
                _, first = np.unique(keys, return_index=True)
                first = np.sort(first)
                first = first[~np.isin(keys[first], seen)]
                cand, seen = cand[first], np.concatenate([seen, keys[first]])
            parts.append(cand)
            count += len(cand)
        return np.concatenate(parts)[:n] if parts else np.empty((0, self.dims), dtype=np.int64)

    def mutate(self, g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Flip one adjacency bit or change one op, re-drawn until the cell stays valid."""
        g = self.as_genotypes(g)
        out = g.copy()
        todo = np.arange(len(g))
        while todo.size:
            cand = g[todo].copy()
            pos = rng.integers(0, self.dims, size=todo.size)
            rows = np.arange(todo.size)
            is_bit = pos < N_BITS
            shift = rng.integers(1, len(OPS), size=todo.size)
            cand[rows, pos] = np.where(
                is_bit, 1 - cand[rows, pos], (cand[rows, pos] + shift) % len(OPS)
            )
            ok = self.contains(cand)
            out[todo[ok]] = cand[ok]
            todo = todo[~ok]
        return out

    def crossover(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Uniform crossover of bits and ops; invalid children are re-drawn (20 tries, then
        the first parent)."""
        a, b = self.as_genotypes(a), self.as_genotypes(b)
        out = a.copy()
        todo = np.arange(len(a))
        for _ in range(20):
            if not todo.size:
                break
            cand = np.where(rng.random((todo.size, self.dims)) < 0.5, a[todo], b[todo])
            ok = self.contains(cand)
            out[todo[ok]] = cand[ok]
            todo = todo[~ok]
        return out
