"""Faults a careless colleague or a crash brings: killed runs, concurrent runs on one folder.
Each test runs real processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import broken_predictors
import pytest

from spdbench.harness.store import ResultsStore


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping remains


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_compare_leaves_no_process_behind(tmp_path):
    run = subprocess.Popen(
        [sys.executable, "-m", "spdbench.cli", "compare", "-b", "synthetic-slope", "-p",
         "petri-dish", "--seeds", "4", "--workers", "2", "--out", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 3:  # 2 workers + resource tracker
        time.sleep(0.2)
        workers = _children(run.pid)
    assert len(workers) >= 2, "compare started no worker processes"
    time.sleep(1.0)  # let the workers pass their initializer
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    # a worker still importing (a loaded machine) exits once it reaches its initializer
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)], "processes outlived the killed compare"


# a background shell starts its jobs with SIGINT ignored, and Python then never raises
# KeyboardInterrupt: the launcher restores the default, as a terminal would have it
_LAUNCH_WITH_BROKEN_PREDICTORS = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "import sys; sys.path.insert(0, sys.argv[1]); import broken_predictors as b; "
    "from spdbench import plugins; real = plugins.load; "
    "plugins.load = lambda k, n: b.BY_NAME.get(n) or real(k, n); "
    "from spdbench.cli import main; main(sys.argv[2:])"
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigint_to_compare_ends_running_jobs_and_keeps_finished_ones(tmp_path):
    """SIGINT to the compare process alone (as `kill -INT`, not a terminal's Ctrl-C, which
    reaches the workers too): it stops within seconds, though its two workers are each inside
    a ten-minute fit, exits 130, leaves no worker behind, and keeps the finished rows."""
    out, marks = tmp_path / "out", tmp_path / "marks"
    marks.mkdir()
    env = {**os.environ, "SPDBENCH_TEST_SLOW_S": "600", "SPDBENCH_TEST_MARKS": str(marks)}
    run = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH_WITH_BROKEN_PREDICTORS, str(Path(__file__).parent),
         "compare", "-b", "synthetic-slope", "-p", "random,slow", "--seeds", "3",
         "--test-size", "20", "--workers", "2", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(marks.iterdir())) < 2:
        time.sleep(0.1)
    assert len(list(marks.iterdir())) == 2, "the two slow fits did not start"
    workers = _children(run.pid)
    start = time.monotonic()
    run.send_signal(signal.SIGINT)
    err = run.communicate(timeout=60)[1].decode()
    assert time.monotonic() - start < 30, "compare waited for its running jobs"
    assert run.returncode == 130, err[-2000:]
    assert "interrupted; finished work is saved" in err
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)], "workers outlived the interrupted compare"
    rows = ResultsStore(out).read()  # the random jobs that had reported back, if any
    assert rows.empty or ((rows["status"] == "ok").all() and set(rows["predictor"]) <= {"random"})


def test_two_runs_on_one_folder_keep_every_row(tmp_path):
    out = tmp_path / "both"
    args = [sys.executable, "-m", "spdbench.cli", "compare", "-b", "synthetic-slope", "-p",
            "random,knn", "--seeds", "15", "--test-size", "30", "--workers", "1", "--out", str(out)]  # fmt: skip
    runs = [
        subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)
    ]
    errors = [r.communicate()[1].decode() for r in runs]
    assert [r.returncode for r in runs] == [0, 0], errors
    rows = ResultsStore(out).read()
    assert len(rows) == 30 and rows["job_key"].is_unique


def _install(monkeypatch, **replace):
    """Make the broken predictors installed plugins (by name), some replaced by others."""
    from spdbench import plugins

    real, fakes = plugins.load, {**broken_predictors.BY_NAME, **replace}
    monkeypatch.setattr(plugins, "load", lambda kind, n: fakes.get(n) or real(kind, n))


def test_a_failing_predictor_fails_only_its_own_jobs(tmp_path, cli, monkeypatch):
    """A plugin that raises in fit, and one that predicts NaN: their jobs are stored as failed
    rows with the error, every other job finishes, the report lists them, exit code 4; a rerun
    retries exactly the failed jobs."""
    _install(monkeypatch)
    out = tmp_path / "out"
    args = ["compare", "-b", "synthetic-slope", "-p", "raises,knn,nan", "--seeds", "3",
            "--test-size", "20", "--workers", "1", "--out", str(out)]  # fmt: skip
    r = cli(*args)
    assert r.code == 4, r.err
    assert "6 of 9 jobs failed" in r.err and "raises: ValueError: my plugin's bug" in r.err
    assert "internal error" not in r.err
    rows = ResultsStore(out).read()
    assert len(rows) == 9 and (rows[rows.predictor == "knn"]["status"] == "ok").all()
    assert rows[rows.predictor == "nan"]["error"].str.contains("NaN").all()
    report = (out / "report.md").read_text()
    assert "## Failed jobs" in report and "| raises | 3 | ValueError: my plugin's bug |" in report
    # the plugins are fixed: a rerun retries the failed jobs only
    fixed = broken_predictors.Fixed
    _install(monkeypatch, raises=fixed, nan=fixed)
    from spdbench.harness import compare

    seen, real_run = [], compare.run_job
    monkeypatch.setattr(
        compare, "run_job", lambda plan, job: seen.append(job.predictor) or real_run(plan, job)
    )
    r = cli(*args)
    assert r.code == 0, r.err
    assert sorted(seen) == ["nan"] * 3 + ["raises"] * 3
    assert (ResultsStore(out).read()["status"] == "ok").all()


def _bad_inputs(tmp: Path) -> dict:
    """name -> (command line, fragment of the one-line error); files they need are made here."""
    (tmp / "a-file").write_text("not a folder")
    (tmp / "seven.toml").write_text('[compare]\nbenchmark = 7\npredictors = "knn"\n')
    import pandas as pd

    (tmp / "other").mkdir()
    pd.DataFrame({"x": [1, 2]}).to_parquet(tmp / "other" / "results.parquet")
    return {
        "unwritable --out": (["compare", "-b", "synthetic-slope", "-p", "random", "--seeds", "1",
                              "--out", str(tmp / "a-file" / "out")], "cannot write results"),
        "cell id beyond int64": (["benchmarks", "query", "nas-bench-nlp-wt2", "nlp-" + "9" * 30],
                                 "is not a cell id"),
        "benchmark = 7 in TOML": (["compare", "--config", str(tmp / "seven.toml")],
                                  "benchmark must be a name, got 7"),
        "report of foreign parquet": (["report", str(tmp / "other")],
                                      "not a spdbench results file"),
        "a billion seeds": (["compare", "-b", "synthetic-slope", "-p", "random", "--seeds",
                             "1000000000"], "seeds must be between 1 and 10,000"),
        "duplicate train sizes": (["compare", "-b", "synthetic-slope", "-p", "random",
                                   "--train-sizes", "10,10"], "listed twice"),
        "a 14 TiB slope grid": (["groundtruth", "sigmoid-slope", "--slopes", "0.01:2:1e-12"],
                                "at most 10,000"),
        "a huge argument": (["benchmarks", "query", "synthetic-slope", "x" * 126_000],
                            "more characters"),
        "workers zero": (["compare", "-b", "synthetic-slope", "-p", "random", "--workers", "0"],
                         "workers must be a positive integer"),
        "more cells than the table": (["compare", "-b", "nb101-subset", "-p", "random",
                                       "--train-sizes", "200", "--test-size", "150"],
                                      "plus test size 150 do not fit: use train sizes up to 142"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    ["unwritable --out", "cell id beyond int64", "benchmark = 7 in TOML",
     "report of foreign parquet", "a billion seeds", "duplicate train sizes",
     "a 14 TiB slope grid", "a huge argument", "workers zero", "more cells than the table"],
)  # fmt: skip
def test_bad_input_is_one_short_line_and_exit_2(case, cli, tmp_path):
    args, fragment = _bad_inputs(tmp_path)[case]
    r = cli(*args)
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert r.code == 2 and len(lines) == 1 and fragment in lines[0], (r.code, r.err[:500])
    assert len(lines[0]) < 2200  # long inputs are shortened, never echoed whole


def test_a_missing_data_folder_is_named(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SPDBENCH_DATA", str(tmp_path / "nowhere"))
    r = cli("compare", "-b", "my-benchmark", "-p", "knn")
    assert r.code == 2 and f"your data folder {tmp_path / 'nowhere'} does not exist" in r.err


def test_catalog_paths_stay_in_their_folder(cli, user_data):
    import json

    record = {"name": "escape", "file": "../../../etc/passwd", "sha256": "0" * 64, "bytes": 1}
    (user_data / "catalog.json").write_text(json.dumps({"schema": 2, "benchmarks": [record]}))
    r = cli("benchmarks", "query", "escape", "1")
    assert r.code == 2 and "not a plain file name" in r.err


def test_flipped_bits_in_cached_runs_error_clearly_or_change_nothing(runs_file):
    """300 single-bit flips in a small cached-runs file: each one is a one-line data error
    (checksums, validation, h5py's own errors mapped to DataFileError) or changes nothing a
    query returns (metrics, cost, directions, default metric, fidelities)."""
    import numpy as np

    from spdbench.errors import SpdbenchError
    from spdbench.oracles.cached_runs import CachedRunsOracle

    def seen(oracle):
        q = oracle.query(oracle.enumerate())
        return (
            {k: v.tolist() for k, v in q.metrics.items()},
            q.cost.tolist(),
            {m.name: (m.higher_is_better, m.unit) for m in oracle.metrics.values()},
            oracle.default_metric,
            oracle.epochs.tolist(),
        )

    clean, want = runs_file.read_bytes(), seen(CachedRunsOracle.from_file(runs_file))
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "unchanged": 0}
    for _ in range(300):
        damaged = bytearray(clean)
        damaged[rng.integers(len(damaged))] ^= 1 << int(rng.integers(8))
        runs_file.write_bytes(bytes(damaged))
        try:
            got = seen(CachedRunsOracle.from_file(runs_file))
        except SpdbenchError:
            outcomes["error"] += 1
            continue
        assert got == want, "a flipped bit changed what the oracle answers, silently"
        outcomes["unchanged"] += 1
    assert outcomes["error"] > 100, outcomes


def test_a_hanging_predictor_times_out_alone(tmp_path, cli, monkeypatch):

    _install(monkeypatch)
    t0 = time.monotonic()
    r = cli("compare", "-b", "synthetic-slope", "-p", "hangs,random", "--seeds", "2",
            "--test-size", "20", "--job-timeout", "0.5", "--out", str(tmp_path / "out"))  # fmt: skip
    assert r.code == 4 and time.monotonic() - t0 < 30
    assert "timed out after 0.5 s (if it is only slow, raise --job-timeout" in r.err
    rows = ResultsStore(tmp_path / "out").read()
    assert (rows[rows.predictor == "random"]["status"] == "ok").sum() == 2


def test_a_predictor_that_ends_its_worker_is_a_clear_error(tmp_path, cli, monkeypatch):

    _install(monkeypatch)
    r = cli("compare", "-b", "synthetic-slope", "-p", "random,exits", "--seeds", "2",
            "--test-size", "20", "--workers", "2", "--out", str(tmp_path / "out"))  # fmt: skip
    assert r.code == 4 and "a worker process died" in r.err and "exits" in r.err
    assert "internal error" not in r.err


def test_editing_a_metric_direction_is_caught(runs_file, cli):
    """The content checksum covers the arrays; the meaning checksum covers the attributes that
    change results: flipping higher_is_better used to change regret with the checksum intact."""
    import json

    import h5py

    with h5py.File(runs_file, "a") as f:
        metrics = json.loads(f.attrs["metrics"])
        metrics["valid_acc"]["higher_is_better"] = False
        f.attrs["metrics"] = json.dumps(metrics)
    r = cli("benchmarks", "query", str(runs_file), "0.51")
    assert r.code == 2 and "metric directions, units" in r.err
