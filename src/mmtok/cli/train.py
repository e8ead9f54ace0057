"""``mmtok train-vq`` and ``mmtok train-codec``: train a discrete tokenizer on a folder of media.

Both print a progress bar and a metrics line every ``--log-every`` steps, save a checkpoint
(safetensors + JSON) every ``--save-every`` steps, plot the history to ``metrics.png``, and
continue an interrupted run with ``--resume``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mmtok.cli.app import app
from mmtok.cli.render import console, fail_on, print_json
from mmtok.discrete.config import CodecConfig, QuantizerConfig, TrainConfig, VQImageConfig
from mmtok.errors import ConfigError, MmtokError

if TYPE_CHECKING:
    from torch import Tensor

    from mmtok.discrete.checkpoint import Tokenizer

_VQ, _CODEC, _TRAIN = VQImageConfig(), CodecConfig(), TrainConfig()

Data = Annotated[
    Path,
    typer.Argument(help="Folder of media, searched recursively.", exists=True, file_okay=False),
]
Out = Annotated[Path, typer.Option("--out", "-o", help="Checkpoint folder.", file_okay=False)]
Resume = Annotated[bool, typer.Option(help="Continue the run saved in --out.")]
Steps = Annotated[int, typer.Option(help="Total steps, counting a resumed run's.")]
BatchSize = Annotated[int, typer.Option(help="Examples per step.")]
LearningRate = Annotated[float, typer.Option(help="Adam learning rate.")]
SaveEvery = Annotated[int, typer.Option(help="Steps between checkpoints.")]
LogEvery = Annotated[int, typer.Option(help="Steps between metric lines.")]
Seed = Annotated[int, typer.Option(help="Seed; step s draws from seed + s.")]
CodebookSize = Annotated[int, typer.Option(help="Codes per codebook (K).")]
LatentDim = Annotated[int, typer.Option(help="Width of each quantised vector (D).")]
Channels = Annotated[int, typer.Option(help="Convolution width.")]
Decay = Annotated[float, typer.Option(help="EMA decay of the codebooks.")]
DeadThreshold = Annotated[float, typer.Option(help="EMA uses per step below which a code is dead.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the final metrics as JSON only.")]
Device = Annotated[str, typer.Option(help="Torch device to train on: cpu, cuda, cuda:1, mps.")]


@app.command("train-vq")
def train_vq_command(
    data: Data,
    out: Out,
    resume: Resume = False,
    steps: Steps = _TRAIN.steps,
    batch_size: BatchSize = _TRAIN.batch_size,
    learning_rate: LearningRate = _TRAIN.learning_rate,
    save_every: SaveEvery = _TRAIN.save_every,
    log_every: LogEvery = 100,
    seed: Seed = _TRAIN.seed,
    image_size: Annotated[int, typer.Option(help="Training images are fitted to this square.")] = (
        _VQ.image_size
    ),
    downsample: Annotated[int, typer.Option(help="Pixels per token side: 8 or 16.")] = (
        _VQ.downsample
    ),
    channels: Channels = _VQ.channels,
    codebook_size: CodebookSize = _VQ.quantizer.codebook_size,
    latent_dim: LatentDim = _VQ.quantizer.dim,
    decay: Decay = _VQ.quantizer.decay,
    dead_threshold: DeadThreshold = _VQ.quantizer.dead_threshold,
    warmup_steps: Annotated[
        int, typer.Option(help="First steps train the autoencoder alone, quantiser bypassed.")
    ] = _TRAIN.warmup_steps,
    json_out: JsonOut = False,
    device: Device = "cpu",
) -> None:
    """Train a VQ image tokenizer on a folder of images (model options ignored with --resume)."""
    from mmtok.discrete.checkpoint import load_model
    from mmtok.discrete.training import init_model, load_image_folder

    try:
        train_config = TrainConfig(steps, batch_size, learning_rate, save_every, seed, warmup_steps)
        if resume:
            model = load_model(out, "vq-image")
        else:
            quantizer = QuantizerConfig(
                dim=latent_dim,
                codebook_size=codebook_size,
                decay=decay,
                dead_threshold=dead_threshold,
            )
            config = VQImageConfig(quantizer, downsample, channels, image_size)
            model = init_model(config, seed)
        images = load_image_folder(data, model.config.image_size)
        _run(model, images, out, train_config, resume, log_every, json_out, device)
    except MmtokError as exc:
        fail_on(exc)


@app.command("train-codec")
def train_codec_command(
    data: Data,
    out: Out,
    resume: Resume = False,
    steps: Steps = _TRAIN.steps,
    batch_size: BatchSize = _TRAIN.batch_size,
    learning_rate: LearningRate = _TRAIN.learning_rate,
    save_every: SaveEvery = _TRAIN.save_every,
    log_every: LogEvery = 100,
    seed: Seed = _TRAIN.seed,
    sample_rate: Annotated[int, typer.Option(help="Hz; audio is resampled to it.")] = (
        _CODEC.sample_rate
    ),
    segment: Annotated[int, typer.Option(help="Samples per training example.")] = 8192,
    strides: Annotated[str, typer.Option(help="Encoder strides; hop = their product.")] = ",".join(
        map(str, _CODEC.strides)
    ),
    num_quantizers: Annotated[int, typer.Option(help="Residual codebooks (Q).")] = (
        _CODEC.num_quantizers
    ),
    codebook_size: CodebookSize = _CODEC.quantizer.codebook_size,
    latent_dim: LatentDim = _CODEC.quantizer.dim,
    channels: Channels = _CODEC.channels,
    decay: Decay = _CODEC.quantizer.decay,
    dead_threshold: DeadThreshold = _CODEC.quantizer.dead_threshold,
    quantizer_dropout: Annotated[
        bool, typer.Option(help="Train on random codebook prefixes so any prefix decodes.")
    ] = _CODEC.quantizer_dropout,
    json_out: JsonOut = False,
    device: Device = "cpu",
) -> None:
    """Train an RVQ audio codec on a folder of audio (model options ignored with --resume)."""
    from mmtok.discrete.checkpoint import load_model
    from mmtok.discrete.training import init_model, load_audio_folder

    try:
        train_config = TrainConfig(steps, batch_size, learning_rate, save_every, seed)
        if resume:
            model = load_model(out, "rvq-codec")
        else:
            quantizer = QuantizerConfig(
                dim=latent_dim,
                codebook_size=codebook_size,
                decay=decay,
                dead_threshold=dead_threshold,
            )
            config = CodecConfig(
                quantizer,
                num_quantizers,
                sample_rate,
                _parse_strides(strides),
                channels,
                quantizer_dropout,
            )
            model = init_model(config, seed)
        waves = load_audio_folder(data, model.config.sample_rate, segment)
        _run(model, waves, out, train_config, resume, log_every, json_out, device)
    except MmtokError as exc:
        fail_on(exc)


def _parse_strides(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise ConfigError(f"--strides: expected integers like 4,4,4, got {text!r}") from None


def _run(
    model: Tokenizer,
    data: Tensor,
    out: Path,
    config: TrainConfig,
    resume: bool,
    log_every: int,
    json_out: bool,
    device: str = "cpu",
) -> None:
    """Train with a progress bar and metric lines (or silently for --json), then summarise.
    Ctrl-C saves a checkpoint of the steps done and exits 130 (``--resume`` continues it)."""
    try:
        _train(model, data, out, config, resume, log_every, json_out, _device(device))
    except KeyboardInterrupt:
        step = _saved_step(out)
        where = f"step {step} saved to {out}" if step else "nothing saved yet"
        console.print(f"interrupted: {where}; --resume continues the run", highlight=False)
        raise typer.Exit(130) from None


def _device(name: str) -> Any:
    """The torch device ``--device`` names, refused when it is unknown or absent here."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"--device {name!r}: not a torch device (cpu, cuda, cuda:1, mps)"
        ) from None
    present = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not present.get(device.type, True):
        raise ConfigError(f"--device {name}: no {device.type} device on this machine")
    return device


