"""The resolved experiment plan: built once, checked before any work, consumed as it is."""

import json
import re

import pandas as pd
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


def test_jobs_of_expensive_predictors_run_after_the_cheap_ones():
    """An interrupted dish run has kept every baseline row: cheap jobs go first, each group in
    plan order."""
    config = CompareConfig("synthetic-slope", ("petri-dish", "knn", "random"), seeds=2)
    plan = plan_compare(config, workers=1)
    order = [(j.predictor, j.replicate) for j in compare.cheap_first(plan, plan.jobs())]
    assert order[:4] == [("knn", 0), ("random", 0), ("knn", 1), ("random", 1)]
    assert order[4:] == [("petri-dish", 0), ("petri-dish", 1)]


def test_what_the_config_determines_fails_before_any_worker_starts(tmp_path):
    with pytest.raises(ConfigError, match=r"petri-dish needs motif-networks.*'nas-bench-macro'"):
        plan_compare(CompareConfig("nas-bench-macro", ("petri-dish", "random")), out=tmp_path / "o")
    assert not (tmp_path / "o").exists()  # no run record without results


def test_a_rerun_with_fewer_predictors_reuses_their_jobs(tmp_path, cli, monkeypatch):
    """Job keys do not depend on the other predictors of a run; zero-cost predictors, which
    restrict every split to scored cells, are part of what a key depends on."""
    from spdbench.harness import compare

    out = tmp_path / "out"
    base = ["compare", "-b", "synthetic-slope", "--seeds", "2", "--test-size", "20",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    assert cli(*base, "-p", "knn,random,nn-surrogate").code == 0
    seen, real = [], compare.run_job
    monkeypatch.setattr(compare, "run_job", lambda plan, job: seen.append(job) or real(plan, job))
    r = cli(*base, "-p", "random,knn")
    assert r.code == 0 and seen == []  # every job reused
    assert "knn" in r.out and "nn-surrogate" not in r.out
    report = (out / "report.md").read_text()  # the report of the subset shows the subset
    assert "| knn |" in report and "| random |" in report and "nn-surrogate" not in report
    assert cli("report", str(out)).code == 0
    assert "nn-surrogate" not in (out / "report.md").read_text()


def test_old_stores_keep_being_reused_and_reported(tmp_path, runs_file):
    """Rows stored under the former keys (config hash in front) count as the same jobs."""
    from spdbench.harness.compare import run_compare
    from spdbench.harness.store import ResultsStore

    config = CompareConfig("synthetic-slope", ("knn",), seeds=2, test_size=20)
    plan = plan_compare(config, out=tmp_path, workers=1)
    rows = run_compare(plan)
    store = ResultsStore(tmp_path)
    legacy = {j.key: j.legacy_key for j in plan.jobs()}
    old = rows.assign(job_key=rows["job_key"].map(legacy))
    store.path.unlink()
    store.append(old.to_dict("records"))
    store.compact()
    again = run_compare(plan)  # nothing recomputed, the old rows are this config's rows
    assert list(again["job_key"]) == list(old["job_key"])


def test_stores_keyed_with_seeds_and_train_sizes_extend_without_recomputing(tmp_path, cli):
    """Stores written before job keys left out the seeds and train sizes: a rerun of their
    config with more of either finds their jobs through the config's run record, reruns
    replace them, and the report shows one row per job."""
    import pandas as pd

    from spdbench.harness.plan import split_hash
    from spdbench.report.compare_report import latest_config, rows_of_config

    out = tmp_path / "out"
    base = ["compare", "-b", "synthetic-slope", "-p", "knn,random", "--test-size", "20",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    assert cli(*base, "--seeds", "2").code == 0
    config = CompareConfig("synthetic-slope", ("knn", "random"), seeds=2, test_size=20)
    plan = plan_compare(config, out=tmp_path / "x", workers=1)
    new, former = split_hash(config, plan.having), split_hash(config, plan.having, former=True)
    assert new != former
    path = out / "results.parquet"
    rows = pd.read_parquet(path)
    rows["job_key"] = rows["job_key"].str.replace(new, former)  # as an older spdbench stored it
    rows.to_parquet(path)
    r = cli(*base, "--seeds", "3")
    assert r.code == 0 and "4 of 6 jobs already done" in r.err
    assert cli(*base, "--seeds", "3", "--rerun", "knn").code == 0
    stored = pd.read_parquet(path)
    assert len(stored) == 4 + 2 + 2  # the former knn rows r0 and r1 stay, superseded
    shown = rows_of_config(out, stored, latest_config(out, stored))
    assert len(shown) == 6 and not shown.duplicated(["predictor", "replicate"]).any()
    # knn's three rows are the rerun's (today's keys); random's r0 and r1 the former rows
    fresh = shown["job_key"].str.startswith(new)
    assert fresh[shown["predictor"] == "knn"].all()
    assert fresh[shown["predictor"] == "random"].tolist() == [False, False, True]


def test_a_jobs_row_is_its_own_keys_then_a_former_keys_then_a_legacy_keys_newest_first():
    from spdbench.harness.plan import Job, select_jobs

    job = Job("knn", 0, 10, config_hash="c0nf1g", split_hash="today")
    rows = pd.DataFrame(
        {
            "job_key": ["c0nf1g/knn/r0/n10", "formerB/knn/r0/n10", "formerA/knn/r0/n10"],
            "kendall_tau": [0.1, 0.9, 0.5],
            "finished_at": ["2026-11-29T10:00", "2026-11-29T12:00", "2026-11-29T11:00"],
        }
    )
    aliases = {"formerA": "today", "formerB": "today"}
    pick = lambda r: select_jobs(r, [job], aliases)["kendall_tau"].tolist()  # noqa: E731
    assert pick(rows) == [0.9]  # a former key beats the legacy one; the newest former row
    assert pick(rows.iloc[[0, 2]]) == [0.5]
    assert pick(rows.iloc[[0]]) == [0.1]
    newest = pd.DataFrame(
        {"job_key": ["today/knn/r0/n10"], "kendall_tau": [0.3], "finished_at": ["2026-11-01"]}
    )
    assert pick(pd.concat([rows, newest])) == [0.3]  # its own key wins, whatever the dates


def test_an_ok_row_beats_a_failed_one_of_the_same_job():
    """A job counts as done when any of its rows is ok (`ResultsStore.finished`), so that row
    is the one shown, not a newer failure under another former key or under today's."""
    from spdbench.harness.plan import Job, select_jobs

    job = Job("knn", 0, 10, config_hash="c0nf1g", split_hash="today")
    rows = pd.DataFrame(
        {
            "job_key": ["formerA/knn/r0/n10", "formerB/knn/r0/n10", "today/knn/r0/n10"],
            "kendall_tau": [0.5, float("nan"), float("nan")],
            "status": ["ok", "failed", "failed"],
            "finished_at": ["2026-11-29T10:00", "2026-11-29T11:00", "2026-11-29T12:00"],
        }
    )
    aliases = {"formerA": "today", "formerB": "today"}
    for subset in ([0, 1], [0, 2], [0, 1, 2]):
        shown = select_jobs(rows.iloc[subset], [job], aliases)
        assert shown["status"].tolist() == ["ok"] and shown["kendall_tau"].tolist() == [0.5]


def test_more_seeds_or_train_sizes_reuse_the_finished_jobs(tmp_path, cli, monkeypatch):
    """A split and a predictor's seed depend on the master seed, the replicate and the train
    size only: extending a run's replicates or train sizes computes only the new jobs, and
    the shared ones keep their numbers."""
    import pandas as pd

    from spdbench.harness import compare

    out = tmp_path / "out"
    base = ["compare", "-b", "synthetic-slope", "-p", "knn,random", "--test-size", "20",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    assert cli(*base, "--seeds", "2", "--train-sizes", "10").code == 0
    first = pd.read_parquet(out / "results.parquet").set_index("job_key")
    seen, real = [], compare.run_job
    monkeypatch.setattr(compare, "run_job", lambda plan, job: seen.append(job) or real(plan, job))
    r = cli(*base, "--seeds", "3", "--train-sizes", "10,20")
    assert r.code == 0 and "4 of 12 jobs already done" in r.err
    assert sorted((j.replicate, j.train_size) for j in seen if j.predictor == "knn") == [
        (0, 20),
        (1, 20),
        (2, 10),
        (2, 20),
    ]
    rows = pd.read_parquet(out / "results.parquet").set_index("job_key")
    assert rows.loc[first.index, "kendall_tau"].tolist() == first["kendall_tau"].tolist()
    # a fresh run of the extended config gives the reused rows' numbers
    fresh = tmp_path / "fresh"
    assert cli(*base[:-1], str(fresh), "--seeds", "3", "--train-sizes", "10,20").code == 0
    again = pd.read_parquet(fresh / "results.parquet").set_index("job_key")
    assert again.loc[first.index, "kendall_tau"].tolist() == first["kendall_tau"].tolist()


def test_variants_run_as_their_own_rows_with_their_settings(tmp_path, cli):
    """A config's variants name predictor settings; each is a row, keyed by its settings."""
    import pandas as pd

    config = tmp_path / "c.toml"
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["knn", "knn-1"]\n'
        "seeds = 2\ntest_size = 20\nworkers = 1\n"
        '[compare.variants.knn-1]\npredictor = "knn"\nk = 1\n'
    )
    out = tmp_path / "out"
    assert cli("compare", "--config", str(config), "--out", str(out)).code == 0
    rows = pd.read_parquet(out / "results.parquet")
    params = rows.groupby("predictor")["predictor_params"].first().map(json.loads)
    assert params["knn-1"]["k"] == 1 and params["knn"]["k"] != 1
    assert any("knn-1@" in key for key in rows["job_key"])
    # changing the variant's settings recomputes its rows, and only those
    config.write_text(config.read_text().replace("k = 1", "k = 2"))
    r = cli("compare", "--config", str(config), "--out", str(out))
    assert r.code == 0 and "2 of 4 jobs already done" in r.err


@pytest.mark.parametrize(
    "variant, message",
    [
        ('predictor = "knn"\nkk = 1', r"variant 'v': knn has no settable hyperparameter kk"),
        ('predictor = "knn"\nseed = 1', r"no settable hyperparameter seed"),
        ("predictor = 3", r"variant 'v': predictor must be a registered name"),
        ('predictor = "nope"', r"variant 'v': unknown predictor 'nope'"),
    ],
)
def test_bad_variants_fail_in_one_line(tmp_path, cli, variant, message):
    config = tmp_path / "c.toml"
    config.write_text(
        f'[compare]\nbenchmark = "synthetic-slope"\npredictors = ["v"]\n[compare.variants.v]\n{variant}\n'
    )
    r = cli("compare", "--config", str(config), "--out", str(tmp_path / "o"))
    assert r.code == 2 and re.search(message, r.err), r.err


def test_a_variant_not_listed_is_an_error(tmp_path, cli):
    config = tmp_path / "c.toml"
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["knn"]\n'
        '[compare.variants.v]\npredictor = "knn"\n'
    )
    r = cli("compare", "--config", str(config), "--out", str(tmp_path / "o"))
    assert r.code == 2 and "variants v are defined but not listed" in r.err


def test_predictors_on_the_command_line_pick_among_a_configs_variants(tmp_path):
    """-p names some of a config's variants: the others are not run, and not an error (they
    are no typo), while the same config listing them in the file is still checked."""
    config = tmp_path / "c.toml"
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["k1", "k2"]\n'
        '[compare.variants.k1]\npredictor = "knn"\nk = 1\n'
        '[compare.variants.k2]\npredictor = "knn"\nk = 2\n'
    )
    options = {"predictors": "k2,random", "out": tmp_path / "o"}
    plan = resolve_compare(options, config_file=config, explicit={"predictors"})
    assert plan.config.predictors == ("k2", "random")
    assert set(plan.config.variants) == {"k2"}
    assert plan.predictor_params("k2") == {"k": 2}
    whole = resolve_compare({"out": tmp_path / "o"}, config_file=config)
    # the job of k2 keeps its key: a subset run reuses what the whole config stored
    key = {j.predictor: j.key for j in plan.jobs()}["k2"]
    assert key in {j.key for j in whole.jobs()}


