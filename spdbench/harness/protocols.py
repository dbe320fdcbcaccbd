"""How a compare job chooses its training and test architectures.

- `generic`: a random train set of the requested size from the space and a disjoint test set
  (all other architectures of a finite space, else `test_size`, default 200). When predictors
  replay recorded per-architecture facts (zero-cost scores), both sets come from the
  architectures that record them (`having`), so every predictor sees the same split.
- `sigmoid-slope` (Rawal et al. 2020, Sec. 4.1): training slopes drawn at random from the
  restricted interval 0.37-1.50 (15 by default, as in Fig. 1), test on every recorded slope
  outside it. The paper draws 30 points there and keeps 15 for hyperparameter selection; a
  41-slope grid holds only 22 slopes in the interval, so the selection half, when a predictor
  asks for it (`select`), comes out of the training points, as App. A.1 describes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from spdbench import plugins
from spdbench.errors import ConfigError
from spdbench.harness.metrics import ranking_metrics
from spdbench.oracles.base import Oracle

DEFAULT_INFINITE_TEST_SIZE = 200


class Protocol(ABC):
    """A rule for train/test splits."""

    name: ClassVar[str]
    default_train_sizes: ClassVar[tuple[int, ...]]

    @abstractmethod
    def check(
        self,
        oracle: Oracle,
        train_sizes: tuple[int, ...],
        test_size: int | None,
        having: tuple[str, ...] = (),
    ) -> None:
        """Raise ConfigError when the sizes cannot be met on `oracle`."""

    @abstractmethod
    def split(
        self,
        oracle: Oracle,
        rng: np.random.Generator,
        train_size: int,
        test_size: int | None,
        having: tuple[str, ...] = (),
    ) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) genotype arrays, restricted to archs with `having` recorded."""

    def extra_metrics(
        self, test: np.ndarray, truth: np.ndarray, predicted: np.ndarray
    ) -> dict[str, float]:
        """Protocol-specific metrics stored with each job (none by default)."""
        return {}


class GenericProtocol(Protocol):
    """Random disjoint train and test sets."""

    name = "generic"
    default_train_sizes = (20,)

    def _size(self, oracle: Oracle, having: tuple[str, ...]) -> int | None:
        return len(oracle.pool(having)) if having else oracle.size

    def check(self, oracle, train_sizes, test_size, having=()):
        size = self._size(oracle, having)
        if size is not None and max(train_sizes) + (test_size or 2) > size:
            which = f" with {', '.join(having)} recorded" if having else ""
            # without --test-size every architecture not trained on is tested: at least 2
            test = f"test size {test_size}" if test_size else "at least 2 test architectures"
            raise ConfigError(
                f"benchmark {oracle.name!r} holds {size} architectures{which}; train size "
                f"{max(train_sizes)} plus {test} do not fit: use train sizes up to "
                f"{size - (test_size or 2)}"
            )

    def split(self, oracle, rng, train_size, test_size, having=()):
        size = self._size(oracle, having)
        if size is not None:
            test_size = test_size or size - train_size
        else:
            test_size = test_size or DEFAULT_INFINITE_TEST_SIZE
        archs = oracle.sample(train_size + test_size, rng, unique=True, having=having)
        return archs[:train_size], archs[train_size:]


class SigmoidSlopeProtocol(Protocol):
    """Train inside the slope interval 0.37-1.50, test outside (Rawal et al. 2020, Sec. 4.1)."""

    name = "sigmoid-slope"
    default_train_sizes = (15,)
    interval = (0.37, 1.50)

    def _pool(self, oracle: Oracle) -> tuple[np.ndarray, np.ndarray]:
        if oracle.space.name != "sigmoid-slope" or oracle.space.size is None:
            raise ConfigError(
                f"the sigmoid-slope protocol needs a recorded sigmoid-slope benchmark; {oracle.name!r} is not one"
            )
        archs = oracle.enumerate()
        lo, hi = self.interval
        inside = (archs[:, 0] >= lo) & (archs[:, 0] <= hi)
        return archs[inside], archs[~inside]

    def check(self, oracle, train_sizes, test_size, having=()):
        if having:
            raise ConfigError(
                f"the sigmoid-slope protocol tests on every recorded slope; predictors that "
                f"need {', '.join(having)} cannot run on it"
            )
        inside, outside = self._pool(oracle)
        if max(train_sizes) > len(inside):
            raise ConfigError(
                f"{oracle.name!r} records {len(inside)} slopes in {self.interval}; cannot draw {max(train_sizes)}"
            )
        if len(outside) < 2:
            raise ConfigError(
                f"{oracle.name!r} records fewer than 2 slopes outside {self.interval} to test on"
            )
        if test_size is not None:
            raise ConfigError(
                "the sigmoid-slope protocol tests on every slope outside the interval: drop --test-size"
            )

    def extra_metrics(self, test, truth, predicted):
        """Kendall tau on the test slopes left of the interval: does the predictor see the
        falloff left of the peak (Fig. 1)? NaN when fewer than 2 such slopes."""
        left = test[:, 0] < self.interval[0]
        if left.sum() < 2:
            return {"kendall_tau_left": float("nan")}
        return {"kendall_tau_left": ranking_metrics(truth[left], predicted[left])["kendall_tau"]}

    def split(self, oracle, rng, train_size, test_size, having=()):
        inside, outside = self._pool(oracle)
        pick = rng.choice(len(inside), size=train_size, replace=False)
        return inside[np.sort(pick)], outside


def protocol_for(name: str, benchmark_default: str) -> Protocol:
    """The protocol called `name` (entry point group `spdbench.protocols`); 'auto' takes the
    benchmark's default (its catalog record's `protocol`)."""
    name = benchmark_default if name == "auto" else name
    if name not in plugins.names("protocol"):
        raise ConfigError(
            f"unknown protocol {name!r}; valid: auto, {', '.join(plugins.names('protocol'))}"
        )
    cls = plugins.load("protocol", name)
    if not (isinstance(cls, type) and issubclass(cls, Protocol)):
        raise ConfigError(f"protocol plugin {name!r} is not a spdbench Protocol subclass")
    return cls()
