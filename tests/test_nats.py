"""NATS-Bench fast-mode directories converted through the nats_bench package: every seed and
epoch equals what the official API returns; missing or damaged files give one-line errors."""

import nats_bench
import pytest
from upstream_files import write_nats_directory

from spdbench.errors import DataFileError
from spdbench.oracles.cached_runs import CachedRunsOracle
from spdbench.oracles.catalog import Catalog


@pytest.fixture(scope="module")
def tss(tmp_path_factory):
    root = tmp_path_factory.mktemp("nats")
    directory = write_nats_directory(root, "tss", n=6)
    return root, nats_bench.create(str(directory), "tss", fast_mode=True, verbose=False)


@pytest.mark.parametrize("dataset", ["cifar100", "cifar10-valid"])
def test_every_seed_and_epoch_equals_the_nats_bench_api(tss, dataset):
    root, api = tss
    oracle = CachedRunsOracle(
        Catalog().build(f"nats-tss-{dataset}", root, workers=2, trust_pickles=True)
    )
    archs = oracle.space.parse([api.arch(i) for i in range(len(api))])
    assert oracle.seeds.tolist() == [777, 888, 999] and oracle.epochs[-1] == 200
    for i in range(len(api)):
        for seed in api.query_meta_info_by_index(i, "200").get_dataset_seeds(dataset):
            for iepoch in (0, 49, 199):
                want = api.get_more_info(i, dataset, iepoch=iepoch, hp="200", is_random=seed)
                q = oracle.query(archs[i : i + 1], fidelity=iepoch + 1, seed=seed)
                for ours, theirs in (("valid_acc", "valid-accuracy"), ("test_loss", "test-loss")):
                    assert q.metrics[ours][0] == want[theirs]
                assert q.metrics["train_acc"][0] == want["train-accuracy"]
                assert q.cost[0] == pytest.approx(want["train-all-time"], rel=1e-12)
    # arch 0 has no run of seed 999: NaN, and it is not among its recorded runs
    assert oracle.recorded_runs(archs[:1], "valid_acc").tolist() == [[True, True, False]]
    # ... and it costs the mean of the recorded runs
    cost = [oracle.query(archs[:1], seed=s).cost[0] for s in (777, 888, 999)]
    assert cost[2] == pytest.approx((cost[0] + cost[1]) / 2, rel=1e-12)
    costs = api.get_cost_info(3, dataset, hp="200")
    assert oracle.arch_info(archs[3:4], "params")[0] == costs["params"]
    assert oracle.arch_info(archs[3:4], "flops")[0] == costs["flops"]


def test_short_schedule_and_isomorphism_classes(tss):
    root, api = tss
    oracle = CachedRunsOracle(
        Catalog().build("nats-tss-cifar100-hp12", root, workers=1, trust_pickles=True)
    )
    assert oracle.epochs.tolist() == list(range(1, 13)) and oracle.seeds.tolist() == [111]
    archs = oracle.space.parse([api.arch(i) for i in range(len(api))])
    want = api.get_more_info(2, "cifar100", hp="12", is_random=111)["valid-accuracy"]
    assert oracle.query(archs[2:3]).metrics["valid_acc"][0] == want
    classes = oracle.arch_info(archs, "iso_class")
    unique = [api.get_unique_str(i) for i in range(len(api))]
    for a in range(len(api)):
        for b in range(len(api)):
            assert (classes[a] == classes[b]) == (unique[a] == unique[b])


def test_size_space_and_cifar10_without_a_validation_set(tmp_path):
    directory = write_nats_directory(tmp_path, "sss", n=5)
    runs = Catalog().build("nats-sss-cifar10", tmp_path, workers=1, trust_pickles=True)
    api = nats_bench.create(str(directory), "sss", fast_mode=True, verbose=False)
    assert runs.space.name == "nats-sss" and runs.epochs[-1] == 90
    assert "valid_acc" not in runs.metrics and runs.default_metric == "test_acc"
    assert runs.space.format(runs.archs) == [api.arch(i) for i in range(5)]
    want = api.get_more_info(4, "cifar10", hp="90", is_random=888)["test-accuracy"]
    assert runs.metrics["test_acc"][4, 1, -1] == want


def test_missing_partial_and_damaged_directories(tmp_path):
    with pytest.raises(DataFileError, match=r"NATS-tss-v1_0-3ffb9-simple/ with meta.*15,625 files"):
        Catalog().build("nats-tss-cifar10", tmp_path)
    directory = write_nats_directory(tmp_path, "tss", n=4)
    (directory / "000002.pickle.pbz2").unlink()
    with pytest.raises(DataFileError, match=r"lacks 000002\.pickle\.pbz2 and 0 more of 4"):
        Catalog().build("nats-tss-cifar10", tmp_path, workers=1, trust_pickles=True)
    (directory / "000002.pickle.pbz2").write_bytes(b"BZh91AY&SY not really")
    with pytest.raises(DataFileError, match=r"000002\.pickle\.pbz2 is not a readable NATS-Bench"):
        Catalog().build("nats-tss-cifar10", tmp_path, workers=1, trust_pickles=True)


def test_cli_converts_a_folder_and_compare_runs_on_it(tmp_path, cli, monkeypatch):
    write_nats_directory(tmp_path / "src", "tss", n=30)
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SPDBENCH_DATA", str(data))
    src = str(tmp_path / "src")
    res = cli("data", "convert", "nats-tss-cifar100", "--source", src)
    assert res.code == 2 and "pickles, which run code" in res.err and "--trust-pickles" in res.err
    res = cli("data", "convert", "nats-tss-cifar100", "--source", src, "--trust-pickles")
    assert res.code == 0, res.err
    listed = cli("benchmarks", "list")
    assert "nats-tss-cifar100" in listed.out
    res = cli(
        "compare", "-b", "nats-tss-cifar100", "-p", "knn,random", "--train-sizes", "10",
        "--seeds", "1", "--workers", "1", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert res.code == 0, res.err
    assert (tmp_path / "out" / "results.parquet").is_file()