def test_a_dotted_variant_name_says_to_quote_it(tmp_path, cli):
    """[compare.variants.knn-k0.5] is TOML for table "5" inside "knn-k0": the error says so
    instead of calling the listed name an unknown predictor."""
    config = tmp_path / "c.toml"
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["knn-k0.5"]\n'
        '[compare.variants.knn-k0.5]\npredictor = "knn"\nk = 5\n'
    )
    r = cli("compare", "--config", str(config), "--out", str(tmp_path / "o"))
    assert r.code == 2 and "a dot in a TOML table name nests tables" in r.err, r.err
    assert '"knn-k0.5"' in r.err and len(r.err.strip().splitlines()) == 1
    # also where -p picks among the file's variants, and for a name with two dots
    config.write_text(config.read_text() + '[compare.variants.knn-a.k0.7]\npredictor = "knn"\n')
    for listed in ("knn-k0.5", "knn-a.k0.7"):
        r = cli("compare", "--config", str(config), "-p", listed, "--out", str(tmp_path / "o"))
        assert r.code == 2 and f'quote the name in its table header ("{listed}")' in r.err, r.err
    quoted = config.read_text().replace("variants.knn-k0.5]", 'variants."knn-k0.5"]')
    quoted = quoted.replace("variants.knn-a.k0.7]", 'variants."knn-a.k0.7"]')
    config.write_text(quoted)
    options = {"predictors": "knn-k0.5,knn-a.k0.7", "out": tmp_path / "o"}
    plan = resolve_compare(options, config_file=config, explicit={"predictors"})
    assert plan.predictor_params("knn-k0.5") == {"k": 5}
    assert set(plan.config.variants) == {"knn-k0.5", "knn-a.k0.7"}
    # a dotted name whose first part is a listed predictor: that predictor's error says it
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["knn"]\n'
        '[compare.variants.knn.5]\npredictor = "knn"\nk = 5\n'
    )
    r = cli("compare", "--config", str(config), "--out", str(tmp_path / "o"))
    assert r.code == 2 and "no settable hyperparameter 5" in r.err, r.err
    assert 'if "knn.5" is a variant name, quote it in its table header' in r.err
    # a table-valued setting the error is not about gets no such hint
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["v"]\n'
        '[compare.variants.v]\npredictor = "nope"\nparams = {a = 1}\n'
    )
    r = cli("compare", "--config", str(config), "--out", str(tmp_path / "o"))
    assert r.code == 2 and "unknown predictor 'nope'" in r.err and "quote" not in r.err, r.err


