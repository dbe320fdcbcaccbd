"""NAS-Bench-NLP logs -> learning curves; the recorded-cell space stays inside the record."""

import json
import zipfile

import numpy as np
import pytest

from spdbench.errors import ArchitectureError
from spdbench.oracles.cached_runs import CachedRunsOracle
from spdbench.oracles.catalog import Catalog

RECIPE = {
    "f": {"op": "linear", "input": ["x", "h_prev_0"]},
    "h_new_0": {"op": "activation_tanh", "input": ["f"]},
}


def _log(rid, seed, status="OK", epochs=50):
    rng = np.random.default_rng(seed)
    loss = (6 - np.cumsum(rng.uniform(0, 0.05, epochs))).tolist()
    if status != "OK":
        loss[-1] = float("nan")
    recipe = dict(RECIPE)
    if rid % 2:
        recipe["g"] = {"op": "elementwise_prod", "input": ["f", "h_prev_1"]}
    return {
        "recepie_id": rid,
        "recepie": json.dumps(recipe),
        "num_params": 1000 + rid,
        "train_losses": loss,
        "val_losses": [v + 0.1 for v in loss],
        "test_losses": [v + 0.05 for v in loss],
        "wall_times": rng.uniform(100, 150, epochs).tolist(),
        "status": status,
        "epochs": 50,
    }


@pytest.fixture
def nlp_source(tmp_path):
    logs = [
        _log(7, 0),
        _log(8, 1),
        _log(8, 2),
        _log(9, 3, status="loss is nan!", epochs=19),
        _log(10, 4),
    ]
    (tmp_path / "nas-bench-nlp").mkdir()
    with zipfile.ZipFile(tmp_path / "nas-bench-nlp/train_logs_wikitext-2_logs.zip", "w") as zf:
        for i, log in enumerate(logs):
            zf.writestr(f"log_stats_model_{i}.json", json.dumps(log))
    return tmp_path, logs


def test_curves_costs_and_runs_reproduce_the_logs(nlp_source):
    root, logs = nlp_source
    oracle = CachedRunsOracle(Catalog().build("nas-bench-nlp-wt2", root, verify=False))
    cells = oracle.enumerate()
    assert oracle.space.format(cells) == ["nlp-7", "nlp-8", "nlp-10"]  # diverged cell 9 left out
    q = oracle.query(oracle.space.parse(["nlp-7"]), 50, seed=0, curves=True, charge=False)
    assert np.array_equal(q.curves["valid_loss"][0], logs[0]["val_losses"])
    assert q.cost[0] == pytest.approx(sum(logs[0]["wall_times"]))
    q10 = oracle.query(oracle.space.parse(["nlp-7"]), 10, seed=0, charge=False)
    assert q10.cost[0] == pytest.approx(sum(logs[0]["wall_times"][:10]))
    # cell 8 trained twice: two runs, the seed mean averages them
    eight = oracle.space.parse(["nlp-8"])
    both = oracle.recorded_runs(eight, "valid_loss", 50)
    assert both.tolist() == [[True, True]]
    mean = oracle.query(eight, charge=False).metrics["test_loss"][0]
    assert mean == pytest.approx((logs[1]["test_losses"][-1] + logs[2]["test_losses"][-1]) / 2)
    assert oracle.recorded_runs(cells, "valid_loss", 50).sum() == 4


def test_recorded_cell_space_variation(nlp_source):
    root, _ = nlp_source
    space = Catalog().build("nas-bench-nlp-wt2", root, verify=False).space
    rng = np.random.default_rng(0)
    g = space.sample(3, rng, unique=True)
    m = space.mutate(g, rng)
    assert space.contains(m).all() and (m != g).all()
    assert space.contains(space.crossover(g, m, rng)).all()
    assert space.encode(space.parse(["nlp-7", "nlp-8"])).shape == (2, 9)
    with pytest.raises(ArchitectureError, match="only the 3 recorded cells"):
        space.parse(["nlp-9"])
