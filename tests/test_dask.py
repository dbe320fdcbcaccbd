"""`--executor dask`: the same numbers as the local pool, job isolation, and faults, on a real
`distributed.LocalCluster` of worker processes (no mocks)."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import broken_predictors
import numpy as np
import pytest

from spdbench.harness.compare import run_compare
from spdbench.harness.executors import ExecutorSpec
from spdbench.harness.plan import CompareConfig, plan_compare
from spdbench.harness.store import ResultsStore

distributed = pytest.importorskip("distributed")

TESTS = Path(__file__).parent
METRICS = ["kendall_tau", "spearman", "top_k_precision", "regret", "train_gt_sim_s"]


@pytest.fixture(scope="module")
def marks(tmp_path_factory) -> Path:
    """Where the slow test predictor leaves one file per fit (named after its process id)."""
    return tmp_path_factory.mktemp("marks")


@pytest.fixture(scope="module")
def scheduler(marks) -> str:
    """A local cluster of two worker processes (one thread each) shared by this module's
    tests; its workers see the test predictors (tests/ is on sys.path) and the marks folder."""
    import dask

    from spdbench.harness.executors import LOCAL_CLUSTER_CONFIG

    os.environ["SPDBENCH_TEST_MARKS"] = str(marks)
    # the scheduler gives up on a job after it ended 2 workers (not 4: a faster test)
    config = {**LOCAL_CLUSTER_CONFIG, "distributed.scheduler.allowed-failures": 1}
    try:
        with dask.config.set(config), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=50,
        ) as cluster:  # fmt: skip
            yield cluster.scheduler_address
    finally:
        os.environ.pop("SPDBENCH_TEST_MARKS", None)


def _install(monkeypatch, **replace):
    """The test predictors as installed plugins (by name)."""
    from spdbench import plugins

    real, fakes = plugins.load, {**broken_predictors.BY_NAME, **replace}
    monkeypatch.setattr(plugins, "load", lambda kind, n: fakes.get(n) or real(kind, n))


def _by_key(rows):
    return rows.set_index("job_key").sort_index()


def test_dask_gives_the_local_numbers(tmp_path):
    """compare with --executor dask --dask-workers 2 (a cluster started for the run) stores
    the same ranking numbers, job by job, as the local executor."""
    config = CompareConfig("sigmoid-slope-fashion-mnist", ("random", "knn"), seeds=3)
    local = run_compare(plan_compare(config, out=tmp_path / "local", workers=1))
    dask = run_compare(
        plan_compare(
            config, out=tmp_path / "dask", executor=ExecutorSpec.from_options("dask", None, 2)
        )
    )
    assert len(local) == len(dask) == 6 and (dask["status"] == "ok").all()
    a, b = _by_key(local), _by_key(dask)
    assert list(a.index) == list(b.index)
    for m in METRICS:
        np.testing.assert_array_equal(a[m].to_numpy(), b[m].to_numpy(), err_msg=m)
    assert [list(p) for p in a["predictions"]] == [list(p) for p in b["predictions"]]


def test_search_on_dask_gives_the_local_numbers(tmp_path, scheduler):
    from spdbench.search.experiment import SearchConfig, plan_search, run_search

    config = SearchConfig("synthetic-slope", ("random", "regularized-evolution"), seeds=2)
    local = run_search(plan_search(config, out=tmp_path / "local"))
    spec = ExecutorSpec.from_options("dask", scheduler)
    dask = run_search(plan_search(config, out=tmp_path / "dask", executor=spec))
    a, b = _by_key(local), _by_key(dask)
    assert list(a.index) == list(b.index) and (b["status"] == "ok").all()
    for col in ("final_report", "final_sim_time", "evaluations"):
        np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy(), err_msg=col)
    assert [list(x) for x in a["archs"]] == [list(x) for x in b["archs"]]


def test_jobs_stay_isolated_on_dask(tmp_path, cli, monkeypatch, scheduler):
    """A raising, a NaN and a hanging predictor fail their own jobs only, with the same
    errors as on the local executor; the timeout holds on a worker's thread."""
    _install(monkeypatch)
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = cli("compare", "-b", "synthetic-slope", "-p", "raises,nan,hangs,random", "--seeds", "2",
            "--test-size", "20", "--job-timeout", "0.5", "--executor", "dask", "--scheduler",
            scheduler, "--out", str(out))  # fmt: skip
    assert r.code == 4, r.err
    assert "6 of 8 jobs failed" in r.err and "raises: ValueError: my plugin's bug" in r.err
    assert "hangs: JobTimeoutError: timed out after 0.5 s" in r.err
    assert time.monotonic() - t0 < 30
    rows = ResultsStore(out).read()
    assert len(rows) == 8 and rows["job_key"].is_unique
    assert (rows[rows.predictor == "random"]["status"] == "ok").sum() == 2
    assert rows[rows.predictor == "nan"]["error"].str.contains("NaN").all()


