"""Every ``mmtok`` command in README.md and docs/*.md runs as written (issue 16).

The commands are read from the fenced code blocks (a line starting with ``mmtok `` or
``.venv/bin/mmtok ``, ``\\`` continuations joined, ``#`` comments dropped) and run, in document
order, through the real typer app in one folder per document holding generated sample media
under the names the docs use. Only the commands :data:`SKIP` names are not run, each for a reason:
they need something a test cannot provide (a model download, a cluster, minutes of training) or
are not a command (a synopsis, a line of output).
"""

from __future__ import annotations

import base64
import glob
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from mmtok.cli.app import app, register
from mmtok.samples import write_samples

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
register([])

# (pattern found in the command, why it is not run). Every skipped command matches one.
SKIP: list[tuple[str, str]] = [
    (r" · ", "a line of output shown after a command, not a command"),
    (r"\[--|\bDIR\b|REQUEST\.json", "a synopsis with placeholders, not a runnable command"),
    (r"mmtok serve\b", "starts a server that runs until stopped (tests/serve/test_process.py)"),
    (r"--engine ray", "needs a Ray instance or cluster (tests/pretokenize/test_engines.py)"),
    (r"/shared/", "a cluster's shared file system"),
    (r"/models/|\./[A-Z][\w.-]+|\./(?:encodec|dac|mimi|chameleon)", "a downloaded model folder"),
    (r"path/to/config\.json", "an LLM's config.json from a model download"),
    (r"--steps [1-9]\d{3}", "thousands of training steps: minutes of CPU (test_cli_train.py)"),
    (r"mmtok train-codec", "trains to the default step count: minutes of CPU (test_cli_train.py)"),
    (r"--workers 16", "sixteen worker processes on a two-core test machine"),
]


def commands(doc: Path) -> list[str]:
    """The ``mmtok`` command lines in ``doc``'s fenced code blocks, in order."""
    out, block, pending = [], False, ""
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            block, pending = not block, ""
            continue
        text = pending + line.strip()
        if not block or not text.startswith(("mmtok ", ".venv/bin/mmtok ")):
            continue
        if text.endswith("\\"):
            pending = text[:-1] + " "
            continue
        pending = ""
        out.append(text.removeprefix(".venv/bin/"))
    return out


def skip_reason(command: str) -> str | None:
    return next((why for pattern, why in SKIP if re.search(pattern, command)), None)


def _tiktoken(path: Path) -> None:
    """A byte-level ``*.tiktoken`` vocabulary: every byte its own rank (no merges)."""
    lines = (f"{base64.b64encode(bytes([b])).decode()} {b}" for b in range(256))
    path.write_text("\n".join(lines) + "\n")


def _tokenizer_json(path: Path) -> None:
    """A small Hugging Face ``tokenizer.json`` (byte-level BPE trained on a few words)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(["Describe the photo and the clip."] * 4, trainer)
    tok.save(str(path))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample media under every name the docs use."""
    folder = tmp_path_factory.mktemp("docs-media")
    write_samples(folder)  # photo.jpg, diagram.png, icon.webp, clip.mp4, tone.wav, request.json
    shutil.copytree(ROOT / "examples", folder / "examples")
    Image.open(folder / "diagram.png").save(folder / "a.png")
    Image.open(folder / "photo.jpg").save(folder / "cat.png")
    import soundfile as sf

    wave, rate = sf.read(folder / "tone.wav")
    sf.write(folder / "speech.flac", wave, rate)
    photos = folder / "photos"
    photos.mkdir()
    for name in ("photo.jpg", "diagram.png", "icon.webp", "cat.png"):
        shutil.copy(folder / name, photos / name)
    request = {  # README's example request
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image", "path": "a.png"},
                    {"type": "video", "path": "clip.mp4", "fps": 1.0},
                ],
            }
        ]
    }
    (folder / "request.json").write_text(json.dumps(request))
    lines = [json.dumps({"id": f"r{i}", **request}) for i in range(3)]
    (folder / "requests.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "data").mkdir()
    for name in ("photo.jpg", "diagram.png", "clip.mp4"):
        shutil.copy(folder / name, folder / "data" / name)
    shutil.copy(folder / "requests.jsonl", folder / "data" / "requests.jsonl")
    _tiktoken(folder / "qwen.tiktoken")
    _tokenizer_json(folder / "tokenizer.json")
    return folder


def _run_in(folder: Path, command: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(folder)
    args = []
    for word in shlex.split(command, comments=True)[1:]:
        args += sorted(glob.glob(word)) if any(c in word for c in "*?") else [word]
    result = CliRunner().invoke(app, args)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    return (-1 if crashed else result.exit_code), result.output


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_documented_command_runs_as_written(doc, media, tmp_path, monkeypatch):
    found = commands(doc)
    runnable = [c for c in found if skip_reason(c) is None]
    if not runnable:
        pytest.skip(f"{doc.name}: no mmtok command a test can run")
    folder = tmp_path / "work"
    shutil.copytree(media, folder)
    if any("-c runs/vq" in c for c in runnable):  # a tiny checkpoint stands in for the long run
        tiny = "--image-size 16 --downsample 8 --channels 8 --codebook-size 16 --latent-dim 4"
        code, output = _run_in(
            folder, f"mmtok train-vq photos/ --out runs/vq --steps 2 {tiny}", monkeypatch
        )
        assert code == 0, output
    failures = []
    for i, command in enumerate(runnable):
        # A command runs after the ones before it (``pack`` reads what ``pretokenize`` wrote)
        # or, being one of several alternative forms writing the same folder, on its own.
        code, output = _run_in(folder, command, monkeypatch)
        if code != 0:
            alone = tmp_path / f"alone-{i}"
            shutil.copytree(media, alone)
            code, output = _run_in(alone, command, monkeypatch)
        if code != 0:
            failures.append(f"{command}\n  exit {code}: {output.strip()[-400:]}")
    assert not failures, f"{doc.name}:\n" + "\n".join(failures)


def test_every_skip_has_a_reason_and_is_used():
    found = [c for doc in DOCS for c in commands(doc)]
    assert found and all(why for _, why in SKIP)
    # A skip pattern nothing matches is stale: the command it excused is gone.
    unused = [p for p, _ in SKIP if not any(re.search(p, c) for c in found)]
    assert not unused, unused
