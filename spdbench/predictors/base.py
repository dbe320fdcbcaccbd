"""The Predictor contract (scikit-learn style).

- `__init__` only stores hyperparameters (keyword arguments with defaults, one of them `seed`);
  no work, no data.
- `fit(archs, scores, context)` learns and returns self; `predict(archs)` returns one float per
  architecture, **higher is better**. Scores given to `fit` are higher-is-better too (the
  harness multiplies lower-is-better metrics by -1).
- A predictor says what it needs beyond (arch, score) pairs in `needs`; the harness builds a
  `Context` holding it. Known needs: "space" (the search space, for encodings or motif-networks),
  "curves" (recorded learning curves of the training architectures), "oracle" (an oracle to
  spend simulated training time on; the cost lands on its clock).
- A predictor that trains the architectures it is asked about for a few epochs (learning-curve
  predictors) says so with `reads_query_fidelity`; it reads their partial curves up to
  `Context.query_fidelity` (compare's `--fidelities`), or up to its own default without one.

Subclasses implement `_fit` and `_predict`; the public methods validate inputs and outputs,
so every predictor fails the same clear way on bad input.

A listed predictor name may carry an argument after a colon (`sklearn:<dotted.path>`):
`resolve` loads the plugin named before the colon, and its `configure` turns the argument and
the config's settings into `__init__` keyword arguments. A plugin registered with a name ending
in `-k` takes a number in place of the k (`fidelity-12` is `fidelity-k` with argument 12).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from spdbench import plugins
from spdbench.errors import ConfigError, InvalidInputError, NotFittedError, PredictorContractError
from spdbench.oracles.base import Oracle
from spdbench.params import Parameterized
from spdbench.simulation.charged import ChargedOracle
from spdbench.spaces.base import SearchSpace

KNOWN_NEEDS = frozenset({"space", "curves", "oracle"})
# Families `spdbench predictors list` groups by (White et al. 2021's, plus the Petri dish).
FAMILIES = ("model-based", "learning-curve", "zero-cost", "petri-dish", "baseline")


@dataclass
class Context:
    """What the harness provides to predictors beyond (arch, score) pairs."""

    space: SearchSpace
    oracle: ChargedOracle | None = None  # an Oracle given here is wrapped in one
    metric: str | None = None  # the oracle metric the scores come from
    # The epoch the experiment reads ground truth at (scores and test truth alike); a predictor
    # that reads recorded values itself (e.g. ASHA's rungs) goes no further than this.
    fidelity: int | None = None
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (n_train, epochs)
    # The epoch a predictor that `reads_query_fidelity` trains the queried architectures to
    # (compare's --fidelities); None: the predictor's own default.
    query_fidelity: int | None = None

    def __post_init__(self) -> None:
        # A predictor pays for what it queries: it is handed the oracle behind a clock of its
        # own (`context.oracle.clock`), which the harness reads around fit and predict.
        if self.oracle is not None and not isinstance(self.oracle, ChargedOracle):
            self.oracle = ChargedOracle(self.oracle)

    @classmethod
    def for_predictor(
        cls,
        predictor: type[Predictor],
        oracle: Oracle,
        metric: str,
        ground_truth: Any,
        query_fidelity: int | None = None,
    ) -> Context:
        """What `predictor` needs, and only that: the oracle is handed over only to predictors
        that declare "oracle" (they pay for what they query), curves come from `ground_truth`."""
        return cls(
            space=oracle.space,
            oracle=oracle if "oracle" in predictor.needs else None,
            metric=metric,
            fidelity=ground_truth.fidelity,
            curves=ground_truth.curves,
            query_fidelity=query_fidelity,
        )


class Predictor(Parameterized, ABC):
    """Base class of all performance predictors."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    family: ClassVar[str] = ""  # one of FAMILIES ("" for plugins that do not say)
    needs: ClassVar[frozenset[str]] = frozenset({"space"})
    # Optional packages (import name -> what installs it) the predictor cannot run without.
    packages: ClassVar[dict[str, str]] = {}
    # False for predictors that ignore the training scores (replayed zero-cost proxies): the
    # harness then does not count the training set's ground-truth cost in their set-up time.
    uses_train_scores: ClassVar[bool] = True
    # Per-architecture facts (oracle `arch_info`) the predictor replays; the harness draws
    # train and test architectures only among those that record all of them.
    requires_arch_info: ClassVar[tuple[str, ...]] = ()

    # True for predictors whose jobs take seconds (the Petri dish): `--workers auto` starts a
    # process pool only for those, as a pool's start-up costs more than cheap jobs save.
    parallel: ClassVar[bool] = False

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    @classmethod
    def check_benchmark(cls, oracle: Oracle) -> None:
        """Raise ConfigError when the predictor cannot run on `oracle` at all; called once when
        an experiment is planned, before any job starts (default: it can run anywhere)."""
        return

    @classmethod
    def warm_up(cls, oracle: Oracle | None) -> None:
        """Pay one-time costs (e.g. compiling a kernel) once per process, before its first
        timed job, so that they land in no job's fit or predict time (default: none)."""
        return

    def check_settings(self, oracle: Oracle) -> None:
        """Raise ConfigError when these hyperparameters cannot run on `oracle` (e.g. an
        encoding its space does not offer); called when an experiment is planned."""
        return

    def reads_query_fidelity(self) -> bool:
        """True when the predictor trains the architectures it is asked about up to
        `Context.query_fidelity` (compare runs it once per `--fidelities` value)."""
        return False

    def check_query_fidelity(self, oracle: Oracle, fidelity: int, query: int | None) -> None:
        """Raise ConfigError when the predictor cannot read partial curves up to epoch `query`
        (None: its default) while ground truth is read at `fidelity`; called at planning."""
        return

    @classmethod
    def requirements(cls) -> list[str]:
        """What the predictor needs beyond (architecture, score) pairs, in words, for
        `spdbench predictors list` (built from `needs`, `requires_arch_info` and `packages`)."""
        words = {
            "oracle": "oracle queries (charged in simulated time)",
            "curves": "recorded learning curves",
        }
        out = [words[n] for n in sorted(cls.needs) if n in words]
        if cls.requires_arch_info:
            out.append(f"recorded {', '.join(cls.requires_arch_info)}")
        missing = cls.missing_packages()
        for module, how in cls.packages.items():
            out.append(
                f"{module} ({'missing: pip install ' + how if module in missing else 'installed'})"
            )
        if not cls.uses_train_scores:
            out.append("no training scores")
        return out

    @classmethod
    def missing_packages(cls) -> dict[str, str]:
        """The optional packages `packages` names that are not installed (-> what installs them)."""
        import importlib.util

        return {m: how for m, how in cls.packages.items() if importlib.util.find_spec(m) is None}

    @classmethod
    def configure(cls, argument: str | None, settings: dict[str, Any]) -> dict[str, Any]:
        """The `__init__` keyword arguments of a listed predictor: `argument` is what follows
        the colon in its name (None without one), `settings` the hyperparameters its config
        sets (never `seed`); ConfigError, in one line, on anything it does not take."""
        if argument is not None:
            label = cls.name or cls.__name__
            raise ConfigError(f"predictor {label} takes nothing after ':' (got {argument!r})")
        return cls.settable(settings)

    # ---- the contract ---------------------------------------------------------------------------
    def fit(self, archs: Any, scores: Any, context: Context | None = None) -> Self:
        """Learn from architectures and their higher-is-better scores."""
        context = self._check_context(context)
        g = self._check_archs(archs, context, "fit")
        y = np.array(scores, dtype=np.float64)
        if y.ndim != 1 or y.shape[0] != g.shape[0]:
            raise InvalidInputError(
                f"{self._label()}.fit got {g.shape[0]} architectures but scores of shape {y.shape}"
            )
        if not np.isfinite(y).all():
            raise InvalidInputError(f"{self._label()}.fit got NaN or infinite scores")
        g.setflags(write=False)
        y.setflags(write=False)
        self.context_ = context
        self._fit(g, y, context)
        self.fitted_ = True
        return self

    def fitted_info(self) -> dict[str, Any]:
        """What fitting chose that a reader of the results needs (JSON-able), e.g. the
        hyperparameters a selection picked; the harness stores it with the job. Default: {}."""
        return {}

    def predict(self, archs: Any, context: Context | None = None) -> np.ndarray:
        """One higher-is-better score per architecture."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{self._label()}.predict called before fit")
        context = self._check_context(context or self.context_)
        g = self._check_archs(archs, context, "predict")
        g.setflags(write=False)
        out = np.asarray(self._predict(g, context), dtype=np.float64)
        if out.shape != (g.shape[0],):
            raise PredictorContractError(
                f"{self._label()} returned predictions of shape {out.shape} for {g.shape[0]} architectures"
            )
        if not np.isfinite(out).all():
            raise PredictorContractError(f"{self._label()} returned NaN or infinite predictions")
        return out

    @abstractmethod
    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        """Learn from validated, read-only inputs."""

    @abstractmethod
    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        """Scores for validated, read-only architectures."""

    # ---- helpers ----------------------------------------------------------------------------
    def _label(self) -> str:
        return self.name or type(self).__name__

    def _check_context(self, context: Context | None) -> Context:
        if context is None:
            raise InvalidInputError(
                f"{self._label()} needs a Context (at least the search space): "
                "fit(archs, scores, Context(space=...))"
            )
        unknown = set(self.needs) - KNOWN_NEEDS
        if unknown:
            raise PredictorContractError(
                f"{self._label()} declares unknown needs {sorted(unknown)}"
            )
        if "oracle" in self.needs and context.oracle is None:
            raise InvalidInputError(f"{self._label()} needs an oracle in its Context")
        if "curves" in self.needs and not context.curves:
            raise InvalidInputError(f"{self._label()} needs learning curves in its Context")
        return context

    def _check_archs(self, archs: Any, context: Context, where: str) -> np.ndarray:
        g = context.space.as_genotypes(archs)
        if g.shape[0] == 0:
            raise InvalidInputError(f"{self._label()}.{where} got no architectures")
        return g


def resolve(name: str, settings: dict[str, Any] | None = None) -> tuple[type[Predictor], dict]:
    """The class of a listed predictor name (`knn`, `sklearn:<dotted.path>`) and the `__init__`
    keyword arguments that the name and `settings` give it (see `Predictor.configure`)."""
    base, colon, argument = name.partition(":")
    numbered = re.fullmatch(r"(.+)-(\d+)", base)
    if not colon and numbered and f"{numbered[1]}-k" in plugins.names("predictor"):
        base, colon, argument = f"{numbered[1]}-k", ":", numbered[2]  # fidelity-12
    cls = plugins.load("predictor", base)
    if not (isinstance(cls, type) and issubclass(cls, Predictor)):
        raise ConfigError(f"predictor plugin {base!r} is not a spdbench Predictor subclass")
    return cls, cls.configure(argument if colon else None, dict(settings or {}))
