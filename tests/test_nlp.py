"""NAS-Bench-NLP logs -> learning curves; the recorded-cell space stays inside the record."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from spdbench.errors import ArchitectureError, ConfigError
from spdbench.oracles.cached_runs import CachedRunsOracle
from spdbench.oracles.catalog import Catalog, load_oracle
from spdbench.spaces.nlp_cells import FIRST_NODE, OPS, PAD, X

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"

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
    q = oracle.query(oracle.space.parse(["nlp-7"]), 50, seed=0, curves=True)
    assert np.array_equal(q.curves["valid_loss"][0], logs[0]["val_losses"])
    assert q.cost[0] == pytest.approx(sum(logs[0]["wall_times"]))
    q10 = oracle.query(oracle.space.parse(["nlp-7"]), 10, seed=0)
    assert q10.cost[0] == pytest.approx(sum(logs[0]["wall_times"][:10]))
    # cell 8 trained twice: two runs, the seed mean averages them
    eight = oracle.space.parse(["nlp-8"])
    both = oracle.recorded_runs(eight, "valid_loss", 50)
    assert both.tolist() == [[True, True]]
    mean = oracle.query(eight).metrics["test_loss"][0]
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


# ---- cell graphs: kept by the converter, refused by the motif builder when broken ---------------
LSTM = {  # an upstream recipe, names as NAS-Bench-NLP writes them
    "i": {"op": "linear", "input": ["x", "h_prev_0"]},
    "i_act": {"op": "activation_tanh", "input": ["i"]},
    "j": {"op": "linear", "input": ["x", "h_prev_0"]},
    "j_act": {"op": "activation_sigm", "input": ["j"]},
    "f": {"op": "linear", "input": ["x", "h_prev_0"]},
    "f_act": {"op": "activation_sigm", "input": ["f"]},
    "o": {"op": "linear", "input": ["x", "h_prev_0"]},
    "o_act": {"op": "activation_tanh", "input": ["o"]},
    "h_new_1_part1": {"op": "elementwise_prod", "input": ["f_act", "h_prev_1"]},
    "h_new_1_part2": {"op": "elementwise_prod", "input": ["i_act", "j_act"]},
    "h_new_1": {"op": "elementwise_sum", "input": ["h_new_1_part1", "h_new_1_part2"]},
    "h_new_1_act": {"op": "activation_tanh", "input": ["h_new_1"]},
    "h_new_0": {"op": "elementwise_prod", "input": ["h_new_1_act", "o_act"]},
}
GRU_SHUFFLED = {  # nodes listed out of topological order, blend, a 3-input linear node
    "h_new_0": {"op": "blend", "input": ["z_act", "h_prev_0", "h_tilde_act"]},
    "h_tilde_act": {"op": "activation_leaky_relu", "input": ["h_tilde"]},
    "h_tilde": {"op": "linear", "input": ["x", "rh", "z_act"]},
    "rh": {"op": "elementwise_prod", "input": ["r_act", "h_prev_0"]},
    "r_act": {"op": "activation_sigm", "input": ["r"]},
    "r": {"op": "linear", "input": ["x", "h_prev_0"]},
    "z_act": {"op": "activation_sigm", "input": ["z"]},
    "z": {"op": "linear", "input": ["h_prev_0", "x"]},
}
DANGLING = {
    "f": {"op": "linear", "input": ["x", "h_prev_0"]},
    "g": {"op": "activation_tanh", "input": ["f"]},  # feeds nothing
    "h_new_0": {"op": "activation_sigm", "input": ["f"]},
}


@pytest.fixture
def unverified_sources(monkeypatch):
    """Conversion from the tests' own small logs (not the published file's checksum)."""
    from spdbench.convert import sources

    monkeypatch.setattr(sources.SourceFile, "locate", lambda self, r, verify=True: r / self.path)


def _write_logs(root, recipes):
    (root / "nas-bench-nlp").mkdir()
    with zipfile.ZipFile(root / "nas-bench-nlp/train_logs_wikitext-2_logs.zip", "w") as zf:
        for i, recipe in enumerate(recipes):
            log = _log(100 + i, i)
            log["recepie"] = json.dumps(recipe)
            zf.writestr(f"log_stats_model_{i}.json", json.dumps(log))


def _tree(recipe, name):
    """A node as the expression it computes, independent of node names and order."""
    if name not in recipe:
        return name
    node = recipe[name]
    return f"{node['op']}({','.join(_tree(recipe, i) for i in node['input'])})"


def _tree_of_graph(space, pos, j):
    def source(code):
        if code == X:
            return "x"
        return (
            f"h_prev_{code - 1}"
            if code < FIRST_NODE
            else _tree_of_graph(space, pos, code - FIRST_NODE)
        )

    srcs = space.sources[pos, j]
    return f"{list(OPS)[space.ops[pos, j]]}({','.join(source(c) for c in srcs[srcs != PAD])})"


def _assert_same_cells(space, recipes_by_id):
    for rid, recipe in recipes_by_id.items():
        pos = int(np.flatnonzero(space.ids == rid)[0])
        states = [k for k in recipe if k.startswith("h_new_") and k[6:].isdigit()]
        assert (space.outputs[pos] >= 0).sum() == len(states)
        for k in range(len(states)):
            got = _tree_of_graph(space, pos, space.outputs[pos, k])
            assert got == _tree(recipe, f"h_new_{k}")
        assert (space.ops[pos] >= 0).sum() == len(recipe)  # dangling nodes are kept too


def test_converted_cells_keep_their_graphs(tmp_path, cli, unverified_sources):
    _write_logs(tmp_path, [RECIPE, LSTM, GRU_SHUFFLED, DANGLING])
    assert cli("data", "convert", "nas-bench-nlp-wt2", "--source", str(tmp_path)).code == 0
    space = Catalog().load("nas-bench-nlp-wt2").space  # read back from the written file
    assert space.name == "nas-bench-nlp-cells" and space.graphs[0] == "L(x,h0);T(0)->1"
    _assert_same_cells(space, {100: RECIPE, 101: LSTM, 102: GRU_SHUFFLED, 103: DANGLING})
    nets = space.motif_networks(space.parse(["nlp-100", "nlp-101", "nlp-102"]))
    assert len(nets) == 3


def test_a_cell_the_builder_cannot_instantiate_is_exit_2(tmp_path, cli, unverified_sources):
    _write_logs(tmp_path, [RECIPE, LSTM, GRU_SHUFFLED, DANGLING])
    assert cli("data", "convert", "nas-bench-nlp-wt2", "--source", str(tmp_path)).code == 0
    out = tmp_path / "results"
    r = cli("compare", "-b", "nas-bench-nlp-wt2", "-p", "petri-dish", "--train-sizes", "2",
            "--seeds", "1", "--out", str(out))  # fmt: skip
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
    assert "nlp-103 cannot be instantiated" in r.err and "dangling node" in r.err
    with pytest.raises(ConfigError, match="node 1 \\(activation_tanh\\) feeds no new state"):
        Catalog().load("nas-bench-nlp-wt2").space.motif_networks(np.array([[103]]))


@pytest.mark.skipif(not (SHARED / "README.md").is_file(), reason="../shared/data is absent")
def test_the_shipped_graphs_are_the_upstream_recipes():
    space = load_oracle("nas-bench-nlp-wt2").space
    with zipfile.ZipFile(SHARED / "nas-bench-nlp/train_logs_wikitext-2_logs.zip") as zf:
        logs = [json.loads(zf.read(n)) for n in zf.namelist() if n.endswith(".json")]
    recipes = {int(log["recepie_id"]): json.loads(log["recepie"]) for log in logs}
    _assert_same_cells(space, {int(r): recipes[int(r)] for r in space.ids})
    space.check_motif_cells(space.enumerate())  # every recorded cell instantiates
