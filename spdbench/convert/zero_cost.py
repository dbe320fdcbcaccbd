"""Zero-cost proxy scores as NASLib's zero-cost benchmark files record them.

Layout: ``{space: {dataset: {key: {"val_accuracy": float, <proxy>: {"score", "time"} | float}}}}``
for NAS-Bench-101, or ``{dataset: {...}}`` for NAS-Bench-201; keys are op-index tuples written
as strings, e.g. "(0, 2, 3, 2, 3, 1)". NB101 entries record bare scores without a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spdbench.errors import DataFileError

PROXIES = (
    "synflow",
    "nwot",
    "jacov",
    "snip",
    "grasp",
    "fisher",
    "grad_norm",
    "l2_norm",
    "params",
    "flops",
    "plain",
    "epe_nas",
)


def parse_key(key: str) -> tuple[int, ...]:
    """'(0, 2, 3)' -> (0, 2, 3)."""
    try:
        return tuple(int(v) for v in key.strip("()").split(",") if v.strip())
    except ValueError as exc:
        raise DataFileError(f"zero-cost key {key!r} is not a tuple of op indices") from exc


def proxy_columns(
    entries: dict[str, dict[str, Any]], rows: dict[str, int], n: int
) -> dict[str, np.ndarray]:
    """arch_info columns `zc_<proxy>` (and `zc_<proxy>_time` where recorded) for `n` archs;
    `rows` maps each entry key to its architecture row. NaN where not recorded."""
    out: dict[str, np.ndarray] = {}
    for proxy in PROXIES:
        score = np.full(n, np.nan)
        time = np.full(n, np.nan)
        for key, row in rows.items():
            value = entries[key].get(proxy)
            if isinstance(value, dict):
                score[row] = float(value["score"])
                time[row] = float(value["time"])
            elif value is not None:
                score[row] = float(value)
        if not np.isnan(score).all():
            out[f"zc_{proxy}"] = score
        if not np.isnan(time).all():
            out[f"zc_{proxy}_time"] = time
    return out


def proxy_meta(columns: dict[str, np.ndarray]) -> dict[str, dict[str, str]]:
    """Descriptions of the columns from `proxy_columns`."""
    meta = {}
    for name in columns:
        proxy = name.removeprefix("zc_").removesuffix("_time")
        if name.endswith("_time"):
            meta[name] = {
                "description": f"recorded compute time of the {proxy} proxy (NASLib)",
                "unit": "s",
            }
        else:
            meta[name] = {"description": f"recorded {proxy} zero-cost proxy score (NASLib)"}
    return meta
