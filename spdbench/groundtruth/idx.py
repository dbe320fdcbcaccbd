"""MNIST-format IDX files (gzip or raw): reading, validation and locating a dataset on disk.

IDX layout (big-endian): 2 zero bytes, a type code (0x08 = unsigned byte), the number of
dimensions, one uint32 per dimension, then the values in C order. MNIST and Fashion-MNIST ship
four such files: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spdbench.errors import DataFileError
from spdbench.io import sha256_file

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# Where the files usually are; `--data DIR` takes precedence.
SEARCH_PATHS = (
    "/usr/share/datasets/fashion-mnist",  # apt-get install dataset-fashion-mnist
    "/usr/share/datasets/mnist",
    "~/.cache/spdbench/mnist",
    "~/.cache/spdbench/fashion-mnist",
    "data/mnist",
    "data/fashion-mnist",
)
HOW_TO_GET = (
    "pass --data DIR with the four IDX files ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]); "
    "Fashion-MNIST installs with `apt-get install dataset-fashion-mnist` "
    "(into /usr/share/datasets/fashion-mnist)"
)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed or raw)."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if _is_gzip(path) else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataFileError(f"{path} cannot be read as (gzipped) IDX: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise DataFileError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f"{path} is truncated inside its IDX header")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_TYPES[raw[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DataFileError(
            f"{path} holds {len(raw)} bytes but its header {shape} promises {expected}: truncated or corrupt"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> None:
    """Write an uint8 array in IDX format (gzip when the name ends in .gz); for tests and tools."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    blob = header + array.tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        blob = gzip.compress(blob, mtime=0)
    path.write_bytes(blob)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


@dataclass(frozen=True)
class ImageDataset:
    """Train and test images (n, 28, 28) uint8 and labels, with where they came from."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    files: dict[str, dict[str, str]]  # role -> {"path", "sha256"}


def find_files(data: str | os.PathLike | None) -> dict[str, Path]:
    """The four IDX files in `data`, or in the first usual place that has them all."""
    candidates = [Path(data)] if data is not None else [Path(p).expanduser() for p in SEARCH_PATHS]
    for root in candidates:
        found = {}
        for role, stem in FILES.items():
            for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
                if (root / name).is_file():
                    found[role] = root / name
                    break
        if len(found) == len(FILES):
            return found
        if data is not None:
            missing = ", ".join(FILES[r] + "[.gz]" for r in FILES if r not in found)
            raise DataFileError(f"{root} lacks {missing}; {HOW_TO_GET}")
    raise DataFileError(f"no MNIST-format dataset found in {', '.join(SEARCH_PATHS)}; {HOW_TO_GET}")


def guess_name(root: Path) -> str:
    """'fashion-mnist' when the folder says so, else 'mnist'."""
    return "fashion-mnist" if "fashion" in str(root).lower() else "mnist"


def load_dataset(data: str | os.PathLike | None = None, name: str | None = None) -> ImageDataset:
    """Read and check a MNIST-format dataset (28x28 images, labels 0..9, matching counts)."""
    files = find_files(data)
    arrays = {role: read_idx(path) for role, path in files.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataFileError(
                f"{split} images {images.shape} and labels {labels.shape} do not match "
                f"({files[split + '_images'].parent})"
            )
        if labels.size and (labels.max() > 9):
            raise DataFileError(f"{split} labels must be digits 0..9 ({files[split + '_labels']})")
    root = files["train_images"].parent
    return ImageDataset(
        name=name or guess_name(root),
        files={role: {"path": str(p), "sha256": sha256_file(p)} for role, p in files.items()},
        **arrays,
    )
