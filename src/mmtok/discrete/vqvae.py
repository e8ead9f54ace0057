"""Pretrained VQ-VAE image tokenizers (Chameleon, Emu3, Janus): pixels, ids, sequence, pixels back.

The networks are transformers' own ``nn.Module`` classes, built from the folder's config and
filled from its safetensors files (only the VQ-VAE's tensors are read, never pickle, never the
network). Preprocessing is mmtok's: the family's processor steps with the same library and
filter, rescale and normalise through the same float32 table as the patch profiles, so the
pixels equal the processor's bit for bit and the ids equal the model's own encode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from mmtok.discrete.families import (
    VQFolder,
    code_grid,
    image_sequence,
    image_tokens,
    read_folder,
    resized_size,
)
from mmtok.errors import ConfigError, RequestError
from mmtok.image import resize as rz
from mmtok.image.pixels import lookup_hwc, normalize_table, pad_to_square

if TYPE_CHECKING:
    from torch import Tensor, nn

    from mmtok.discrete.vq import VQImageTokenizer


def resized_image(vq: VQFolder, image: Image.Image, source: str = "image") -> np.ndarray:
    """An RGB image -> the (H, W, 3) uint8 pixels the processor normalises (resized, cropped or
    padded as its family does)."""
    p = vq.preprocess
    resample = Image.Resampling(p.resample)
    rule = vq.family.resize
    if rule == "shortest-edge-crop":
        h, w = rz.shortest_edge_size(image.height, image.width, p.shortest_edge)
        array = np.asarray(image.resize((w, h), resample=resample))
        ch, cw = p.crop
        top, left = rz.center_crop_box(h, w, ch, cw)
        if top < 0 or left < 0:  # a crop wider than the resized image: zero border, as numpy's
            padded = np.zeros((max(h, ch), max(w, cw), 3), dtype=np.uint8)
            padded[max(-top, 0) : max(-top, 0) + h, max(-left, 0) : max(-left, 0) + w] = array
            array, top, left = padded, max(top, 0), max(left, 0)
        return array[top : top + ch, left : left + cw]
    if rule == "longest-side-pad":
        scale = p.side / max(image.height, image.width)
        h = max(round(image.height * scale), p.min_size)
        w = max(round(image.width * scale), p.min_size)
        fill = tuple(int(m * 255) for m in p.image_mean)
        return np.asarray(pad_to_square(image.resize((w, h), resample=resample), fill))
    h, w = resized_size(vq, image.height, image.width, source)
    return np.asarray(image.resize((w, h), resample=resample))


def normalize(vq: VQFolder, pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, H, W) float32: rescale then normalise, as the processor does."""
    p = vq.preprocess
    table = normalize_table(p.image_mean, p.image_std, p.rescale_factor)
    return np.ascontiguousarray(lookup_hwc(pixels, table).transpose(2, 0, 1))


def denormalize(vq: VQFolder, pixels: np.ndarray) -> np.ndarray:
    """(3, H, W) float32 model output -> (H, W, 3) uint8, as the processors' ``postprocess``:
    undo the normalisation in float32, undo the rescale, clip to [0, 255] and truncate."""
    p = vq.preprocess
    mean = np.asarray(p.image_mean, dtype=np.float32)[:, None, None]
    std = np.asarray(p.image_std, dtype=np.float32)[:, None, None]
    levels = pixels.astype(np.float32) * std + mean
    levels = (levels.astype(np.float64) * (1 / p.rescale_factor)).astype(np.float32)
    return levels.clip(0, 255).astype(np.uint8).transpose(1, 2, 0)


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"{index}: not a safetensors index ({exc!r})") from None
        return [folder / s for s in shards]
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ConfigError(f"{folder}: no .safetensors weights (mmtok never loads pickle)")
    return files


def read_vq_tensors(vq: VQFolder, expected: dict[str, Tensor]) -> dict[str, Tensor]:
    """Only the VQ-VAE's tensors, by name, from the folder's safetensors files; every name of
    ``expected`` must be found under one of the family's prefixes, with its shape."""
    from safetensors import SafetensorError, safe_open

    found: dict[str, Tensor] = {}
    for path in _weight_files(vq.path):
        try:
            with safe_open(str(path), framework="pt") as f:
                names = set(f.keys())
                for prefix in vq.family.weight_prefixes:
                    hits = [n for n in expected if prefix + n in names and n not in found]
                    for name in hits:
                        found[name] = f.get_tensor(prefix + name)
        except (SafetensorError, OSError) as exc:
            raise ConfigError(f"{path}: not a readable safetensors file ({exc})") from None
    missing = sorted(set(expected) - set(found))
    if missing:
        raise ConfigError(f"{vq.path}: the VQ-VAE tensors {missing[:3]} are missing")
    for name, want in expected.items():
        if found[name].shape != want.shape:
            raise ConfigError(
                f"{vq.path}: tensor {name!r} is {tuple(found[name].shape)}, "
                f"the config needs {tuple(want.shape)}"
            )
    return found


def build_vqvae(vq: VQFolder) -> nn.Module:
    """The family's transformers VQ-VAE for ``vq.vq_config``, weights from the folder, eval."""
    import torch
    import transformers

    model_class = getattr(transformers, vq.family.vqvae_class)
    config_class = model_class.config_class
    fields = {k: v for k, v in vq.vq_config.items() if k not in ("model_type", "architectures")}
    try:
        config = config_class(**fields)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{vq.path / 'config.json'}: vq_config is not valid ({exc})") from None
    if vq.family.resize == "longest-side-pad":  # the whole model sets it from the vision config
        config.num_patches = vq.preprocess.side // vq.downsample
    with torch.device("meta"):
        model = model_class(config)
    expected = model.state_dict()
    tensors = read_vq_tensors(vq, expected)
    model.load_state_dict({k: t.float() for k, t in tensors.items()}, strict=True, assign=True)
    return model.float().eval()


