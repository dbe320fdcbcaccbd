"""Sharded sigmoid-slope ground truth: seed ranges, seed independence, merging and refusals."""

import itertools
import json

import h5py
import numpy as np
import pytest
import torch

from spdbench.errors import ConfigError
from spdbench.groundtruth import idx, sigmoid_slope
from spdbench.groundtruth.shards import merge_shards, parse_seeds
from spdbench.groundtruth.sigmoid_slope import SigmoidSlopeTrainer, generate
from spdbench.oracles.cached_runs import read_cached_runs, write_cached_runs

from .test_groundtruth import _config, _write_dataset

TINY = ("--slopes", "0.1,0.9", "--epochs", "1", "--n-train", "100", "--n-valid", "40")


@pytest.fixture
def fake_clock(monkeypatch):
    """Every seed-epoch takes exactly 1 s, so recorded train times are reproducible."""
    ticks = itertools.count()
    monkeypatch.setattr(sigmoid_slope, "clock", lambda: float(next(ticks)))


@pytest.fixture
def toy(tmp_path):
    return _write_dataset(tmp_path / "toy-mnist")


def test_parse_seeds():
    assert parse_seeds("3") == (0, 1, 2) and parse_seeds(4) == (0, 1, 2, 3)
    assert parse_seeds("5:8") == (5, 6, 7)
    for bad in ("0", "4:4", "-1:2", "a:b", "1:2:3"):
        with pytest.raises(ConfigError, match="seeds"):
            parse_seeds(bad)


def test_a_seed_trains_the_same_in_any_shard(tmp_path):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))

    def records(seeds):
        trainer = SigmoidSlopeTrainer(_config(epochs=2, seeds=seeds), ds, torch.device("cpu"))
        for _ in range(2):
            trainer.train_epoch()
        return trainer.records

    whole = records((0, 1, 2))
    for shard in ((1,), (1, 2), (0, 1)):
        part = records(shard)
        for name in whole:  # bit for bit, not merely close
            np.testing.assert_array_equal(part[name][:, shard.index(1)], whole[name][:, 1])


def test_merged_shards_equal_one_run(tmp_path, fake_clock):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    whole = generate(_config(seeds=(0, 1, 2, 3)), ds, tmp_path / "whole.h5", device="cpu")
    for seeds in ((2, 3), (0, 1)):  # merged in seed order whatever the shards' order
        generate(_config(seeds=seeds), ds, tmp_path / f"s{seeds[0]}.h5", device="cpu")
    merged = merge_shards([tmp_path / "s2.h5", tmp_path / "s0.h5"])
    assert merged.content_checksum() == whole.content_checksum()
    assert merged.generator["config"] == whole.generator["config"]
    assert merged.generator["config_hash"] == whole.generator["config_hash"]
    assert "4 seeds" in merged.description
    assert [p["seeds"] for p in merged.provenance["shards"]] == ["2:4", "0:2"]


def test_a_merged_benchmark_extends_with_new_shards(tmp_path, fake_clock):
    """How the shipped ground truth grows: merge it, as a shard, with newly trained seeds;
    the result equals merging every shard at once, and the merged file itself."""
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    for seeds in ((0,), (3,), (5, 6)):
        generate(_config(seeds=seeds), ds, tmp_path / f"s{seeds[0]}.h5", device="cpu")
    first = merge_shards([tmp_path / "s0.h5", tmp_path / "s5.h5"])
    write_cached_runs(tmp_path / "shipped.h5", first)
    grown = merge_shards([tmp_path / "shipped.h5", tmp_path / "s3.h5"])
    at_once = merge_shards([tmp_path / "s0.h5", tmp_path / "s3.h5", tmp_path / "s5.h5"])
    assert grown.seeds.tolist() == [0, 3, 5, 6]
    assert grown.content_checksum() == at_once.content_checksum()
    with pytest.raises(ConfigError, match="seed"):  # a seed it already holds
        merge_shards([tmp_path / "shipped.h5", tmp_path / "s0.h5"])


def _shard(cli, toy, seeds, *extra):
    r = cli("groundtruth", "sigmoid-slope", "--data", str(toy), *TINY, "--seeds", seeds, *extra)
    assert r.code == 0, r.err


