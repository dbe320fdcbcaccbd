"""Hyperparameters read from `__init__` (the scikit-learn convention), shared by predictors
and searchers, so a plugin class declares its settings once, as keyword arguments; and the
named variants of a config (compare's predictors, search's searchers and predictors): a table
per name holding the registered class it runs and the hyperparameters it sets."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from spdbench.errors import ConfigError, UnknownNameError

T = TypeVar("T")


class Parameterized:
    """`param_names`, `get_params` and a repr built from the `__init__` signature."""

    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the hyperparameters, read from the `__init__` signature."""
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    @classmethod
    def settable(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """`settings` (a config's hyperparameters), checked to name only hyperparameters
        other than `seed` (the harness sets it); ConfigError, in one line, naming the rest."""
        label = getattr(cls, "name", "") or cls.__name__
        valid = [p for p in cls.param_names() if p != "seed"]
        unknown = sorted(set(settings) - set(valid))
        if unknown:
            raise ConfigError(
                f"{label} has no settable hyperparameter {', '.join(unknown)}; "
                f"valid: {', '.join(valid) or '(none)'}"
            )
        return dict(settings)

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as passed to `__init__`."""
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


# ---- named variants of a config ---------------------------------------------------------------
# `variants` maps a listed name to its table: `kind` (e.g. "predictor") names the registered
# class it runs (default: the listed name itself), every other key is a hyperparameter.


KEY_SEPARATORS = ("/", "@", "[", "]")  # job keys: hash/name[predictor]@variant/replicate


def check_variants(variants: Any, kind: str, key: str, example: str) -> None:
    """ConfigError unless `variants` (the config's `key`) maps names to tables whose `kind`
    entry, where given, is a name; `example` shows a good table in the message."""
    if not isinstance(variants, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) for k, v in variants.items()
    ):
        raise ConfigError(f"{key} must be tables of hyperparameters, e.g. {example}")
    for name, spec in variants.items():
        if not name.strip() or any(c in name for c in KEY_SEPARATORS):
            raise ConfigError(
                f"variant name {name!r} may not be blank or hold any of {' '.join(KEY_SEPARATORS)} "
                "(they separate the parts of job keys); pick a plain name such as dish-short"
            )
        if not isinstance(spec.get(kind, name), str):
            raise ConfigError(f"variant {name!r}: {kind} must be a registered name")


def variant_of(variants: dict[str, dict[str, Any]], name: str, kind: str) -> tuple[str, dict]:
    """The registered name a listed name runs and the hyperparameters its variant sets."""
    spec = dict(variants.get(name, {}))
    return spec.pop(kind, name), spec


def resolve_variant(
    variants: dict[str, dict[str, Any]],
    name: str,
    kind: str,
    resolve: Callable[[str, dict[str, Any]], T],
) -> T:
    """`resolve(registered name, hyperparameters)` of a listed name; an error it raises about
    them (a bad hyperparameter, an unknown class) names the variant."""
    _check_not_dotted(variants, name)
    base, settings = variant_of(variants, name, kind)
    try:
        return resolve(base, settings)
    except (ConfigError, UnknownNameError) as exc:
        if name in variants:
            tables = [
                k
                for k, v in settings.items()
                if isinstance(v, dict)
                and re.search(rf"no settable hyperparameter [^;]*\b{re.escape(k)}\b", str(exc))
            ]
            hint = (
                f'; if "{name}.{tables[0]}" is a variant name, quote it in its table header '
                "(a dot in a TOML table name nests tables)"
                if tables
                else ""
            )
            raise type(exc)(f"variant {name!r}: {exc}{hint}") from exc
        raise


def names_of(listed: Any) -> list[str]:
    """The names of a comma-separated string (blanks dropped), or of a list as it is."""
    if isinstance(listed, str):
        return [name.strip() for name in listed.split(",") if name.strip()]
    return list(listed or ())


def narrowed_from(
    narrowed: Any,
    from_dict: Callable[[dict[str, Any]], Any],
    raw: dict[str, Any],
    file_values: dict[str, Any],
    keys: Iterable[str],
) -> str | None:
    """The hash of a config file's whole config (the file's `keys` lists with this run's
    other options, `raw`) when the command line's lists in `narrowed` name a proper part of
    the file's: each a subset, one smaller. None when they do not, when the file lists none
    of them, or when its own lists are malformed (they are not this run's)."""
    listed = {key: file_values.get(key) for key in keys}
    if not listed or not all(listed.values()):
        return None
    try:
        whole = from_dict({**raw, **listed})
    except ConfigError:
        return None
    pairs = [
        (set(names_of(getattr(narrowed, k))), set(names_of(getattr(whole, k)))) for k in listed
    ]
    if all(mine <= every for mine, every in pairs) and any(m < e for m, e in pairs):
        return whole.hash()
    return None


def listed_variants(variants: dict[str, Any], listed: Any) -> dict[str, Any]:
    """A config's checked variants that a command-line list names (`listed`: names or a comma-
    separated string). The others are not run, and not an error: they are no typo in the
    list, so running some of a config's variants needs no edited copy of it."""
    keep = {str(name).strip() for name in names_of(listed)}
    for name in keep:
        _check_not_dotted(variants, name)
    return {name: spec for name, spec in variants.items() if name in keep}


def _check_not_dotted(variants: dict[str, Any], name: str) -> None:
    """ConfigError when a listed name with dots is not a variant but its parts are a path of
    tables in `variants`: TOML nests [compare.variants.dish-lr0.1] as "1" inside "dish-lr0"."""
    node: Any = variants
    for part in name.split(".") if name not in variants else ():
        if not isinstance(node, dict) or part not in node:
            return
        node = node[part]
    if node is not variants:
        raise ConfigError(
            f"variant {name!r} was read as nested tables: a dot in a TOML table name nests "
            f'tables; quote the name in its table header ("{name}")'
        )


def check_variants_used(
    variants: dict[str, Any], listed: Iterable[str], where: str, option: str
) -> None:
    """ConfigError naming the variants that no listed name runs."""
    unused = sorted(set(variants) - set(listed))
    if unused:
        raise ConfigError(
            f"variants {', '.join(unused)} are defined but not listed in {where}; list them "
            f"({option}) or remove them"
        )
