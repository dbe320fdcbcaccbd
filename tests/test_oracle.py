import h5py
import numpy as np
import pytest

from spdbench.errors import (
    ArchitectureError,
    ChecksumError,
    DataFileError,
    InvalidInputError,
    SchemaVersionError,
)
from spdbench.oracles.cached_runs import CachedRunsOracle, read_cached_runs, write_cached_runs
from spdbench.oracles.synthetic import SyntheticSlopeOracle, true_accuracy
from spdbench.simulation.charged import ChargedOracle
from spdbench.simulation.clock import SimulatedClock

from .conftest import SLOPES


def test_round_trip_write_read_query(runs_file, synthetic):
    oracle = CachedRunsOracle.from_file(runs_file)
    archs = np.array([[0.21], [1.51], [0.06]])
    for fidelity in (None, 1, 5):
        for seed in (None, 2):
            got = oracle.query(archs, fidelity, seed, curves=True)
            want = synthetic.query(archs, fidelity, seed, curves=True)
            for name in synthetic.metrics:
                # the table stores float32: equal to the source up to that precision
                np.testing.assert_allclose(got.metrics[name], want.metrics[name], rtol=1e-6)
                np.testing.assert_allclose(got.curves[name], want.curves[name], rtol=1e-6)
            np.testing.assert_allclose(got.cost, want.cost)


def test_cost_is_cumulative_training_time_and_charged_by_the_charged_oracle(runs_file):
    raw = CachedRunsOracle.from_file(runs_file)
    oracle = ChargedOracle(raw)
    runs = raw.runs
    r = oracle.query([[0.51]], fidelity=4, seed=1)
    row = int(np.flatnonzero(np.isclose(runs.archs[:, 0], 0.51))[0])
    col = int(np.flatnonzero(runs.seeds == 1)[0])
    assert r.cost[0] == pytest.approx(runs.train_time[row, col, :4].sum())
    assert oracle.clock.seconds == pytest.approx(r.cost[0]) and oracle.clock.evaluations == 1
    scores = oracle.scores([[0.51], [0.61]], fidelity=10)
    assert oracle.clock.evaluations == 3
    np.testing.assert_array_equal(scores, raw.scores([[0.51], [0.61]], fidelity=10))
    before = oracle.clock.seconds
    oracle.query([[0.51]], charge=False)
    raw.query([[0.51]])  # a plain oracle query is free
    assert oracle.clock.seconds == before and oracle.clock.evaluations == 3
    # it answers for the oracle, and a second wrap shares nothing but the oracle
    assert oracle.space is raw.space and oracle.epochs is raw.epochs
    again = ChargedOracle(oracle)
    assert again.oracle is raw and again.clock.seconds == 0


def test_seed_none_averages_seeds_and_per_arch_seeds(runs_file):
    oracle = CachedRunsOracle.from_file(runs_file)
    archs = [[0.31], [0.41]]
    per_seed = np.stack([oracle.query(archs, seed=s).metrics["valid_acc"] for s in oracle.seeds])
    np.testing.assert_allclose(
        oracle.query(archs).metrics["valid_acc"], per_seed.mean(0), rtol=1e-6
    )
    mixed = oracle.query(archs, seed=np.array([0, 3])).metrics["valid_acc"]
    assert mixed[0] == per_seed[0, 0] and mixed[1] == per_seed[3, 1]


def test_query_errors(runs_file):
    oracle = CachedRunsOracle.from_file(runs_file)
    with pytest.raises(InvalidInputError, match="no fidelity 99"):
        oracle.query([[0.51]], fidelity=99)
    with pytest.raises(InvalidInputError, match="seed 7 was not recorded"):
        oracle.query([[0.51]], seed=7)
    with pytest.raises(ArchitectureError, match="outside space"):
        oracle.query([[0.52]])
    with pytest.raises(InvalidInputError, match="no metric"):
        oracle.metric("bleu")


def test_metric_direction_and_scores(runs_file):
    oracle = CachedRunsOracle.from_file(runs_file)
    assert oracle.metrics["valid_acc"].higher_is_better
    assert not oracle.metrics["valid_loss"].higher_is_better
    archs = [[0.06], [0.26]]
    np.testing.assert_array_equal(
        oracle.scores(archs, "valid_loss"), -oracle.query(archs).metrics["valid_loss"]
    )


def test_synthetic_oracle_is_deterministic_and_peaked():
    a, b = SyntheticSlopeOracle(), SyntheticSlopeOracle()
    x = np.linspace(0.01, 2.01, 201)
    np.testing.assert_array_equal(
        a.query(x, seed=3).metrics["valid_acc"], b.query(x, seed=3).metrics["valid_acc"]
    )
    assert not np.array_equal(
        a.query(x, seed=3).metrics["valid_acc"], a.query(x, seed=4).metrics["valid_acc"]
    )
    peak = x[np.argmax(true_accuracy(x))]
    assert 0.15 < peak < 0.35  # like the paper's peak at 0.23
    curve = a.query([[0.5]], curves=True).curves["valid_acc"][0]
    assert curve[-1] > curve[0]  # it learns


def test_clock_rejects_negative_time():
    clock = SimulatedClock()
    clock.charge(np.array([1.0, 2.0]), evaluations=2)
    assert clock.seconds == 3.0 and clock.evaluations == 2
    with pytest.raises(InvalidInputError):
        clock.charge(-1.0)


# ---- file errors --------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        read_cached_runs(tmp_path / "nope.h5")


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_file(runs_file, damage):
    data = runs_file.read_bytes()
    runs_file.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00not hdf5" * 100)
    with pytest.raises(DataFileError, match="corrupt or truncated"):
        read_cached_runs(runs_file)


def test_wrong_schema_version(runs_file):
    with h5py.File(runs_file, "a") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(SchemaVersionError, match="schema version 99"):
        read_cached_runs(runs_file)


def test_edited_values_fail_the_checksum(runs_file):
    with h5py.File(runs_file, "a") as f:
        f["metrics/valid_acc"][0, 0, 0] = 99.0
    with pytest.raises(ChecksumError, match="does not match"):
        read_cached_runs(runs_file)


def test_not_our_format(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(DataFileError, match="not spdbench cached runs"):
        read_cached_runs(path)


def test_inconsistent_runs_are_not_written(tmp_path, synthetic):
    runs = synthetic.to_cached_runs(SLOPES)
    runs.train_time = runs.train_time[:, :, :3]
    path = tmp_path / "bad.h5"
    with pytest.raises(DataFileError, match="train_time has shape"):
        write_cached_runs(path, runs)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_interrupted_write_leaves_old_file_intact(tmp_path, synthetic, monkeypatch):
    path = tmp_path / "runs.h5"
    write_cached_runs(path, synthetic.to_cached_runs(SLOPES))
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.File, "create_dataset", boom)
    with pytest.raises(KeyboardInterrupt):
        write_cached_runs(path, synthetic.to_cached_runs(SLOPES[:5]))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["runs.h5"]


class WithDeepcopy(SyntheticSlopeOracle):
    def __deepcopy__(self, memo):
        return self


def test_a_charged_oracle_copies_and_pickles_as_itself():
    """Special methods are the wrapper's own, not forwarded to the oracle."""
    import copy
    import pickle

    oracle = ChargedOracle(WithDeepcopy(n_seeds=1, n_epochs=2))
    oracle.query([[0.5]])
    for twin in (copy.deepcopy(oracle), pickle.loads(pickle.dumps(oracle))):
        assert isinstance(twin, ChargedOracle) and twin.clock == oracle.clock
