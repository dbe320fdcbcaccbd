"""The command line: help, stubs, every bad-input path (one line, exit 2), an end-to-end compare."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

SUBCOMMANDS = [
    ["compare"], ["report"], ["search"], ["figures"], ["figures", "groundtruth-curve"], ["groundtruth"], ["groundtruth", "sigmoid-slope"],
    ["benchmarks"], ["benchmarks", "list"], ["benchmarks", "info"], ["benchmarks", "query"],
    ["predictors"], ["predictors", "list"], ["searchers"], ["searchers", "list"],
    ["figures", "search"],
]  # fmt: skip


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=" ".join)
def test_help_on_every_subcommand(cli, sub):
    r = cli(*sub, "--help")
    assert r.code == 0 and "Usage: spdbench" in r.out


def test_python_dash_m_spdbench_is_the_same_command_line(tmp_path):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "spdbench", "benchmarks", "info", "no-such-benchmark"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert r.returncode == 2 and r.stderr.startswith("spdbench: error: unknown benchmark"), r


def test_search_is_no_longer_a_stub(cli):
    r = cli("search", "--anything")  # an unknown option is a usage error now, not exit 3
    assert r.code == 2 and "not implemented yet" not in r.err and "--anything" in r.err


def _one_line_error(r, *fragments):
    assert r.code == 2, (r.code, r.err)
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("spdbench: error:"), r.err
    for frag in fragments:
        assert frag in lines[0], lines[0]


def test_unknown_predictor_lists_valid_names(cli, tmp_path):
    r = cli("compare", "-b", "synthetic-slope", "-p", "knn,oracle9000", "--out", str(tmp_path))
    _one_line_error(
        r, "unknown predictor 'oracle9000'", "knn", "fidelity-<k>", "sklearn:<dotted.path>"
    )


def test_a_misspelt_name_gets_a_suggestion(cli, data_dir):
    r = cli("compare", "-b", "synthetic-slope", "-p", "petri-dsh")
    _one_line_error(r, "unknown predictor 'petri-dsh' (did you mean petri-dish?)")
    r = cli("compare", "-b", "synthetic-slop", "-p", "knn")
    _one_line_error(r, "unknown benchmark 'synthetic-slop' (did you mean synthetic-slope?)")
    r = cli("compare", "-b", "synthetic-slope", "-p", "oracle9000")
    assert "did you mean" not in r.err  # no suggestion when nothing is close


def test_unknown_benchmark_lists_valid_names(cli, data_dir):
    r = cli("compare", "-b", "nb999", "-p", "knn")
    _one_line_error(r, "unknown benchmark 'nb999'", "synthetic-slope", "slopes-test")


def test_missing_data_file(cli, data_dir):
    (data_dir / "slopes.h5").unlink()
    r = cli("benchmarks", "query", "slopes-test", "0.51")
    _one_line_error(r, "missing", "slopes.h5", "regenerate")


def test_corrupt_data_file(cli, data_dir, tmp_path):
    path = tmp_path / "corrupt.h5"
    path.write_bytes(b"definitely not hdf5" * 50)
    _one_line_error(cli("benchmarks", "query", str(path), "0.51"), "corrupt or truncated")
    (data_dir / "slopes.h5").write_bytes(b"tampered")
    _one_line_error(cli("benchmarks", "query", "slopes-test", "0.51"), "does not match the catalog")


def test_wrong_schema_version(cli, runs_file):
    with h5py.File(runs_file, "a") as f:
        f.attrs["schema_version"] = 4
    _one_line_error(
        cli("benchmarks", "query", str(runs_file), "0.51"),
        "schema version 4",
        "reads versions 1, 2, 3",
    )


def test_architecture_outside_the_space(cli, data_dir):
    _one_line_error(
        cli("benchmarks", "query", "slopes-test", "0.52"), "outside space", "recorded 41 slopes"
    )
    _one_line_error(
        cli("benchmarks", "query", "synthetic-slope", "7"), "outside space", "[0.01, 2.01]"
    )
    _one_line_error(cli("benchmarks", "query", "synthetic-slope", "steep"), "must be a number")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("benchmark = 'synthetic-slope'\npredictors = ['knn'\n", "not valid TOML"),
        (
            "benchmark = 'synthetic-slope'\npredictors = ['knn']\nlearning_rate = 3\n",
            "unknown config key(s) learning_rate",
        ),
        (
            "benchmark = 'synthetic-slope'\npredictors = ['knn']\nseeds = 'many'\n",
            "seeds must be an integer",
        ),
        (
            "benchmark = 'synthetic-slope'\npredictors = ['knn']\nseeds = 0\n",
            "seeds must be between 1 and 10,000",
        ),
        (
            "benchmark = 'synthetic-slope'\npredictors = ['knn']\nmetric = 'bleu'\n",
            "no metric 'bleu'",
        ),
        (
            "benchmark = 'synthetic-slope'\npredictors = ['knn']\nfidelity = 500\n",
            "no fidelity 500",
        ),
    ],
)
def test_malformed_config(cli, tmp_path, text, fragment):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    r = cli("compare", "--config", str(cfg), "--out", str(tmp_path / "out"))
    _one_line_error(r, fragment)
    assert not (tmp_path / "out" / "results.parquet").exists()


def test_missing_required_options(cli):
    _one_line_error(cli("compare", "-p", "knn"), "no benchmark given")


def test_debug_shows_the_traceback_and_keeps_the_exit_code(cli):
    for args in (("--debug", "compare", "-b", "nope"), ("compare", "-b", "nope", "--debug")):
        r = cli(*args, "-p", "knn")
        assert r.code == 2 and "Traceback" in r.err and "UnknownNameError" in r.err, r.err


def test_benchmarks_list_info_and_query(cli, data_dir):
    r = cli("benchmarks", "list")
    assert r.code == 0 and "synthetic-slope" in r.out and "slopes-test" in r.out
    info = json.loads(cli("benchmarks", "info", "slopes-test").out)
    assert (
        info["size"] == 41
        and info["fidelities"][-1] == 10
        and info["checksum"].startswith("sha256:")
    )
    q = json.loads(
        cli(
            "benchmarks",
            "query",
            "slopes-test",
            "0.21",
            "1.01",
            "--fidelity",
            "5",
            "--seed",
            "1",
            "--json",
        ).out
    )
    assert [row["arch"] for row in q["rows"]] == ["0.21", "1.01"] and q["fidelity"] == 5
    assert all(row["cost_s"] > 0 for row in q["rows"])


def test_compare_end_to_end_resumes_and_is_reproducible(cli, tmp_path, data_dir):
    out = tmp_path / "run"
    args = [
        "compare",
        "-b",
        "slopes-test",
        "-p",
        "knn,random",
        "--seeds",
        "3",
        "--train-sizes",
        "8,15",
        "--protocol",
        "generic",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    first = cli(*args)
    assert first.code == 0, first.err
    assert "knn" in first.out and "kendall tau" in first.out
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 2 * 3 * 2 and set(df["predictor"]) == {"knn", "random"}
    assert (df["test_size"] == 41 - df["train_size"]).all()  # finite space: test on all the rest
    assert df["data_checksum"].str.startswith("sha256:").all()
    assert all(len(p) == n for p, n in zip(df["predictions"], df["test_size"], strict=True))
    record = json.loads(next((out / "runs").glob("*.json")).read_text())
    assert (
        record["seed"] == 0
        and record["versions"]["numpy"]
        and record["config"]["train_sizes"] == [8, 15]
    )

    again = cli(*args)  # every job is stored: nothing reruns
    assert again.code == 0 and "6 already done" not in again.out
    df2 = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(df, df2)

    fresh = tmp_path / "fresh"
    cli(*args[:-1], str(fresh))
    df3 = pd.read_parquet(fresh / "results.parquet")
    cols = [
        "predictor",
        "replicate",
        "train_size",
        "kendall_tau",
        "spearman",
        "regret",
        "train_gt_sim_s",
    ]
    key = ["predictor", "replicate", "train_size"]
    pd.testing.assert_frame_equal(
        df[cols].sort_values(key).reset_index(drop=True),
        df3[cols].sort_values(key).reset_index(drop=True),
    )


def test_interrupted_compare_keeps_finished_jobs(tmp_path, monkeypatch):
    from spdbench.harness import compare as cmp
    from spdbench.harness.plan import CompareConfig, plan_compare

    config = CompareConfig(
        benchmark="synthetic-slope", predictors=("knn", "random"), seeds=3, test_size=30
    )
    plan = plan_compare(config, out=tmp_path)
    real = cmp.run_job
    calls = {"n": 0}

    def flaky(cfg, job):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(cfg, job)

    monkeypatch.setattr(cmp, "run_job", flaky)
    with pytest.raises(KeyboardInterrupt):
        cmp.run_compare(plan)
    assert len(pd.read_parquet(tmp_path / "results.parquet")) == 3
    monkeypatch.setattr(cmp, "run_job", real)
    seen = []
    rows = cmp.run_compare(plan, on_start=lambda total, done: seen.append((total, done)))
    assert seen == [(6, 3)] and len(rows) == 6


def test_workers_give_the_same_numbers(tmp_path):
    from spdbench.harness.compare import run_compare
    from spdbench.harness.plan import CompareConfig, plan_compare

    config = CompareConfig(
        benchmark="synthetic-slope", predictors=("knn", "random"), seeds=2, test_size=30
    )
    serial = run_compare(plan_compare(config, out=tmp_path / "a", workers=1))
    pooled = run_compare(plan_compare(config, out=tmp_path / "b", workers=2))
    key = ["predictor", "replicate"]
    cols = [*key, "kendall_tau", "regret", "train_gt_sim_s"]
    pd.testing.assert_frame_equal(
        serial[cols].sort_values(key).reset_index(drop=True),
        pooled[cols].sort_values(key).reset_index(drop=True),
    )


def test_sigmoid_slope_protocol_trains_inside_and_tests_outside(cli, tmp_path, data_dir):
    out = tmp_path / "fig1"
    r = cli(
        "compare",
        "-b",
        "slopes-test",
        "-p",
        "knn",
        "--seeds",
        "2",
        "--workers",
        "1",
        "--out",
        str(out),
    )
    assert r.code == 0, r.err
    df = pd.read_parquet(out / "results.parquet")
    assert (df["protocol"] == "sigmoid-slope").all() and (df["train_size"] == 15).all()
    for train, test in zip(df["train_archs"], df["test_archs"], strict=True):
        assert all(0.37 <= float(a) <= 1.5 for a in train)
        assert len(test) == 19 and all(not 0.37 <= float(a) <= 1.5 for a in test)
    assert list(df["train_archs"][0]) != list(df["train_archs"][1])  # replicates differ
    _one_line_error(
        cli("compare", "-b", "slopes-test", "-p", "knn", "--train-sizes", "30"), "records 22 slopes"
    )
    _one_line_error(
        cli("compare", "-b", "synthetic-slope", "-p", "knn", "--protocol", "sigmoid-slope"),
        "needs a recorded",
    )


def test_report_from_the_store_only(cli, tmp_path, data_dir):
    out = tmp_path / "fig1"
    assert (
        cli(
            "compare",
            "-b",
            "slopes-test",
            "-p",
            "knn,random",
            "--seeds",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
        ).code
        == 0
    )
    md = (out / "report.md").read_text()
    assert "| knn | 15 | 2 |" in md and "tau left of interval" in md
    n_test = pd.read_parquet(out / "results.parquet")["test_size"].iloc[0]
    assert f", {n_test} test architectures per replicate." in md
    for png in ("fig1.png", "tau_vs_train_size.png", "init_vs_query.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    df = pd.read_parquet(out / "results.parquet")
    assert df["kendall_tau_left"].between(-1, 1).all()
    again = cli("report", str(out), "--out", str(tmp_path / "rep"))
    assert (
        again.code == 0
        and (tmp_path / "rep" / "report.md").read_text().split("\n")[4:] == md.split("\n")[4:]
    )
    _one_line_error(cli("report", str(tmp_path / "empty")), "holds no results")
    # the paired table against a chosen predictor; an unknown one writes nothing
    assert "## Paired against the best" in md and "| random | 15 | knn |" in md
    against = cli("report", str(out), "--out", str(tmp_path / "rep"), "--paired-against", "random")
    paired = (tmp_path / "rep" / "report.md").read_text()
    assert against.code == 0 and "| knn | 15 | random |" in paired
    assert "--paired-against random`" in paired
    stamp = (tmp_path / "rep" / "report.md").stat().st_mtime_ns
    _one_line_error(
        cli("report", str(out), "--out", str(tmp_path / "rep"), "--paired-against", "rf"),
        "not a predictor of this report",
    )
    assert (tmp_path / "rep" / "report.md").stat().st_mtime_ns == stamp


def test_the_selected_hyperparameters_are_stored_and_reported(cli, tmp_path):
    """App. A.1 with select = true: each job records the grid point it picked (fitted_info)
    and the report counts the picks per train size."""
    config = tmp_path / "select.toml"
    config.write_text(
        "[compare]\n"
        'benchmark = "synthetic-slope"\n'
        'predictors = ["dish-select"]\n'
        "train_sizes = [8]\n"
        "seeds = 2\n"
        "[compare.variants.dish-select]\n"
        'predictor = "petri-dish"\n'
        "select = true\n"
        "grid = {hidden = [1, 2]}\n"
        "inner_steps = 20\n"
        "outer_steps = 4\n"
    )
    out = tmp_path / "out"
    r = cli("compare", "--config", str(config), "--workers", "1", "--out", str(out))
    assert r.code == 0, r.err
    rows = pd.read_parquet(out / "results.parquet")
    picked = [json.loads(info)["selected_params"]["hidden"] for info in rows["fitted_info"]]
    assert len(picked) == 2 and set(picked) <= {1, 2}
    selections = [json.loads(info)["selection"] for info in rows["fitted_info"]]
    assert all([s["hidden"] for s in sel] == [1, 2] for sel in selections)
    md = (out / "report.md").read_text()
    assert "## Hyperparameters selected in fitting" in md
    assert sum(f"| 8 | hidden = {h} | " in md for h in (1, 2)) == len(set(picked))
    # the in-loop tau of the final fit's 4 outer steps (Cassimon et al.'s measure), reported
    steps = [json.loads(info)["step_tau"] for info in rows["fitted_info"]]
    assert all(len(t) == 4 for t in steps)
    overall = [np.mean([0.0 if v is None else v for v in t]) for t in steps]
    assert "## Kendall tau inside the outer loop" in md
    assert f"| dish-select | 8 | {np.mean(overall):.3f} ± " in md


def test_a_predictor_whose_fitted_info_is_not_a_dict_fails_alone(cli, tmp_path, monkeypatch):
    from spdbench.predictors.knn import KNNPredictor

    monkeypatch.setattr(KNNPredictor, "fitted_info", lambda self: None)
    out = tmp_path / "out"
    r = cli("compare", "-b", "synthetic-slope", "-p", "knn,random", "--seeds", "1",
            "--train-sizes", "8", "--workers", "1", "--out", str(out))  # fmt: skip
    assert r.code != 0 and "fitted_info() returned NoneType, not a dict" in r.err, r.err
    rows = pd.read_parquet(out / "results.parquet").set_index("predictor")
    assert rows.loc["knn", "status"] == "failed" and rows.loc["random", "status"] == "ok"
    assert "Failed jobs" in (out / "report.md").read_text()


def test_rerun_replaces_only_the_named_predictors_rows(cli, tmp_path, monkeypatch):
    from spdbench.predictors.knn import KNNPredictor

    out = tmp_path / "out"
    args = ["compare", "-b", "synthetic-slope", "-p", "knn,random", "--seeds", "2",
            "--train-sizes", "8", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert cli(*args).code == 0
    before = pd.read_parquet(out / "results.parquet").set_index(["predictor", "replicate"])

    # the predictor's code changes: its rows are rerun, the other predictor's are kept
    real = KNNPredictor._predict
    monkeypatch.setattr(KNNPredictor, "_predict", lambda self, a, c: -real(self, a, c))
    r = cli(*args, "--rerun", "knn")
    assert r.code == 0, r.err
    after = pd.read_parquet(out / "results.parquet").set_index(["predictor", "replicate"])
    assert len(after) == 4 and not list(out.glob("rerun-*.json"))
    for rep in (0, 1):
        assert after.loc[("knn", rep), "kendall_tau"] == pytest.approx(
            -before.loc[("knn", rep), "kendall_tau"]
        )
        assert (
            after.loc[("random", rep), "finished_at"] == before.loc[("random", rep), "finished_at"]
        )

    # a rerun whose predictor now raises keeps the stored rows, fails with exit 4, and the
    # same command resumes it once the predictor is fixed
    monkeypatch.setattr(KNNPredictor, "_predict", lambda self, a, c: 1 / 0)
    r = cli(*args, "--rerun", "all")
    assert r.code == 4 and "ZeroDivisionError" in r.err
    assert "a failed --rerun keeps the row it would have replaced" in r.err
    kept = pd.read_parquet(out / "results.parquet").set_index(["predictor", "replicate"])
    assert (kept["status"] == "ok").all()
    assert kept.loc[("knn", 0), "kendall_tau"] == after.loc[("knn", 0), "kendall_tau"]
    pending = json.loads(next(out.glob("rerun-*.json")).read_text())["pending"]
    assert len(pending) == 2 and all("/knn/" in k for k in pending)  # random was redone
    assert "An unfinished `--rerun knn, random` left 2 job(s)" in (out / "report.md").read_text()
    monkeypatch.setattr(KNNPredictor, "_predict", real)
    r = cli(*args, "--rerun", "all")
    assert r.code == 0 and "2 of 4 jobs already done" in r.err, r.err
    final = pd.read_parquet(out / "results.parquet").set_index(["predictor", "replicate"])
    assert "unfinished" not in (out / "report.md").read_text()
    assert final.loc[("knn", 0), "kendall_tau"] == pytest.approx(
        before.loc[("knn", 0), "kendall_tau"]
    )
    assert not list(out.glob("rerun-*.json"))


def test_a_rerun_resumes_only_with_the_code_it_started_with(cli, tmp_path, monkeypatch):
    """An interrupted rerun, then another code change: the next rerun redoes every job."""
    from spdbench import provenance
    from spdbench.predictors.knn import KNNPredictor

    out = tmp_path / "out"
    args = ["compare", "-b", "synthetic-slope", "-p", "knn", "--seeds", "2",
            "--train-sizes", "8", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert cli(*args).code == 0
    real = KNNPredictor._predict
    monkeypatch.setattr(provenance, "source_digest", lambda: "a" * 16)
    calls = []

    def second_job_raises(self, archs, context):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("interrupted")
        return real(self, archs, context)

    monkeypatch.setattr(KNNPredictor, "_predict", second_job_raises)
    assert cli(*args, "--rerun", "knn").code == 4  # one job redone, one pending
    monkeypatch.setattr(provenance, "source_digest", lambda: "b" * 16)
    monkeypatch.setattr(KNNPredictor, "_predict", real)
    r = cli(*args, "--rerun", "knn")
    assert r.code == 0 and "already done" not in r.err, r.err  # both jobs again
    versions = pd.read_parquet(out / "results.parquet")["versions"].map(json.loads)
    assert {v["spdbench_source"] for v in versions} == {"b" * 16}


def test_rerun_says_when_the_named_predictor_has_nothing_stored(cli, tmp_path):
    out = tmp_path / "out"
    args = ["compare", "-b", "synthetic-slope", "-p", "knn,random", "--seeds", "1",
            "--train-sizes", "8", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert cli(*args).code == 0
    r = cli(*args, "--seed", "1", "--rerun", "knn")  # other splits
    assert r.code == 0 and "knn has no finished job stored with this config's splits" in r.err, (
        r.err
    )
    r = cli(*args, "--rerun", "knn")
    assert r.code == 0 and "no finished job" not in r.err


def test_rerun_of_a_predictor_the_run_does_not_list(cli, tmp_path):
    r = cli("compare", "-b", "synthetic-slope", "-p", "knn", "--out", str(tmp_path),
            "--rerun", "knn,gp")  # fmt: skip
    _one_line_error(r, "--rerun: gp is not in --predictors (knn)")
    assert not list(tmp_path.iterdir())


def test_the_report_says_which_rows_older_code_made(cli, tmp_path, monkeypatch):
    from spdbench import provenance

    out = tmp_path / "out"
    args = ["compare", "-b", "synthetic-slope", "-p", "knn,random", "--seeds", "2",
            "--train-sizes", "8", "--workers", "1", "--out", str(out)]  # fmt: skip
    assert cli(*args).code == 0
    old = provenance.source_digest()
    assert "## Code versions" not in (out / "report.md").read_text()  # one version only
    monkeypatch.setattr(provenance, "source_digest", lambda: "0123456789abcdef")
    assert cli(*args, "--rerun", "knn").code == 0  # knn's rows now come from "new" code
    md = (out / "report.md").read_text()
    assert "## Code versions" in md
    assert "| knn | `0123456789abcdef` (this spdbench) | 2 |" in md
    assert f"| random | `{old}` | 2 |" in md
