"""`nas-bench-nlp-wt2`: NAS-Bench-NLP's recurrent cells on WikiText-2 (Klyuchnikov et al. 2022),
from train_logs_wikitext-2_logs.zip (one JSON log per training run).

Per run: per-epoch `train_losses`, `val_losses`, `test_losses` (cross-entropy, nats/token)
and `wall_times` (seconds per epoch), 50 epochs, all with the same hyperparameters (3-layer
AWD-LSTM-style model, cell replaced). Runs whose loss became NaN (status "loss is nan!", 4 of
345) are left out: they have no final value to rank. A cell trained twice keeps both runs
(run 0 and 1); the others have one. Cost = recorded wall time up to the queried epoch.
Cells are addressed by `recepie_id`; space features are op counts of the cell graph, and the
space keeps each cell's graph as a string (spdbench.spaces.nlp_cells) for the Petri dish.
"""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from spdbench.convert import sources
from spdbench.convert.toolkit import converted_runs
from spdbench.errors import DataFileError
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.spaces.nlp_cells import NLPCellSpace, encode_recipe

OPS = (  # feature order (op counts)
    "linear",
    "activation_tanh",
    "activation_sigm",
    "activation_leaky_relu",
    "elementwise_sum",
    "elementwise_prod",
    "blend",
)
EPOCHS = 50
CITATION = (
    "Klyuchnikov, Trofimov, Artemova, Salnikov, Kravchuk, Filippov & Burnaev, NAS-Bench-NLP: "
    "Neural Architecture Search Benchmark for Natural Language Processing, IEEE Access 2022"
)


def _features(recipe: dict) -> list[float]:
    ops = Counter(node["op"] for node in recipe.values())
    hidden = {i for node in recipe.values() for i in node["input"] if i.startswith("h_prev")}
    return [float(ops.get(op, 0)) for op in OPS] + [float(len(recipe)), float(len(hidden))]


def build(name: str, source: Path, *, verify: bool = True) -> CachedRuns:
    """NAS-Bench-NLP recurrent cells from nas-bench-nlp/train_logs_wikitext-2_logs.zip."""
    path = sources.NLP_LOGS.locate(source, verify=verify)
    try:
        with zipfile.ZipFile(path) as zf:
            logs = [json.loads(zf.read(n)) for n in sorted(zf.namelist()) if n.endswith(".json")]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataFileError(f"{path} is not a readable zip of JSON logs ({exc})") from exc
    runs_of: dict[int, list[dict]] = {}
    features: dict[int, list[float]] = {}
    graphs: dict[int, str] = {}
    for log in logs:
        if log.get("status") != "OK" or len(log["val_losses"]) != EPOCHS:
            continue
        rid = int(log["recepie_id"])
        runs_of.setdefault(rid, []).append(log)
        recipe = json.loads(log["recepie"])
        features[rid] = _features(recipe)
        graphs[rid] = encode_recipe(recipe)
    ids = np.array(sorted(runs_of), dtype=np.int64)
    n, s = len(ids), max(len(v) for v in runs_of.values())
    curves = {k: np.full((n, s, EPOCHS), np.nan) for k in ("train_loss", "valid_loss", "test_loss")}
    wall = np.zeros((n, s, EPOCHS))
    params = np.empty(n)
    for i, rid in enumerate(ids):
        for j, log in enumerate(runs_of[rid]):
            curves["train_loss"][i, j] = log["train_losses"]
            curves["valid_loss"][i, j] = log["val_losses"]
            curves["test_loss"][i, j] = log["test_losses"]
            wall[i, j] = log["wall_times"]
        params[i] = runs_of[rid][0]["num_params"]
    # a missing second run costs what the recorded one did (cost is averaged over run slots)
    single = np.isnan(curves["valid_loss"][:, :, -1])
    wall = np.where(single[:, :, None], wall[:, :1, :], wall)
    space = NLPCellSpace(
        ids.tolist(),
        [features[r] for r in ids],
        feature_names=[*OPS, "nodes", "hidden_states"],
        prefix="nlp-",
        graphs=[graphs[r] for r in ids],
    )
    return converted_runs(
        benchmark="nas-bench-nlp-wt2",
        description=f"NAS-Bench-NLP recurrent cells on WikiText-2: {n} cells, 50-epoch curves",
        space=space,
        archs=ids[:, None],
        seeds=np.arange(s, dtype=np.int64),
        epochs=np.arange(1, EPOCHS + 1),
        train_time=wall,
        metrics={
            name: (curves[name], Metric.standard(name, "nats/token"))
            for name in ("valid_loss", "test_loss", "train_loss")
        },
        default_metric="valid_loss",
        arch_info={"params": (params, {"description": "parameters of the whole model"})},
        source="NAS-Bench-NLP (WikiText-2 training logs)",
        citation=CITATION,
        files=[sources.NLP_LOGS],
        left_out=f"{len(logs) - sum(len(v) for v in runs_of.values())} runs that "
        "diverged (loss NaN) or stopped before 50 epochs",
        cost_model="recorded wall time per epoch",
    )