def test_cli_shards_merge_into_a_registered_benchmark(cli, tmp_path, toy, monkeypatch, fake_clock):
    data = tmp_path / "data"
    monkeypatch.setenv("SPDBENCH_DATA", str(data))
    _shard(cli, toy, "0:2")
    _shard(cli, toy, "2:3")
    shards = sorted((data / "shards").glob("*.h5"))
    assert [p.name for p in shards] == [
        "sigmoid-slope-mnist.seeds-0-2.h5",
        "sigmoid-slope-mnist.seeds-2-3.h5",
    ]
    assert not (data / "catalog.json").exists()  # shards are not benchmarks
    assert read_cached_runs(shards[0]).generator["command"].count("--seeds 0:2") == 1

    r = cli("groundtruth", "merge", *map(str, shards))
    assert r.code == 0, r.err
    (entry,) = json.loads((data / "catalog.json").read_text())["benchmarks"]
    assert entry["name"] == "sigmoid-slope-mnist" and entry["command"].startswith(
        "spdbench groundtruth merge sigmoid-slope-mnist.seeds-0-2.h5"
    )
    merged = read_cached_runs(data / entry["file"])
    assert merged.seeds.tolist() == [0, 1, 2]

    # the same three seeds in one run (--seeds N, the benchmark itself) hold the same content
    other = tmp_path / "other"
    monkeypatch.setenv("SPDBENCH_DATA", str(other))
    _shard(cli, toy, "3")
    whole = read_cached_runs(other / "sigmoid-slope-mnist.h5")
    assert whole.content_checksum() == merged.content_checksum()


def test_a_run_named_as_a_shipped_benchmark_says_it_takes_its_place(
    cli, tmp_path, toy, monkeypatch
):
    monkeypatch.setenv("SPDBENCH_DATA", str(tmp_path / "data"))
    r = cli("groundtruth", "sigmoid-slope", "--data", str(toy), *TINY, "--seeds", "1",
            "--benchmark", "sigmoid-slope-fashion-mnist")  # fmt: skip
    assert r.code == 0, r.err
    assert "takes the place of the shipped one" in " ".join(r.out.split())
    r = cli("groundtruth", "sigmoid-slope", "--data", str(toy), *TINY, "--seeds", "1")
    assert r.code == 0 and "takes the place" not in r.out


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            ("--seeds", "2:3", "--epochs", "2"),
            "disagree on generator config (all but seeds): epochs",
        ),
        (("--seeds", "2:3", "--slopes", "0.1,0.8"), "disagree on"),
        (("--seeds", "1:3"), "seed 1 is in both"),
    ],
)
def test_merge_refuses_shards_that_do_not_belong_together(cli, tmp_path, toy, second, message):
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "merged.h5"
    _shard(cli, toy, "0:2", "--out", str(a))
    r = cli("groundtruth", "sigmoid-slope", "--data", str(toy), *TINY, *second, "--out", str(b))
    assert r.code == 0, r.err
    r = cli("groundtruth", "merge", str(a), str(b), "--out", str(out))
    assert r.code == 2 and message in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".merged.h5.*"))


def test_merge_refuses_a_damaged_shard(cli, tmp_path, toy):
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "merged.h5"
    _shard(cli, toy, "0:1", "--out", str(a))
    _shard(cli, toy, "1:2", "--out", str(b))
    with h5py.File(b, "r+") as f:
        f["metrics/valid_acc"][0, 0, 0] += 1.0
    r = cli("groundtruth", "merge", str(a), str(b), "--out", str(out))
    assert r.code == 2 and "b.h5" in r.err and "checksum" in r.err, r.err
    assert not out.exists()
    b.write_bytes(b.read_bytes()[:1000])  # truncated
    r = cli("groundtruth", "merge", str(a), str(b), "--out", str(out))
    assert r.code == 2 and "corrupt or truncated" in r.err, r.err
    r = cli("groundtruth", "merge", str(a), str(a), "--out", str(out))
    assert r.code == 2 and "named twice" in r.err
    assert not out.exists()


def test_a_checkpoint_of_the_old_layout_is_refused(tmp_path):
    ds = idx.load_dataset(_write_dataset(tmp_path / "d"))
    out = tmp_path / "x.h5"
    torch.save({"config_hash": _config().hash(), "epoch": 1}, out.with_name("x.h5.ckpt"))
    with pytest.raises(ConfigError, match="older spdbench"):
        generate(_config(), ds, out, device="cpu")


