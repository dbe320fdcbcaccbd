"""Hyperparameters in search configs: searcher and predictor variants, as compare's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from test_search import _one_line_error

from spdbench import plugins
from spdbench.errors import ConfigError
from spdbench.predictors.knn import KNNPredictor
from spdbench.search.experiment import SearchConfig, resolve_search

README = Path(__file__).resolve().parents[1] / "README.md"

SEARCHER_VARIANTS = """
[search.searcher_variants.re-4]
searcher = "regularized-evolution"
population = 4

[search.searcher_variants.ga-small]
searcher = "petri-ga"
warm_start = 5
candidates = 10
top_k = 3
parents = 4
"""
PREDICTOR_VARIANTS = """
[search.predictor_variants.knn-1]
predictor = "knn"
k = 1
"""


def _config(tmp_path: Path, searchers: list[str], predictor: str, variants: str = "") -> Path:
    path = tmp_path / "search.toml"
    path.write_text(
        f'[search]\nbenchmark = "slopes-test"\nsearchers = {json.dumps(searchers)}\n'
        f'predictor = "{predictor}"\nseeds = 2\nbudget = "15evals"\n{variants}'
    )
    return path


class SpyKNN(KNNPredictor):
    """knn, noting the k of every fit."""

    fitted_k: ClassVar[list[int]] = []

    def _fit(self, archs, scores, context):
        SpyKNN.fitted_k.append(self.k)
        super()._fit(archs, scores, context)


def test_variants_run_end_to_end_with_their_settings(data_dir, cli, tmp_path, monkeypatch):
    """On a benchmark built in tmp: each variant is its own row with its hyperparameters,
    petri-ga's predictor is built with the predictor variant's, and adding or changing a
    variant reruns only the runs that use it."""
    real = plugins.load
    monkeypatch.setattr(plugins, "load", lambda kind, n: SpyKNN if n == "knn" else real(kind, n))
    SpyKNN.fitted_k.clear()
    out = tmp_path / "out"
    plain = _config(tmp_path, ["regularized-evolution"], "knn-1,knn", PREDICTOR_VARIANTS)
    assert cli("search", "--config", str(plain), "--out", str(out)).code == 0

    both = SEARCHER_VARIANTS + PREDICTOR_VARIANTS
    config = _config(tmp_path, ["regularized-evolution", "re-4", "ga-small"], "knn-1,knn", both)
    r = cli("search", "--config", str(config), "--out", str(out))
    assert r.code == 0, r.err
    assert "2 of 8 runs already done" in r.err  # adding variants kept the other runs' keys
    rows = pd.read_parquet(out / "results.parquet")
    assert (rows["status"] == "ok").all()
    params = rows.groupby("searcher")["searcher_params"].first().map(json.loads)
    assert set(params.index) == {
        "regularized-evolution", "re-4", "ga-small[knn-1]", "ga-small[knn]",
    }  # fmt: skip
    assert params["regularized-evolution"]["population"] == 10
    assert params["re-4"]["population"] == 4
    assert params["ga-small[knn-1]"]["warm_start"] == 5
    assert params["ga-small[knn-1]"]["predictor"] == "knn"
    assert params["ga-small[knn-1]"]["predictor_params"] == {"k": 1}
    assert params["ga-small[knn]"]["predictor_params"] is None
    assert set(SpyKNN.fitted_k) == {1, 3}  # the predictor was built with k = 1 (and the default)
    assert "ga-small[knn-1]" in (out / "report.md").read_text()

    # changing a predictor variant's setting reruns only the runs that use it
    config.write_text(config.read_text().replace("k = 1", "k = 2"))
    r = cli("search", "--config", str(config), "--out", str(out))
    assert r.code == 0 and "6 of 8 runs already done" in r.err, r.err
    latest = pd.read_parquet(out / "results.parquet")
    latest = latest[latest["searcher"] == "ga-small[knn-1]"]["searcher_params"].map(json.loads)
    assert {p["predictor_params"]["k"] for p in latest} == {1, 2}  # old rows kept, new ones added
    # and a searcher variant's setting, only its own
    config.write_text(config.read_text().replace("population = 4", "population = 5"))
    r = cli("search", "--config", str(config), "--out", str(out))
    assert r.code == 0 and "6 of 8 runs already done" in r.err, r.err


def test_the_predictor_option_names_a_config_variant(data_dir, tmp_path):
    config = _config(tmp_path, ["petri-ga"], "knn", PREDICTOR_VARIANTS)
    options = {"predictor": "knn-1", "out": tmp_path / "out"}
    plan = resolve_search(options, config_file=config, explicit={"predictor"})
    assert plan.params == {"petri-ga[knn-1]": {"predictor": "knn", "predictor_params": {"k": 1}}}


def test_a_predictor_list_in_the_file_reads_as_the_comma_separated_option():
    base = {"benchmark": "slopes-test", "searchers": ["petri-ga"]}
    listed = SearchConfig.from_dict({**base, "predictor": ["knn", "random"]})
    assert listed == SearchConfig.from_dict({**base, "predictor": "knn,random"})
    with pytest.raises(ConfigError, match="predictor must be a name or a list of names"):
        SearchConfig.from_dict({**base, "predictor": 3})


def test_a_config_without_variants_keeps_its_hashes():
    config = SearchConfig(benchmark="nb201-cifar10", searchers=("random",))
    assert "searcher_variants" not in config.to_dict()
    assert "predictor_variants" not in config.to_dict()
    assert config.variant_hash("random") == ""


@pytest.mark.parametrize(
    ("searchers", "predictor", "variants", "fragments"),
    [
        (["v"], "knn", '[search.searcher_variants.v]\nsearcher = "nope"',
         ["variant 'v': unknown searcher 'nope'"]),
        (["v"], "knn", '[search.searcher_variants.v]\nsearcher = "regularized-evolution"\n'
         "populaton = 4", ["variant 'v': regularized-evolution has no settable hyperparameter "
                           "populaton; valid: population, sample_size"]),
        (["v"], "knn", '[search.searcher_variants.v]\nsearcher = "random"\nseed = 3',
         ["no settable hyperparameter seed"]),
        (["v"], "knn", "[search.searcher_variants.v]\nsearcher = 3",
         ["variant 'v': searcher must be a registered name"]),
        (["v"], "knn", '[search.searcher_variants.v]\nsearcher = "petri-ga"\npredictor = "knn"',
         ["variant 'v': set predictor of petri-ga with the predictor option"]),
        (["random"], "knn", '[search.searcher_variants.v]\nsearcher = "random"',
         ["variants v are defined but not listed in searchers"]),
        (["petri-ga"], "p", '[search.predictor_variants.p]\npredictor = "nope"',
         ["variant 'p': unknown predictor 'nope'"]),
        (["petri-ga"], "p", '[search.predictor_variants.p]\npredictor = "knn"\nkk = 1',
         ["variant 'p': knn has no settable hyperparameter kk; valid: k"]),
        (["petri-ga"], "p", '[search.predictor_variants.p]\npredictor = "gp"\nencoding = "path"',
         ["offers no encoding 'path'"]),
        (["petri-ga"], "knn", '[search.predictor_variants.p]\npredictor = "knn"',
         ["variants p are defined but not listed in predictor"]),
        (["petri-ga"], "knn", "searcher_variants = 3",
         ["searcher_variants must be tables of hyperparameters"]),
    ],
)  # fmt: skip
def test_bad_variants_are_one_line_exit_2(
    data_dir, cli, tmp_path, searchers, predictor, variants, fragments
):
    config = _config(tmp_path, searchers, predictor, variants)
    out = tmp_path / "out"
    _one_line_error(cli("search", "--config", str(config), "--out", str(out)), *fragments)
    assert not (out / "results.parquet").exists()


def test_the_readme_search_config_plans(tmp_path):
    """The README's example config is valid: petri-ga runs petri-dish with outer_steps = 20."""
    text = README.read_text()
    block = re.search(r"```toml\n((?:\s*\[search\].*?\n)(?:.*?\n)*?)\s*```", text)
    assert block, "no [search] config in the README"
    config = tmp_path / "readme.toml"
    config.write_text("\n".join(line.strip() for line in block[1].splitlines()))
    plan = resolve_search({"out": tmp_path / "out"}, config_file=config)
    assert plan.params["petri-ga[dish-short]"] == {
        "predictor": "petri-dish",
        "predictor_params": {"outer_steps": 20},
    }
    assert plan.params["re-50"] == {"population": 50}
    keys = {j.searcher: j.key for j in plan.jobs()}
    assert "/re-50@" in keys["re-50"] and "/petri-ga[dish-short]@" in keys["petri-ga[dish-short]"]
    assert "@" not in keys["regularized-evolution"]


