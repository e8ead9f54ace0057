"""The layering docs/architecture.md describes, checked on the runtime import graph.

Module-level imports only (imports inside functions are the lazy, on-purpose kind; imports
under ``if TYPE_CHECKING:`` are type hints): a lower layer never imports a higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mmtok"

# Layer of each top-level package or module; a module may import only its own layer or lower.
LAYERS: dict[str, int] = {
    "errors": 0,
    "media": 1,
    "image": 2,
    "video": 2,
    "audio": 2,
    "text": 2,
    "discrete": 4,
    "profiles": 3,
    "probe": 3,
    "limits": 3,
    "count": 5,
    "fusion": 4,
    "compress": 4,
    "budget": 6,
    "cache": 5,
    "pretokenize": 7,
    "serve": 7,
    "samples": 7,
    "cli": 8,
    "__init__": 9,
}
# Inside layer 2 the modality packages stand side by side; these are the edges allowed between
# them (video frames reuse the image resize rules and pixel helpers).
SIDEWAYS = {("video", "image")}


def _module_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in [node] if not isinstance(node, ast.If | ast.Try) else ast.walk(node):
            if isinstance(sub, ast.ImportFrom) and sub.module and sub.module.startswith("mmtok"):
                found.add(sub.module)
                found.update(f"{sub.module}.{a.name}" for a in sub.names)
            elif isinstance(sub, ast.Import):
                found.update(a.name for a in sub.names if a.name.startswith("mmtok"))
    return found


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    rel = path.relative_to(SRC)
    own = rel.parts[0].removesuffix(".py")
    if own not in LAYERS:
        pytest.fail(f"{rel}: package {own!r} has no layer in this test and docs/architecture.md")
    for target in _module_imports(path):
        other = _top(target)
        if other is None or other == own or other not in LAYERS:
            continue
        allowed = LAYERS[other] < LAYERS[own] or (own, other) in SIDEWAYS
        assert allowed, (
            f"{rel} imports {target}: {own} (layer {LAYERS[own]}) may not import "
            f"{other} (layer {LAYERS[other]})"
        )