def _saved_step(out: Path) -> int | None:
    from mmtok.discrete.checkpoint import read_json
    from mmtok.discrete.training import TRAINER_FILE

    try:
        return int(read_json(out / TRAINER_FILE)["step"])
    except (MmtokError, OSError, KeyError, TypeError, ValueError):
        return None


def _train(
    model: Tokenizer,
    data: Tensor,
    out: Path,
    config: TrainConfig,
    resume: bool,
    log_every: int,
    json_out: bool,
    device: Any,
) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from mmtok.discrete.training import train

    if json_out:
        monitor = train(model, data, out, config, resume=resume, device=device)
        print_json({"checkpoint": str(out), "examples": len(data), "final": monitor.rows[-1]})
        return
    columns = (
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("train", total=config.steps)

        def on_step(row: dict[str, Any]) -> None:
            progress.update(task, completed=row["step"])
            if row["step"] % log_every == 0:
                progress.console.print(
                    describe(row, model.metric_name), highlight=False, soft_wrap=True
                )

        monitor = train(model, data, out, config, resume=resume, on_step=on_step, device=device)
    console.print(f"{len(data)} examples · saved {out} (model, metrics.json, metrics.png)")
    console.print(describe(monitor.rows[-1], model.metric_name), highlight=False, soft_wrap=True)


def describe(row: dict[str, Any], metric_name: str) -> str:
    """One line: step, loss, reconstruction, and per codebook usage/perplexity/dead/restarts."""
    books = row["codebooks"]

    def per_book(key: str, fmt: str) -> str:
        return "/".join(format(b[key], fmt) for b in books)

    return (
        f"step {row['step']:>6}  loss {row['loss']:.4f}  "
        f"{metric_name.removesuffix('_db')} {row[metric_name]:.2f} dB  "
        f"used {per_book('usage', '.0%')}  perplexity {per_book('perplexity', '.1f')}  "
        f"dead {per_book('dead', 'd')}  restarts {per_book('restarts', 'd')}"
    )
