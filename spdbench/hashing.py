"""Vectorized, platform-independent hashing of integer keys (splitmix64).

Used wherever a value must be a deterministic function of (architecture, seed, ...) without a
Python loop: the synthetic oracle's noise, the random predictor, row keys of generic spaces.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (a bijection of uint64), elementwise, wrapping arithmetic."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def splitmix64(x: np.ndarray) -> np.ndarray:
    """One splitmix64 step: the golden-ratio increment, then the finaliser, elementwise."""
    with np.errstate(over="ignore"):
        return mix64(np.asarray(x, dtype=np.uint64) + _GOLDEN)


def combine(*keys: np.ndarray | int) -> np.ndarray:
    """Hash several broadcastable integer arrays into one uint64 array."""
    h = np.uint64(0)
    for key in keys:
        k = np.asarray(key).astype(np.int64).view(np.uint64)
        with np.errstate(over="ignore"):
            h = splitmix64(h ^ k)
    return np.asarray(h, dtype=np.uint64)


def uniform(*keys: np.ndarray | int) -> np.ndarray:
    """Deterministic uniforms in (0, 1) from integer keys."""
    bits = combine(*keys) >> np.uint64(11)  # 53 random bits
    return (bits.astype(np.float64) + 0.5) / float(1 << 53)


def normal(*keys: np.ndarray | int) -> np.ndarray:
    """Deterministic standard normals from integer keys (Box-Muller)."""
    u1 = uniform(*keys, 1)
    u2 = uniform(*keys, 2)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