def test_a_worker_killed_mid_job_has_its_job_rerun(tmp_path, marks, monkeypatch, scheduler):
    """SIGKILL to the worker process running a job: the scheduler reruns the job on a worker
    that lives, and the run ends with every job stored once and reported once."""
    _install(monkeypatch)
    for old in marks.iterdir():
        old.unlink()
    config = CompareConfig("synthetic-slope", ("slow", "random"), seeds=2, test_size=20)
    plan = plan_compare(
        config, out=tmp_path / "out", executor=ExecutorSpec.from_options("dask", scheduler)
    )
    done: list[str] = []
    outcome: dict = {}

    def client() -> None:
        try:
            outcome["rows"] = run_compare(plan, on_done=lambda row: done.append(row["job_key"]))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=client)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(marks.iterdir()):
        time.sleep(0.05)
    first = sorted(marks.iterdir(), key=lambda p: int(p.name.split("-")[1]))
    assert first, "no slow job started"
    victim = int(first[0].name.split("-")[0])
    os.kill(victim, signal.SIGKILL)
    thread.join(60)
    assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
    rows = outcome["rows"]
    assert len(rows) == 4 and (rows["status"] == "ok").all()
    assert sorted(done) == sorted(j.key for j in plan.jobs())  # each job reported once
    pids = [int(p.name.split("-")[0]) for p in marks.iterdir()]
    assert len(pids) >= 3 and pids.count(victim) == 1  # the killed job ran again elsewhere