def test_shard_size_trains_groups_merges_and_resumes(cli, tmp_path, toy, monkeypatch, fake_clock):
    from spdbench.harness import groundtruth_shards

    trained = []
    real_train = groundtruth_shards.train

    def counting_train(config, *args, **kwargs):
        trained.append(config.seeds)
        return real_train(config, *args, **kwargs)

    monkeypatch.setattr(groundtruth_shards, "train", counting_train)
    data = tmp_path / "data"
    monkeypatch.setenv("SPDBENCH_DATA", str(data))
    _shard(cli, toy, "3", "--shard-size", "2")
    assert trained == [(0, 1), (2,)]
    merged = read_cached_runs(data / "sigmoid-slope-mnist.h5")
    (entry,) = json.loads((data / "catalog.json").read_text())["benchmarks"]
    assert entry["command"].endswith("--shard-size 2")
    shard_files = sorted(p.name for p in (data / "shards").glob("*.h5"))
    assert shard_files == ["sigmoid-slope-mnist.seeds-0-2.h5", "sigmoid-slope-mnist.seeds-2-3.h5"]
    assert "--seeds 2:3" in read_cached_runs(data / "shards" / shard_files[1]).generator["command"]

    # a rerun trains only the group whose shard file is missing
    (data / "shards" / shard_files[1]).unlink()
    trained.clear()
    _shard(cli, toy, "3", "--shard-size", "2")
    assert trained == [(2,)]

    one = tmp_path / "one"
    monkeypatch.setenv("SPDBENCH_DATA", str(one))
    _shard(cli, toy, "3")
    assert read_cached_runs(one / "sigmoid-slope-mnist.h5").content_checksum() == (
        merged.content_checksum()
    )

    # a shard file of another config is not silently reused
    monkeypatch.setenv("SPDBENCH_DATA", str(data))
    r = cli(
        "groundtruth", "sigmoid-slope", "--data", str(toy), *TINY[:-1], "50", "--seeds", "3",
        "--shard-size", "2",
    )  # fmt: skip
    assert r.code == 2 and "another configuration" in r.err, r.err


def test_shards_run_as_dask_tasks(cli, tmp_path, toy, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setenv("SPDBENCH_DATA", str(tmp_path / "dask"))
    _shard(cli, toy, "3", "--executor", "dask", "--dask-workers", "2")
    on_dask = read_cached_runs(tmp_path / "dask" / "sigmoid-slope-mnist.h5")
    assert [p["seeds"] for p in on_dask.provenance["shards"]] == ["0:1", "1:2", "2:3"]
    monkeypatch.setenv("SPDBENCH_DATA", str(tmp_path / "local"))
    _shard(cli, toy, "3")
    local = read_cached_runs(tmp_path / "local" / "sigmoid-slope-mnist.h5")
    assert on_dask.seeds.tolist() == [0, 1, 2]
    for name in local.metrics:  # train times are wall clock; the runs themselves are equal
        np.testing.assert_array_equal(on_dask.metrics[name], local.metrics[name])


def test_bad_executor_options_are_one_line(cli, toy):
    r = cli("groundtruth", "sigmoid-slope", "--data", str(toy), *TINY, "--dask-workers", "2")
    assert r.code == 2 and "--dask-workers needs --executor dask" in r.err
    r = cli("groundtruth", "sigmoid-slope", "--data", str(toy), *TINY, "--shard-size", "0")
    assert r.code == 2 and "shard size must be at least 1" in r.err


def test_partly_trained_groups_resume_first(tmp_path):
    """A group an interrupted run left a checkpoint of goes before fresh seeds (locally in
    that order; on Dask with a higher priority); the others keep seed order."""
    from spdbench.groundtruth.sigmoid_slope import checkpoint_path
    from spdbench.harness.groundtruth_shards import ShardPlan, resume_order, shard_jobs

    plan = ShardPlan(_config(seeds=(0, 1, 2, 3)), None, tmp_path, "b", "")
    jobs = shard_jobs((0, 1, 2, 3), 1)
    checkpoint_path(plan.shard_path(jobs[2])).write_bytes(b"")
    ordered = resume_order(plan, jobs)
    assert [job.seeds for job in ordered] == [(2,), (0,), (1,), (3,)]
    assert [job.priority for job in ordered] == [1, 0, 0, 0]
    assert ordered[0].key == jobs[2].key  # the priority is not part of what a job trains