def test_searchers_on_the_command_line_pick_among_a_configs_variants(data_dir, tmp_path):
    config = _config(
        tmp_path, ["re-4", "ga-small"], "knn-1", SEARCHER_VARIANTS + PREDICTOR_VARIANTS
    )
    options = {"searchers": "re-4", "predictor": "knn", "out": tmp_path / "out"}
    plan = resolve_search(options, config_file=config, explicit={"searchers", "predictor"})
    assert list(plan.params) == ["re-4"]
    assert plan.params["re-4"] == {"population": 4}


def test_a_search_of_some_of_a_configs_searchers_reports_the_whole_config(data_dir, cli, tmp_path):
    """--searchers and --predictor on a config file run part of it; the report shows the
    whole config once that has run here, and a name the file lacks makes it no part."""
    re4 = '[search.searcher_variants.re-4]\nsearcher = "regularized-evolution"\npopulation = 4\n'
    config = _config(tmp_path, ["random", "re-4"], "knn", re4)
    out = tmp_path / "out"
    assert cli("search", "--config", str(config), "--out", str(out)).code == 0
    whole = resolve_search({"out": out}, config_file=config).config_hash
    options = {"searchers": "re-4", "out": out}
    part = resolve_search(options, config_file=config, explicit={"searchers"})
    assert part.part_of == whole != part.config_hash
    r = cli("search", "--config", str(config), "--searchers", "re-4", "--out", str(out))
    assert r.code == 0 and "2 of 2 runs already done" in r.err, r.err
    text = (out / "report.md").read_text()
    assert f"config `{whole}` (the latest run, config `{part.config_hash}`, ran part" in text
    assert "| random " in text
    options = {"searchers": "re-4,regularized-evolution", "out": out}
    assert resolve_search(options, config_file=config, explicit={"searchers"}).part_of is None
    # --predictor: some of petri-ga's predictors; `figures search` by default shows the whole
    both = SEARCHER_VARIANTS + PREDICTOR_VARIANTS
    config = _config(tmp_path, ["re-4", "ga-small"], "knn,knn-1", both)
    out = tmp_path / "ga"
    assert cli("search", "--config", str(config), "--out", str(out)).code == 0
    r = cli("search", "--config", str(config), "--predictor", "knn-1", "--out", str(out))
    assert r.code == 0 and "4 of 4 runs already done" in r.err, r.err
    assert cli("figures", "search", str(out)).code == 0
    text = (out / "report.md").read_text()
    assert "ran part of it" in text and "| ga-small[knn] " in text and "| ga-small[knn-1] " in text
