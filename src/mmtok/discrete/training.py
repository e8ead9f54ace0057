"""Training the discrete tokenizers on a folder of media: a resumable loop, its data and its plot.

Every random draw of step s (the batch, k-means seeds, restarts, quantiser dropout) comes from
``torch.manual_seed(seed + s)``, so a run stopped at any checkpoint and resumed gives the same
tensors as one never stopped. A checkpoint folder holds the model (:mod:`checkpoint`), Adam's
state (``optimizer.safetensors``), the step reached (``trainer.json``), the per-step history
(``metrics.json``) and its plot (``metrics.png``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor

from mmtok.audio.load import load_audio
from mmtok.discrete.checkpoint import (
    CONFIG_FILE,
    Tokenizer,
    read_json,
    read_tensors,
    save_model,
    write_json,
    write_tensors,
)
from mmtok.discrete.codec import RVQCodec
from mmtok.discrete.config import CodecConfig, TrainConfig, VQImageConfig
from mmtok.discrete.quantize import CodebookMonitor
from mmtok.discrete.vq import VQImageTokenizer, fit_image, image_to_pixels
from mmtok.errors import ConfigError, EmptyMediaError
from mmtok.image.decode import decode_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus")
OPTIMIZER_FILE = "optimizer.safetensors"
TRAINER_FILE = "trainer.json"
METRICS_FILE = "metrics.json"
PLOT_FILE = "metrics.png"


def media_files(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under ``folder`` (recursively) with one of ``suffixes``, sorted; none is an error."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not paths:
        raise EmptyMediaError(folder, f"no files ending in {', '.join(suffixes)}")
    return paths


def load_image_folder(folder: Path, size: int) -> Tensor:
    """Every image under ``folder``, centre-cropped and resized: (N, 3, size, size) in [0, 1]."""
    paths = media_files(folder, IMAGE_SUFFIXES)
    return torch.stack([image_to_pixels(fit_image(decode_image(p), size)) for p in paths])


def load_audio_folder(folder: Path, sample_rate: int, segment: int) -> Tensor:
    """Every audio file under ``folder`` as mono at ``sample_rate``, cut into (N, segment) pieces.

    A clip's tail shorter than a segment is dropped, unless the whole clip is shorter: then it
    is zero-padded to one segment.
    """
    pieces = []
    for path in media_files(folder, AUDIO_SUFFIXES):
        wave = torch.from_numpy(load_audio(path, sample_rate=sample_rate, mono=True))  # (S,)
        whole = max(1, wave.numel() // segment) * segment
        pieces.append(F.pad(wave, (0, max(0, whole - wave.numel())))[:whole].view(-1, segment))
    return torch.cat(pieces)


def init_model(config: VQImageConfig | CodecConfig, seed: int) -> Tokenizer:
    """A fresh model for ``config``, its weights drawn from ``torch.manual_seed(seed)`` so a
    run is reproducible from its options alone."""
    torch.manual_seed(seed)
    return VQImageTokenizer(config) if isinstance(config, VQImageConfig) else RVQCodec(config)


def train(
    model: Tokenizer,
    data: Tensor,
    out_dir: Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    device: str | torch.device = "cpu",
) -> CodebookMonitor:
    """Train ``model`` on ``data`` (N, ...) to ``config.steps``, checkpointing into ``out_dir``.

    With ``resume``, ``model`` must be the one loaded from ``out_dir``; its optimiser state,
    step and history continue from there. Without it, ``out_dir`` must not hold a checkpoint.
    ``on_step`` receives each step's history row (for progress bars and logs). The model
    trains on ``device`` (batches move there; ``data`` stays where it is). An interrupt
    (Ctrl-C) saves the steps done since the last checkpoint, then propagates.
    """
    if config.warmup_steps and not isinstance(model, VQImageTokenizer):
        raise ConfigError("training: warm-up steps apply to VQ image tokenizers only")
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    if resume:
        start, monitor = _load_state(out_dir, model, optimizer)
    elif (out_dir / CONFIG_FILE).exists():
        raise ConfigError(f"{out_dir}: already holds a checkpoint; resume it or pick another --out")
    else:
        start, monitor = 0, CodebookMonitor()
    model.train()
    saved = start
    try:
        for step in range(start, config.steps):
            torch.manual_seed(config.seed + step)
            batch = data[torch.randint(len(data), (config.batch_size,))].to(device)
            warm = step < config.warmup_steps  # a VQ image tokenizer (checked above)
            out = model.training_step(batch, quantize=False) if warm else model.training_step(batch)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            optimizer.step()
            metrics = {"loss": float(out.loss.detach()), model.metric_name: out.metric}
            row = monitor.record(step + 1, out.stats, **metrics)
            if on_step is not None:
                on_step(row)
            if (step + 1) % config.save_every == 0 or step + 1 == config.steps:
                _save_state(out_dir, model, optimizer, monitor, config)
                saved = step + 1
    except KeyboardInterrupt:
        if monitor.rows and monitor.rows[-1]["step"] > saved:
            _save_state(out_dir, model, optimizer, monitor, config)
        raise
    model.eval()
    return monitor


def _save_state(
    out_dir: Path,
    model: Tokenizer,
    optimizer: torch.optim.Optimizer,
    monitor: CodebookMonitor,
    config: TrainConfig,
) -> None:
    save_model(out_dir, model)
    state = optimizer.state_dict()["state"]  # {param index: {name: tensor}}
    write_tensors(
        out_dir / OPTIMIZER_FILE,
        {f"{i}.{name}": t for i, slots in state.items() for name, t in slots.items()},
    )
    step = monitor.rows[-1]["step"]
    write_json(out_dir / TRAINER_FILE, {"step": step, "train": dataclasses.asdict(config)})
    write_json(out_dir / METRICS_FILE, monitor.rows)
    plot_history(monitor, model.metric_name, out_dir / PLOT_FILE)


def _load_state(
    out_dir: Path, model: Tokenizer, optimizer: torch.optim.Optimizer
) -> tuple[int, CodebookMonitor]:
    """Restore Adam's state into ``optimizer``; return (step reached, history so far)."""
    trainer = read_json(out_dir / TRAINER_FILE)
    if not isinstance(trainer, dict) or not isinstance(trainer.get("step"), int):
        raise ConfigError(f"{out_dir / TRAINER_FILE}: no integer 'step'")
    # Adam keeps, per parameter i, a scalar step count and two moments shaped like it.
    expected = {}
    for i, p in enumerate(model.parameters()):
        expected[f"{i}.step"] = torch.zeros(())
        expected[f"{i}.exp_avg"] = expected[f"{i}.exp_avg_sq"] = p.detach()
    tensors = read_tensors(out_dir / OPTIMIZER_FILE, expected)
    state = {
        i: {n: tensors[f"{i}.{n}"] for n in ("step", "exp_avg", "exp_avg_sq")}
        for i in range(len(list(model.parameters())))
    }
    groups = optimizer.state_dict()["param_groups"]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    rows = read_json(out_dir / METRICS_FILE)
    return trainer["step"], CodebookMonitor(rows[: trainer["step"]])


def plot_history(monitor: CodebookMonitor, metric_name: str, path: Path) -> None:
    """Three panels over steps: % of codes used, perplexity (one line per codebook), and
    the reconstruction metric. Written as a PNG."""
    steps = monitor.series("step")
    figure = Figure(figsize=(13, 3.6), layout="constrained")
    usage, perplexity, recon = figure.subplots(1, 3)
    for q in range(len(monitor.rows[0]["codebooks"])):
        label = f"codebook {q}"
        usage.plot(steps, [100 * u for u in monitor.series("usage", q)], label=label, lw=0.8)
        perplexity.plot(steps, monitor.series("perplexity", q), label=label, lw=0.8)
    recon.plot(steps, monitor.series(metric_name), color="black", lw=0.8)
    for axis, title in (
        (usage, "codes used per step (%)"),
        (perplexity, "perplexity"),
        (recon, f"reconstruction ({metric_name.replace('_db', '')}, dB)"),
    ):
        axis.set_title(title)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    if len(monitor.rows[0]["codebooks"]) <= 8:
        usage.legend(fontsize="small")
    figure.savefig(path, dpi=100)
