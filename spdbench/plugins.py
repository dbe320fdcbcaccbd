"""Entry-point registry: predictors, oracles, spaces, searchers, split protocols and benchmark
converters, built-in or third-party.

A package adds a plugin by declaring, in its pyproject.toml::

    [project.entry-points."spdbench.predictors"]
    my-predictor = "my_package.module:MyPredictor"

Built-ins are registered the same way in spdbench's own pyproject.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from spdbench.errors import SpdbenchError, UnknownNameError, did_you_mean

GROUPS = {
    "predictor": "spdbench.predictors",
    "oracle": "spdbench.oracles",
    "space": "spdbench.spaces",
    "searcher": "spdbench.searchers",
    "protocol": "spdbench.protocols",
    "converter": "spdbench.converters",
}


@dataclass(frozen=True)
class PluginInfo:
    """What `spdbench ... list` shows about one installed plugin."""

    kind: str
    name: str
    target: str
    distribution: str
    description: str
    error: str | None = None


def _entry_points(kind: str) -> dict[str, EntryPoint]:
    if kind not in GROUPS:
        raise ValueError(f"unknown plugin kind {kind!r}; expected one of {sorted(GROUPS)}")
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUPS[kind]):
        found.setdefault(ep.name, ep)  # first one on sys.path wins, as for imports
    return found


def names(kind: str) -> list[str]:
    """Names of all installed plugins of a kind, sorted."""
    return sorted(_entry_points(kind))


def usage_name(kind: str, name: str) -> str:
    """How a user types a plugin's name: a predictor named `...-k` takes a number in place of
    the k (`fidelity-<k>`, e.g. fidelity-12), `sklearn` takes a class (`sklearn:<dotted.path>`)."""
    if kind == "predictor" and name == "sklearn":
        return f"{name}:<dotted.path>"
    if kind == "predictor" and name.endswith("-k"):
        return f"{name[:-2]}-<k>"
    return name


def load(kind: str, name: str) -> Any:
    """The class (or factory) registered under `name`; a clear error if it is unknown."""
    eps = _entry_points(kind)
    if name not in eps:
        valid = ", ".join(usage_name(kind, n) for n in sorted(eps)) or "(none installed)"
        hint = did_you_mean(name, sorted(eps))
        raise UnknownNameError(
            f"unknown {kind} {name!r}{hint}; installed: {valid} (see `spdbench {kind}s list`)"
        )
    try:
        return eps[name].load()
    except Exception as exc:  # a broken third-party plugin must not look like our bug
        raise SpdbenchError(
            f"{kind} plugin {name!r} ({eps[name].value}) failed to import: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def describe(kind: str) -> list[PluginInfo]:
    """Every installed plugin of a kind with its one-line description (importing each)."""
    infos = []
    for name, ep in sorted(_entry_points(kind).items()):
        dist = ep.dist.name if ep.dist is not None else "?"
        try:
            obj = ep.load()
            doc = getattr(obj, "description", "") or (obj.__doc__ or "").strip()
            infos.append(PluginInfo(kind, name, ep.value, dist, doc.splitlines()[0] if doc else ""))
        except Exception as exc:
            infos.append(PluginInfo(kind, name, ep.value, dist, "", f"{type(exc).__name__}: {exc}"))
    return infos
