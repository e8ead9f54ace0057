"""Lean imports: header-only commands load no heavy library, and no module imports in a cycle.

Each command runs in a fresh interpreter through ``mmtok.cli.app.main`` (what the ``mmtok``
script runs), which then lists the heavy modules that ended up in ``sys.modules``.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.images import encode, random_image
from tests.media_factory import gradient_frame, tone, write_sound, write_video
from tests.parity.vq_folders import emu3_folder
from tests.pretokenize_data import GOOD, write_jsonl, write_media

HEAVY = ("torch", "matplotlib", "transformers", "cv2", "ray")
SRC = Path(__file__).resolve().parents[1] / "src"

# Runs ``mmtok <argv>`` in this process, then prints the heavy modules it imported.
DRIVER = """
import json, sys
from mmtok.cli.app import main
heavy, sys.argv[1:] = json.loads(sys.argv[1])
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
found = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
sys.stderr.write("\\nHEAVY " + json.dumps([code, found]) + "\\n")
"""


def _heavy_after(argv: list[str], cwd: Path) -> list[str]:
    """Run ``mmtok argv`` in a fresh interpreter; the heavy modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps([HEAVY, argv])],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
    assert last.startswith("HEAVY "), done.stderr[-2000:]
    code, heavy = json.loads(last.removeprefix("HEAVY "))
    assert code in (0, None), f"mmtok {' '.join(argv)} exited {code}:\n{done.stderr[-2000:]}"
    return heavy


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    """One JPEG, WAV and MP4, a request with one image, and a JSONL dataset of requests."""
    folder = tmp_path_factory.mktemp("media")
    (folder / "one.jpg").write_bytes(encode(random_image(640, 480), "JPEG"))
    write_sound(folder / "one.wav", tone(1.0), 16_000)
    write_video(folder / "one.mp4", gradient_frame(64, 48), 15, fps=15)
    write_media(folder)
    content = [{"type": "text", "text": "Compare"}, {"type": "image", "path": "one.jpg"}]
    request = {"messages": [{"role": "user", "content": content}]}
    (folder / "request.json").write_text(json.dumps(request))
    write_jsonl(folder / "rows.jsonl", [json.dumps(r) for r in GOOD])
    emu3_folder(folder / "vq", weights=False)  # a VQ tokenizer's configs, no weights
    return folder


# A tiktoken file (the Qwen vocabulary dashscope ships), besides the default Tekken cases below.
QWEN_TIKTOKEN = str(
    Path(importlib.util.find_spec("dashscope").origin).parent / "resources/qwen.tiktoken"
)
TOK = ["--tokenizer", QWEN_TIKTOKEN]

COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "count-image": ["count", "one.jpg"],
    "count-video": ["count", "--json", "one.mp4"],
    "count-wav": ["count", "--profile", "generic", "--json", "one.wav"],
    "count-vq-folder": ["count", "--profile", "vq", "--json", "one.jpg"],
    "plan": ["plan", "request.json", "--context", "32000", "--json", *TOK],
    "tokenize-json": ["tokenize", "request.json", "--json", *TOK],
    "density": ["density", "--json"],
    "pretokenize-lengths": ["pretokenize", "rows.jsonl", "lengths", "--lengths-only", *TOK],
    "pretokenize-rows": ["pretokenize", "rows.jsonl", "rows", *TOK],
    # The built-in text tokenizer is mistral-common's Tekken.
    "plan-default-tokenizer": ["plan", "request.json", "--context", "32000", "--json"],
    "tokenize-json-default-tokenizer": ["tokenize", "request.json", "--json"],
}
# Commands that still import a heavy module through code outside the CLI's reach.


@pytest.mark.parametrize(
    "name",
    list(COMMANDS),
)
def test_header_only_command_imports_no_heavy_module(name, media):
    argv = COMMANDS[name]
    if argv[0] == "pretokenize":  # in this process: worker processes are not checked here
        argv = [*argv, "--workers", "1", "--json"]
    assert _heavy_after(argv, media) == []


def test_import_mmtok_is_light():
    code = "import sys, mmtok; print(sorted(m for m in sys.modules if m.startswith('mmtok')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['mmtok']"


# --- the import graph -------------------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported: module level, including
    ``try``/``if``/``with`` blocks, but not ``if TYPE_CHECKING:`` or function bodies."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            found += ([] if _is_type_checking(node.test) else _runtime_imports(node.body)) + (
                _runtime_imports(node.orelse)
            )
        elif isinstance(node, ast.Try):
            blocks = [node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)]
            found += [n for block in blocks for n in _runtime_imports(block)]
        elif isinstance(node, ast.With):
            found += _runtime_imports(node.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """``mmtok`` module → the ``mmtok`` modules its module-level imports load (``from pkg
    import sub`` counts as importing ``pkg.sub`` when that is a module)."""
    paths = {_module_name(p): p for p in (SRC / "mmtok").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
                continue
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in paths else base)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, …, a]``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_walker_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    graph = import_graph()
    assert "mmtok.cli.app" in graph and "mmtok.count" in graph["mmtok.cli.count"]
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)
