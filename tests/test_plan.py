"""The resolved experiment plan: built once, checked before any work, consumed as it is."""

import json

import pytest

from spdbench import plugins
from spdbench.errors import ConfigError
from spdbench.harness import compare
from spdbench.harness.plan import CompareConfig, plan_compare, resolve_compare
from spdbench.oracles import catalog


def test_a_run_looks_nothing_up_again(tmp_path, monkeypatch):
    plan = plan_compare(
        CompareConfig(benchmark="synthetic-slope", predictors=("knn", "random"), seeds=2),
        out=tmp_path,
    )
    lookups = []
    real_load = plugins.load
    monkeypatch.setattr(plugins, "load", lambda *a: lookups.append(a) or real_load(*a))
    monkeypatch.setattr(catalog.Catalog, "__init__", lambda *a, **k: lookups.append("catalog"))
    rows = compare.run_compare(plan)
    assert len(rows) == 4 and lookups == []
    assert not hasattr(compare, "_ORACLES")  # no module-level cache between calls


def test_config_file_and_options_merge_in_one_place(tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = "knn,random"\nseeds = 3\n'
        f'out = "{tmp_path / "from-file"}"\nworkers = 1\ntrain-sizes = [5, 10]\n'
    )
    options = {"benchmark": None, "predictors": None, "seeds": 10, "out": None, "workers": 2}
    plan = resolve_compare(options, config_file=config, explicit=())
    assert plan.config.seeds == 3 and plan.workers == 1 and plan.train_sizes == (5, 10)
    assert plan.out == tmp_path / "from-file"
    plan = resolve_compare({**options, "seeds": 4}, config_file=config, explicit={"seeds"})
    assert plan.config.seeds == 4  # an option given on the command line wins
    # the record beside the results says what the defaults resolved to
    record = plan.record_json()
    assert record["resolved"]["protocol"] == "generic" and record["resolved"]["fidelity"] == 50
    assert record["resolved"]["predictors"]["knn"] == "spdbench.predictors.knn:KNNPredictor"
    json.dumps(record, default=str)


def test_the_protocol_comes_from_the_benchmark_record(data_dir):
    plan = plan_compare(CompareConfig(benchmark="slopes-test", predictors=("knn",)))
    assert plan.record.protocol == "sigmoid-slope" and plan.protocol.name == "sigmoid-slope"
    assert plan.train_sizes == (15,)
    plan = plan_compare(CompareConfig(benchmark="synthetic-slope", predictors=("knn",)))
    assert plan.protocol.name == "generic"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protocol": "leave-one-out"}, "unknown protocol 'leave-one-out'; valid: auto, generic"),
        ({"metric": "bleu"}, "has no metric 'bleu'"),
        ({"fidelity": 7000}, "has no fidelity 7000"),
        ({"predictors": ("knn", "oracle9000")}, "unknown predictor 'oracle9000'"),
    ],
)
def test_bad_configs_fail_before_any_work(tmp_path, changes, message):
    config = {"benchmark": "synthetic-slope", "predictors": ("knn",), **changes}
    with pytest.raises(Exception, match=message):
        plan_compare(CompareConfig(**config), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_workers_must_be_positive():
    with pytest.raises(ConfigError, match="workers must be a positive integer"):
        plan_compare(CompareConfig("synthetic-slope", ("knn",)), workers=0)


def test_workers_auto_uses_a_pool_only_for_expensive_predictors(monkeypatch):
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    cheap = plan_compare(CompareConfig("synthetic-slope", ("knn", "random"), seeds=5))
    assert cheap.workers == 1
    dish = plan_compare(CompareConfig("synthetic-slope", ("petri-dish", "random"), seeds=1))
    assert dish.workers == 2  # one per job, at most one per CPU
    dish = plan_compare(CompareConfig("synthetic-slope", ("petri-dish",), seeds=10))
    assert dish.workers == 4
    assert plan_compare(CompareConfig("synthetic-slope", ("petri-dish",)), workers=1).workers == 1


def test_what_the_config_determines_fails_before_any_worker_starts(tmp_path):
    with pytest.raises(ConfigError, match=r"petri-dish needs motif-networks.*'nb201'"):
        plan_compare(CompareConfig("nb201-cifar10", ("petri-dish", "random")), out=tmp_path / "o")
    assert not (tmp_path / "o").exists()  # no run record without results
