"""Each room imports only from rooms below it (the design guide's layering), so that oracles
never depend on the harness, ground truth never on the experiment code, and so on. Imports
inside functions count too."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "spdbench"

# Lower number = lower layer. A module may import from its own layer or below.
LAYERS = {
    "errors": 0, "io": 0, "hashing": 0, "arrays": 0, "provenance": 0, "progress": 0,
    "torch_utils": 0, "plugins": 0, "params": 0, "__init__": 0,
    "simulation": 1, "spaces": 1,
    "oracles": 2,
    "predictors": 3, "groundtruth": 3, "convert": 3,
    "harness": 4, "testing": 4, "search": 4,
    "report": 5,
    "cli": 6, "__main__": 6,
}  # fmt: skip


def _room(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "spdbench", module
    return parts[1] if len(parts) > 1 else "__init__"


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name).is_dir()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("spdbench")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spdbench"):
            if node.module == "spdbench":  # `from spdbench import plugins, __version__`
                found |= {
                    f"spdbench.{a.name}" if _is_module(a.name) else "spdbench" for a in node.names
                }
            else:
                found.add(node.module)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_imports(path):
    relative = path.relative_to(PACKAGE).with_suffix("")
    room = relative.parts[0] if len(relative.parts) > 1 else relative.name
    assert room in LAYERS, f"{room} is not placed in a layer: add it to LAYERS"
    upward = [m for m in _imports(path) if LAYERS[_room(m)] > LAYERS[room]]
    assert not upward, f"spdbench/{relative} ({room}) imports from a higher layer: {upward}"


def test_every_room_has_a_layer():
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    rooms |= {p.stem for p in PACKAGE.glob("*.py")}
    assert rooms <= set(LAYERS), rooms - set(LAYERS)