def test_a_malformed_list_in_the_file_does_not_refuse_a_run_that_replaces_it(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["knn", "knn"]\nseeds = 1\n'
    )
    options = {"predictors": "knn", "out": tmp_path / "o"}
    plan = resolve_compare(options, config_file=config, explicit={"predictors"})
    assert plan.config.predictors == ("knn",) and plan.part_of is None


def test_the_report_after_running_some_of_a_configs_predictors_shows_the_whole_config(
    tmp_path, cli, monkeypatch
):
    """`-p` on a config file runs part of it: its record says which config it is part of,
    and the report shows that whole config (an unfinished rerun of the part named), unless a
    name is not in it."""
    from spdbench.predictors.knn import KNNPredictor

    config = tmp_path / "c.toml"
    config.write_text(
        '[compare]\nbenchmark = "synthetic-slope"\npredictors = ["knn", "k1"]\n'
        "seeds = 2\ntest_size = 20\nworkers = 1\n"
        '[compare.variants.k1]\npredictor = "knn"\nk = 1\n'
    )
    out = tmp_path / "out"
    assert cli("compare", "--config", str(config), "--out", str(out)).code == 0
    whole = resolve_compare({"out": out}, config_file=config).config_hash
    assert "jobs of this config are stored" not in (out / "report.md").read_text()
    r = cli("compare", "--config", str(config), "-p", "k1", "--rerun", "k1", "--out", str(out))
    assert r.code == 0, r.err
    assert f"(of config {whole}: the config file's whole config" in " ".join(r.out.split())
    part = resolve_compare(
        {"out": out, "predictors": "k1"}, config_file=config, explicit={"predictors"}
    )
    assert part.part_of == whole != part.config_hash
    assert json.loads((out / "runs" / f"{part.config_hash}.json").read_text())["part_of"] == whole
    text = (out / "report.md").read_text()
    assert f"Config `{whole}`" in text and f"config `{part.config_hash}`, ran some" in text
    assert "| knn " in text and "| k1 " in text and "unfinished" not in text
    assert cli("report", str(out), "--out", str(tmp_path / "again")).code == 0  # by default
    assert (tmp_path / "again" / "report.md").read_text().split("\n", 3)[3] == text.split("\n", 3)[
        3
    ]
    real = KNNPredictor._predict
    monkeypatch.setattr(
        KNNPredictor, "_predict", lambda self, a, c: 1 / 0 if self.k == 1 else real(self, a, c)
    )
    r = cli("compare", "--config", str(config), "-p", "k1", "--rerun", "k1", "--out", str(out))
    assert r.code == 4
    assert "An unfinished `--rerun k1` left 2 job(s)" in (out / "report.md").read_text()
    monkeypatch.setattr(KNNPredictor, "_predict", real)
    # the whole config's run started but stored nothing (interrupted): the report says so
    fresh = tmp_path / "fresh"
    started = resolve_compare({"out": fresh}, config_file=config)
    (fresh / "runs").mkdir()
    (fresh / "runs" / f"{whole}.json").write_text(json.dumps(started.record_json()))
    assert cli("compare", "--config", str(config), "-p", "k1", "--out", str(fresh)).code == 0
    text = (fresh / "report.md").read_text()
    assert f"Config `{whole}`" in text and "2 of 4 jobs of this config are stored" in text
    # a name the file does not list: the run is no part of the file's config
    other = resolve_compare(
        {"out": out, "predictors": "k1,random"}, config_file=config, explicit={"predictors"}
    )
    assert other.part_of is None
    # all of the file's names in another order: the whole config, not a part of it
    reordered = resolve_compare(
        {"out": out, "predictors": "k1,knn"}, config_file=config, explicit={"predictors"}
    )
    assert reordered.part_of is None
    assert cli("compare", "--config", str(config), "-p", "k1,random", "--out", str(out)).code == 0
    text = (out / "report.md").read_text()
    assert f"Config `{other.config_hash}`" in text and "| knn " not in text
