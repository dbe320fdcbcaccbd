"""NAS-Bench-Macro (Su et al. 2021) from nas-bench-macro_cifar10.json.

All 6,561 networks with the CIFAR-10 test accuracy of 3 independent trainings (seeds 0..2),
the published mean and std, parameters and FLOPs. Upstream trains each network 50 epochs
(SGD, cosine schedule) and records the best test accuracy over the epochs; that is the one
fidelity here (epoch 50). No training time is recorded, so queries cost 0 simulated seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spdbench.convert import sources
from spdbench.convert.toolkit import converted_runs
from spdbench.errors import DataFileError
from spdbench.oracles.base import Metric
from spdbench.oracles.cached_runs import CachedRuns
from spdbench.spaces.macro import MacroSpace

CITATION = (
    "Su, Huang, Wang, Chen, Wang, Qian, Xu & Chang, Prioritized Architecture Sampling with "
    "Monto-Carlo Tree Search, CVPR 2021 (NAS-Bench-Macro)"
)


def build(name: str, source: Path, *, verify: bool = True) -> CachedRuns:
    """NAS-Bench-Macro from nas-bench-macro/nas-bench-macro_cifar10.json."""
    path = sources.MACRO.locate(source, verify=verify)
    raw = sources.read_json(path)
    space = MacroSpace()
    keys = sorted(raw)
    archs = space.parse(keys)
    try:
        runs = np.array([raw[k]["test_acc"] for k in keys], dtype=np.float64)
        mean = np.array([raw[k]["mean_acc"] for k in keys], dtype=np.float64)
        params = np.array([raw[k]["params"] for k in keys], dtype=np.float64)
        flops = np.array([raw[k]["flops"] for k in keys], dtype=np.float64)
    except (KeyError, ValueError, TypeError) as exc:
        raise DataFileError(f"{path} does not hold NAS-Bench-Macro records: {exc}") from exc
    if runs.ndim != 2:
        raise DataFileError(f"{path}: every architecture must record the same number of runs")
    n, s = runs.shape
    canonical = space.index(space.canonical(archs))
    _, iso_class = np.unique(canonical, return_inverse=True)
    return converted_runs(
        benchmark="nas-bench-macro",
        description="NAS-Bench-Macro on CIFAR-10: 6,561 networks (8 layers x 3 blocks), 3 seeds",
        space=space,
        archs=archs,
        seeds=np.arange(s, dtype=np.int64),
        epochs=np.array([50]),
        train_time=np.zeros((n, s, 1)),
        metrics={
            "test_acc": (
                runs[:, :, None],
                Metric.standard("test_acc", "%", "best test accuracy over 50 epochs"),
            )
        },
        default_metric="test_acc",
        seed_mean={"test_acc": mean[:, None]},
        arch_info={
            "iso_class": (
                iso_class.astype(np.float64),
                {
                    "description": "networks with equal class are the same network (identities "
                    "after a stage's first layer moved to the stage's end); trained once"
                },
            ),
            "params": (params, {"description": "parameters"}),
            "flops": (flops, {"description": "FLOPs"}),
        },
        source="NAS-Bench-Macro",
        citation=CITATION,
        files=[sources.MACRO],
        cost_model="none recorded: queries cost 0 s",
    )