@dataclass
class PretrainedVQ:
    """A folder's VQ-VAE, ready to turn images into code grids and code grids into images."""

    folder: VQFolder
    model: nn.Module

    @property
    def codebook_size(self) -> int:
        return self.folder.codebook_size

    def pixel_values(self, image: Image.Image, source: str = "image") -> np.ndarray:
        """(3, H, W) float32: exactly the processor's ``pixel_values`` for one image."""
        return normalize(self.folder, resized_image(self.folder, image, source))

    def encode(self, image: Image.Image, source: str = "image") -> Tensor:
        """An RGB image -> its code grid (rows, cols), int64: the model's own nearest codes."""
        import torch

        pixels = torch.from_numpy(self.pixel_values(image, source))[None]  # (1, 3, H, W)
        with torch.no_grad():
            if self.folder.family.resize == "smart-resize":  # Emu3 crops to the real size
                sizes = torch.tensor([pixels.shape[-2:]])
                ids = self.model.encode(pixels, sizes, return_dict=True).image_tokens[0]
            else:
                ids = self.model.encode(pixels, return_dict=True).image_tokens
        rows, cols = code_grid(self.folder, image.height, image.width, source)
        return ids.reshape(rows, cols).long()

    def decode(self, ids: Tensor) -> np.ndarray:
        """A code grid (rows, cols) -> (rows·f, cols·f, 3) uint8 pixels, as ``postprocess``."""
        import torch

        k = self.codebook_size
        if ids.dim() != 2 or not ids.numel() or not bool(((ids >= 0) & (ids < k)).all()):
            raise RequestError(
                f"image ids: need a non-empty (rows, cols) grid of codes in [0, {k})"
            )
        if not self.folder.family.has_decoder:
            raise ConfigError(
                f"{self.folder.path}: transformers' {self.folder.family.vqvae_class} has no "
                "decoder, so its ids cannot be turned back into pixels"
            )
        with torch.no_grad():
            if self.folder.family.resize == "longest-side-pad":
                side = self.folder.preprocess.side // self.folder.downsample
                if ids.shape != (side, side):
                    raise RequestError(f"image ids: Janus decodes a {side}×{side} grid only")
                pixels = self.model.decode(ids.reshape(1, -1))[0]
            else:
                pixels = self.model.decode(ids[None])[0]
        return denormalize(self.folder, pixels.float().numpy())

    def tokenize(self, image: Image.Image, source: str = "image") -> tuple[np.ndarray, np.ndarray]:
        """(code grid (rows, cols) int64, the (H, W, 3) uint8 pixels it stands for)."""
        return self.encode(image, source).numpy(), resized_image(self.folder, image, source)

    def detokenize(self, ids: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 pixels of a code grid, or None for a family without a decoder."""
        import torch

        return self.decode(torch.from_numpy(ids)) if self.folder.family.has_decoder else None

    def sequence(self, ids: Tensor) -> list[int]:
        """The ids the language model reads for one image: begin token, codes mapped into the
        vocabulary with the family's row and tail tokens, end token (see :class:`Layout`)."""
        return image_sequence(self.folder, ids.tolist())

    def image_tokens(self, image: Image.Image, source: str = "image") -> list[int]:
        """An RGB image -> the ids the model writes where its processor left placeholders
        (its ``get_image_tokens``): the codes mapped into the vocabulary, with row ends."""
        return image_tokens(self.folder, self.encode(image, source).tolist())


def load_pretrained(folder: Path | str | VQFolder) -> PretrainedVQ:
    """Read a Chameleon, Emu3 or Janus folder (unless already read, see :func:`read_folder`)
    and build its VQ-VAE."""
    vq = folder if isinstance(folder, VQFolder) else read_folder(folder)
    return PretrainedVQ(vq, build_vqvae(vq))


@dataclass
class TrainedVQ:
    """mmtok's own trained VQ (a ``train-vq`` checkpoint) behind the same interface."""

    model: VQImageTokenizer

    @property
    def codebook_size(self) -> int:
        return self.model.config.quantizer.codebook_size

    def tokenize(self, image: Image.Image, source: str = "image") -> tuple[np.ndarray, np.ndarray]:
        """(code grid, the centre-cropped square it stands for) at the training size."""
        from mmtok.discrete.vq import fit_image

        square = fit_image(image, self.model.config.image_size)
        return self.model.image_to_ids(square).numpy(), np.asarray(square)

    def detokenize(self, ids: np.ndarray) -> np.ndarray | None:
        import torch

        return np.asarray(self.model.ids_to_image(torch.from_numpy(ids)))


def load_image_tokenizer(folder: Path | str) -> PretrainedVQ | TrainedVQ:
    """An mmtok ``train-vq`` checkpoint (its config.json has a ``kind``) or a transformers
    Chameleon, Emu3 or Janus folder."""
    from mmtok.discrete.checkpoint import CONFIG_FILE, load_model, read_json

    config = read_json(Path(folder) / CONFIG_FILE)
    if isinstance(config, dict) and "kind" in config:
        return TrainedVQ(load_model(Path(folder), "vq-image"))
    return load_pretrained(folder)
