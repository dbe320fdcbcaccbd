"""One catalog: one record per benchmark, from shipped package data, the user data folder,
oracle plugins and converters; listing, conversion, compare and errors all read it."""

import json

import pytest

from spdbench.errors import DataFileError, UnknownNameError
from spdbench.oracles import cached_runs
from spdbench.oracles.cached_runs import read_cached_runs
from spdbench.oracles.catalog import Catalog, register_benchmark, shipped_dir, user_dir


def test_every_source_gives_records(data_dir):
    catalog = Catalog()
    origins = {r.name: r.origin for r in catalog}
    assert origins["slopes-test"] == "user" and origins["nb201-cifar10"] == "shipped"
    assert origins["synthetic-slope"] == "plugin" and origins["nb101"] == "convertible"
    nb201 = catalog.get("nb201-cifar10")
    assert nb201.converter and nb201.fidelities == (12, 200) and nb201.size == 15625
    assert nb201.records("zc_synflow") and nb201.metrics == {"valid_acc": True, "test_acc": True}
    assert catalog.get("slopes-test").protocol == "sigmoid-slope"
    assert "nb101" not in catalog.names() and "nb101" in catalog.names(available=False)
    assert catalog.recording("zc_synflow") == [
        "nb101-subset", "nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120",
    ]  # fmt: skip


def test_a_user_benchmark_of_a_shipped_name_takes_precedence(user_data, runs_file):
    runs = read_cached_runs(runs_file)
    runs.benchmark = "nb201-cifar10"
    path = user_data / "nb201-cifar10.h5"
    cached_runs.write_cached_runs(path, runs)
    register_benchmark(runs, path, command="mine")
    record, oracle = Catalog().resolve("nb201-cifar10")
    assert record.origin == "user" and oracle.space.name == "sigmoid-slope"
    assert record.converter  # it can still be rebuilt from the upstream files


def test_not_yet_converted_says_how(user_data):
    with pytest.raises(DataFileError, match=r"not converted yet: run `spdbench data convert nb101"):
        Catalog().load("nb101")
    with pytest.raises(UnknownNameError, match=r"no converter for 'nb999'; available: .*nb101"):
        Catalog().converter("nb999")


def test_a_corrupt_catalog_is_a_one_line_error(user_data, cli):
    (user_data / "catalog.json").write_text("{not json")
    r = cli("benchmarks", "list")
    assert r.code == 2 and "catalog.json is not a valid spdbench catalog" in r.err
    (user_data / "catalog.json").write_text(json.dumps({"schema": 2, "benchmarks": [{"nom": 1}]}))
    r = cli("compare", "-b", "synthetic-slope", "-p", "knn")
    assert r.code == 2 and "unknown field(s) nom" in r.err


def test_cli_shows_where_data_lives_and_what_can_be_converted(cli, user_data):
    r = cli("data", "path")
    assert r.code == 0 and f"user: {user_data}" in r.out and f"shipped: {shipped_dir()}" in r.out
    assert user_dir() == user_data  # $SPDBENCH_DATA overrides the platform's user data folder
    listed = cli("benchmarks", "list")
    assert "nb101 " not in listed.out and "more can be converted" in listed.out
    everything = cli("benchmarks", "list", "--all")
    assert "nats-tss-cifar100" in everything.out and "to convert" in everything.out


def test_module_docstrings_say_what_the_code_does():
    assert f"schema_version     {cached_runs.SCHEMA_VERSION} (int)" in cached_runs.__doc__
