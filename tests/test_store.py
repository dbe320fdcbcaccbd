"""The results store: appends that do not rewrite the table, several writers that lose
nothing, compaction that changes nothing a reader sees, one-line errors for damaged files."""

import multiprocessing

import pandas as pd
import pytest

from spdbench.errors import DataFileError
from spdbench.harness.store import ResultsStore


def _row(key: str, value: float = 0.0) -> dict:
    return {"job_key": key, "config_hash": key.split("/")[0], "value": value}


def test_append_writes_one_file_and_leaves_the_table_alone(tmp_path):
    store = ResultsStore(tmp_path)
    store.append([_row("h/knn/r0/n5")])
    store.compact()
    before = store.path.stat()
    store.append([_row("h/knn/r1/n5", 1.0), _row("h/random/r0/n5", 2.0)])
    after = store.path.stat()
    assert (before.st_mtime_ns, before.st_size) == (after.st_mtime_ns, after.st_size)
    assert len(list(store.jobs.iterdir())) == 2
    assert store.finished() == {"h/knn/r0/n5", "h/knn/r1/n5", "h/random/r0/n5"}
    table = store.read()
    assert list(table["job_key"]) == ["h/knn/r0/n5", "h/knn/r1/n5", "h/random/r0/n5"]


def test_compaction_changes_nothing_a_reader_sees(tmp_path):
    store = ResultsStore(tmp_path)
    for i in range(5):
        store.append([_row(f"h/knn/r{i}/n5", float(i))])
    store.append([_row("h/knn/r2/n5", 20.0)])  # a rerun replaces its row
    before = store.read()
    assert store.compact() == 5 and store.compact() == 0
    pd.testing.assert_frame_equal(store.read(), before)
    assert not list(store.jobs.iterdir())
    assert before.set_index("job_key").loc["h/knn/r2/n5", "value"] == 20.0


def test_a_job_file_replaced_during_compaction_is_kept(tmp_path, monkeypatch):
    """Another process reruns a key while a compaction merges its older file: the newer row
    must survive (it is merged by the next compaction), not be deleted unread."""
    from spdbench.harness import store as store_mod

    store = ResultsStore(tmp_path)
    store.append([_row("h/knn/r0/n5", 1.0)])
    real_write = store_mod._write

    def write_then_race(table, path):
        real_write(table, path)
        if path.parent == tmp_path:  # the compacted table is written: the other process lands
            ResultsStore(tmp_path).append([_row("h/knn/r0/n5", 2.0)])

    monkeypatch.setattr(store_mod, "_write", write_then_race)
    store.compact()
    monkeypatch.setattr(store_mod, "_write", real_write)
    assert store.read().set_index("job_key").loc["h/knn/r0/n5", "value"] == 2.0
    store.compact()
    assert store.read().set_index("job_key").loc["h/knn/r0/n5", "value"] == 2.0


def _append_many(root: str, worker: int, n: int) -> None:
    store = ResultsStore(root)
    for i in range(n):
        store.append([_row(f"h/p{worker}/r{i}/n5", float(i))])
        if i % 25 == 0:
            store.compact()


def test_concurrent_writers_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), w, 150)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    store = ResultsStore(tmp_path)
    assert len(store.read()) == 300 and len(store.finished()) == 300
    store.compact()
    assert len(pd.read_parquet(store.path)) == 300


def test_a_damaged_job_file_is_named(tmp_path):
    store = ResultsStore(tmp_path)
    store.append([_row("h/knn/r0/n5")])
    (path,) = store.jobs.iterdir()
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataFileError, match=r"results file .*knn.* is unreadable.*move that file"):
        store.read()


def test_flipped_bits_never_change_results_silently(tmp_path):
    """400 single-bit flips in a stored job file: each one is caught (page checksums, range
    checks) or leaves the values unchanged."""
    import numpy as np

    rng = np.random.default_rng(0)
    row = {**_row("h/knn/r0/n5"), "kendall_tau": 0.25, "truth": list(rng.normal(size=40)),
           "predictions": list(rng.normal(size=40))}  # fmt: skip
    store = ResultsStore(tmp_path)
    store.append([row])
    (path,) = store.jobs.iterdir()
    clean, expected = path.read_bytes(), store.read()
    outcomes = {"caught": 0, "unchanged": 0}
    for _ in range(400):
        damaged = bytearray(clean)
        damaged[rng.integers(len(damaged))] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(damaged))
        try:
            got = store.read()
        except DataFileError:
            outcomes["caught"] += 1
            continue
        for column in expected:  # not caught: then nothing a reader sees may differ
            assert [np.asarray(v).tolist() for v in got[column]] == [
                np.asarray(v).tolist() for v in expected[column]
            ], column
        outcomes["unchanged"] += 1
    assert outcomes["caught"] > 200, outcomes  # the rest hit bytes no reader uses


def test_impossible_values_are_damage_not_results(tmp_path):
    store = ResultsStore(tmp_path)
    store.append([{**_row("h/knn/r0/n5"), "kendall_tau": 1.965}])
    with pytest.raises(DataFileError, match=r"kendall_tau = 1\.965 .* outside \[-1\.0, 1\.0\]"):
        store.read()


def test_a_foreign_file_among_the_jobs_is_named(tmp_path):
    store = ResultsStore(tmp_path)
    store.append([_row("h/knn/r0/n5")])
    pd.DataFrame({"a": [1, 2]}).to_parquet(store.jobs / "foo.parquet")
    with pytest.raises(DataFileError, match=r"foo\.parquet is unreadable .*not a spdbench results"):
        store.read()
