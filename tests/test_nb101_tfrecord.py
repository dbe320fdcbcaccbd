"""NAS-Bench-101 from its TFRecord files (no TensorFlow): framing, protobuf, conversion, errors."""

import numpy as np
import pytest
from upstream_files import NB101_CELLS, tfrecord_frame, write_nasbench_tfrecord

from spdbench.convert.tfrecord import iter_records, masked_crc32c, proto_fields
from spdbench.errors import ChecksumError, DataFileError
from spdbench.oracles.cached_runs import CachedRunsOracle
from spdbench.oracles.catalog import Catalog
from spdbench.spaces.nb101 import NB101Space

SPACE = NB101Space()


def _padded(adjacency, ops):
    """The 7-node genotype of a pruned d-node cell (output moved to node 6)."""
    d = len(ops)
    node = [*range(d - 1), 6]
    a = np.zeros((7, 7), dtype=np.int64)
    a[np.ix_(node, node)] = adjacency
    index = {"conv3x3-bn-relu": 0, "conv1x1-bn-relu": 1, "maxpool3x3": 2}
    middle = [index[o] for o in ops[1:-1]] + [0] * (7 - d)
    return np.concatenate([a[np.triu_indices(7, k=1)], middle])


def test_framing_and_wire_format(tmp_path):
    import google_crc32c

    assert google_crc32c.value(b"123456789") == 0xE3069283  # the CRC-32C check value
    path = tmp_path / "r.tfrecord"
    path.write_bytes(tfrecord_frame(b"abc") + tfrecord_frame(b"") + tfrecord_frame(b"x" * 300))
    assert list(iter_records(path)) == [b"abc", b"", b"x" * 300]
    assert masked_crc32c(b"abc") == int.from_bytes(path.read_bytes()[15:19], "little")
    # field 1 double, field 2 varint (multi-byte), field 3 length-delimited
    msg = bytes([0x09]) + np.float64(2.5).tobytes() + bytes([0x10, 0xAC, 0x02, 0x1A, 2]) + b"hi"
    assert list(proto_fields(msg)) == [(1, 2.5), (2, 300), (3, b"hi")]


def test_full_file_converts_every_run_exactly(tmp_path):
    written = write_nasbench_tfrecord(tmp_path / "nasbench_full.tfrecord")
    runs = Catalog().build("nb101", tmp_path, verify=False)
    oracle = CachedRunsOracle(runs)
    assert oracle.epochs.tolist() == [4, 12, 36, 108] and oracle.seeds.tolist() == [0, 1, 2]
    cells = np.stack([_padded(np.array(a), ops) for a, ops in NB101_CELLS])
    assert oracle.size == 3
    for (c, budget, repeat), (train, valid, test, time) in written.items():
        q = oracle.query(cells[c : c + 1], fidelity=budget, seed=repeat)
        assert q.metrics["train_acc"][0] == train
        assert q.metrics["valid_acc"][0] == valid and q.metrics["test_acc"][0] == test
        assert q.cost[0] == pytest.approx(time, rel=1e-12)  # cost to a budget = its run's time
    assert oracle.arch_info(cells, "params").tolist() == [1000, 1001, 1002]
    mean = oracle.query(cells, fidelity=108).metrics["valid_acc"]
    expect = [np.mean([written[c, 108, r][1] for r in range(3)]) for c in range(3)]
    assert np.allclose(mean, expect, rtol=0, atol=1e-15)


def test_any_spec_of_a_recorded_network_finds_it(tmp_path):
    write_nasbench_tfrecord(tmp_path / "nasbench_only108.tfrecord", budgets=(108,))
    oracle = CachedRunsOracle(Catalog().build("nb101-108", tmp_path, verify=False))
    assert oracle.epochs.tolist() == [108]
    stored = _padded(np.array(NB101_CELLS[2][0]), NB101_CELLS[2][1])
    # the 3-node cell (input -> maxpool -> output, plus a skip) written unpruned: the
    # maxpool at node 4 and a dead-end conv at node 2
    a = np.zeros((7, 7), dtype=np.int64)
    a[0, 4] = a[4, 6] = a[0, 6] = a[0, 2] = 1
    spec = np.concatenate([a[np.triu_indices(7, k=1)], [1, 0, 1, 2, 0]])
    q = oracle.query(np.stack([stored, spec]), seed=0).metrics["valid_acc"]
    assert q[0] == q[1]


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(DataFileError, match=r"nasbench_full.tfrecord \(~1.95 GB, sha256 3d64db"):
        Catalog().build("nb101", tmp_path)
    path = tmp_path / "nasbench_full.tfrecord"
    write_nasbench_tfrecord(path)
    with pytest.raises(ChecksumError, match="download it again"):
        Catalog().build("nb101", tmp_path)  # a tiny file is not the published one
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.raises(DataFileError, match="truncated"):
        Catalog().build("nb101", tmp_path, verify=False)
    damaged = bytearray(data)
    damaged[40] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(DataFileError, match="fails its CRC-32C"):
        Catalog().build("nb101", tmp_path, verify=False)
    path.write_bytes(tfrecord_frame(b'["h", 108, "01", "input", "AA=="]'))
    with pytest.raises(DataFileError, match="record 0 is not a NAS-Bench-101 record"):
        Catalog().build("nb101", tmp_path, verify=False)