def test_an_interrupted_client_resumes(tmp_path, cli, monkeypatch, scheduler):
    """SIGINT to a compare client on a Dask cluster: finished jobs are stored, exit 130; a new
    client skips them and completes the rest."""
    out = tmp_path / "out"
    # a background shell starts its jobs with SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: the client restores the default, as a terminal would have it
    launcher = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "import sys; sys.path.insert(0, sys.argv[1]); import broken_predictors as b; "
        "from spdbench import plugins; real = plugins.load; "
        "plugins.load = lambda k, n: b.BY_NAME.get(n) or real(k, n); "
        "from spdbench.cli import main; main(sys.argv[2:])"
    )
    args = ["compare", "-b", "synthetic-slope", "-p", "random,slow", "--seeds", "3",
            "--test-size", "20", "--executor", "dask", "--scheduler", scheduler, "--out", str(out)]  # fmt: skip
    run = subprocess.Popen(
        [sys.executable, "-c", launcher, str(TESTS), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(ResultsStore(out).finished()) < 4:
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    err = run.communicate(timeout=30)[1].decode()
    assert run.returncode == 130, err[-2000:]
    stored = len(ResultsStore(out).finished())
    assert 4 <= stored < 6
    _install(monkeypatch)
    rerun = cli(*args)
    assert rerun.code == 0, rerun.err
    assert f"{stored} of 6 jobs already done: skipped" in rerun.err
    rows = ResultsStore(out).read()
    assert len(rows) == 6 and rows["job_key"].is_unique and (rows["status"] == "ok").all()


def test_an_unreachable_scheduler_is_one_line_and_keeps_the_store(tmp_path, cli, monkeypatch):
    from spdbench.harness import executors

    out = tmp_path / "out"
    base = ["compare", "-b", "synthetic-slope", "-p", "random", "--test-size", "20", "--out",
            str(out)]  # fmt: skip
    assert cli(*base, "--seeds", "2").code == 0
    before = ResultsStore(out).read()
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 2.0)
    r = cli(*base, "--seeds", "3", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert r.code == 2 and len(lines) == 1, r.err
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in lines[0]
    after = ResultsStore(out).read()
    assert after.equals(before)


def test_local_cluster_workers_keep_glibcs_dynamic_mmap_threshold(scheduler):
    """distributed's MALLOC_TRIM_THRESHOLD_ made torch 1.5x slower on a worker; local clusters
    start their workers without it."""
    with distributed.Client(scheduler) as client:
        env = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
    assert env and set(env.values()) == {None}, env


def test_workers_of_another_spdbench_version_are_one_line_and_keep_the_store(
    tmp_path, cli, monkeypatch, scheduler
):
    """The workers report the spdbench they import; a client of another version refuses them
    before any job runs."""
    import spdbench

    out = tmp_path / "out"
    base = ["compare", "-b", "synthetic-slope", "-p", "random", "--test-size", "20", "--out",
            str(out)]  # fmt: skip
    assert cli(*base, "--seeds", "2").code == 0
    before = ResultsStore(out).read()
    workers_run = spdbench.__version__
    monkeypatch.setattr(spdbench, "__version__", "0.0.0-client")
    r = cli(*base, "--seeds", "3", "--executor", "dask", "--scheduler", scheduler)
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert r.code == 2 and len(lines) == 1, r.err
    assert f"runs spdbench {workers_run}, this client 0.0.0-client" in lines[0]
    assert "install the same version everywhere" in lines[0]
    assert ResultsStore(out).read().equals(before)


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--scheduler", "tcp://h:8786"], "--scheduler needs --executor dask"),
        (["--dask-workers", "2"], "--dask-workers needs --executor dask"),
        (["--executor", "dask", "--dask-workers", "0"], "dask workers must be a positive"),
        (["--executor", "dask", "--dask-workers", "2", "--scheduler", "tcp://h:8786"],
         "either --scheduler"),
    ],
)  # fmt: skip
def test_bad_executor_options_are_one_line_and_exit_2(extra, fragment, cli, tmp_path):
    r = cli("compare", "-b", "synthetic-slope", "-p", "random", "--out", str(tmp_path), *extra)
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert r.code == 2 and len(lines) == 1 and fragment in lines[0], r.err


def test_dask_without_distributed_says_what_to_install(cli, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    r = cli("compare", "-b", "synthetic-slope", "-p", "random", "--out", str(tmp_path),
            "--executor", "dask")  # fmt: skip
    lines = [ln for ln in r.err.strip().splitlines() if ln.strip()]
    assert r.code == 2 and len(lines) == 1 and "pip install 'spdbench[dask]'" in lines[0], r.err


def test_a_job_that_ends_every_worker_is_reported_after_the_others(
    tmp_path, cli, monkeypatch, scheduler
):
    """A predictor that ends its process: the scheduler retries its job on fresh workers, then
    gives up on it; every other job is stored, and the error names the culprit (exit 4)."""
    _install(monkeypatch)
    out = tmp_path / "out"
    r = cli("compare", "-b", "synthetic-slope", "-p", "random,exits", "--seeds", "1",
            "--test-size", "20", "--executor", "dask", "--scheduler", scheduler, "--out",
            str(out))  # fmt: skip
    assert r.code == 4 and "ended every Dask worker process" in r.err and "exits" in r.err, r.err
    assert "internal error" not in r.err
    rows = ResultsStore(out).read()
    assert list(rows["predictor"]) == ["random"] and (rows["status"] == "ok").all()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_dask_workers_run_leaves_no_process_behind(tmp_path):
    """The worker processes of a --dask-workers cluster die with their client, even by SIGKILL."""
    from test_faults import _alive, _children

    run = subprocess.Popen(
        [sys.executable, "-m", "spdbench.cli", "compare", "-b", "synthetic-slope", "-p",
         "petri-dish", "--seeds", "4", "--executor", "dask", "--dask-workers", "2", "--out",
         str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    runs = tmp_path / "out" / "runs"  # its run record is written once the cluster is set up
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (runs.is_dir() and any(runs.iterdir())):
        time.sleep(0.1)
    workers = _children(run.pid)
    assert len(workers) >= 2, "the run started no worker processes"
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)], "processes outlived the killed client"
