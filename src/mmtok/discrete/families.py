"""The VQ image tokenizers of unified models (Chameleon, Emu3, Janus) as data, read from a folder.

A family is what its transformers image processor and model do to an image, written down:
how pixels are resized, cropped or padded and normalised, how many pixels one code covers,
and how the code grid enters the token sequence (begin/end tokens, a token after every row,
the map from code ids to text-vocabulary ids). Everything here is arithmetic on header sizes
and JSON, so counting ids never imports torch; :mod:`mmtok.discrete.vqvae` runs the networks.

A folder is a transformers model folder (``config.json`` of the whole model or of the VQ-VAE
alone, ``preprocessor_config.json``, weights as safetensors, optionally ``tokenizer.json``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mmtok.errors import ConfigError, UnsupportedMediaError
from mmtok.image import resize as rz

if TYPE_CHECKING:
    from mmtok.text.tokenizers import TextTokenizer

Resize = Literal["shortest-edge-crop", "smart-resize", "longest-side-pad"]


@dataclass(frozen=True)
class Layout:
    """How one image's codes sit in the sequence the language model reads.

    ``begin`` [``size text`` ``size_end``] rows (each followed by ``row_end``) ``tail`` ``end``.
    Code ids map to text-vocabulary ids through the tokens matching ``code_token`` (its group
    is the code, spelt in ``code_digits``); with no ``code_token`` the codes live in their own
    embedding table (Janus's generation head) and stay as they are. The processor writes
    ``placeholder`` where the model's ``get_image_tokens`` go (the codes and, for Emu3, the
    row ends); ``None``: the model has no placeholder for its codes (Janus).
    """

    begin: str
    end: str | None
    row_end: str | None = None  # token after every row of codes
    size_end: str | None = None  # with it, "{rows}*{cols}" as text then this token after begin
    tail: tuple[str, ...] = ()  # tokens between the last code and ``end``
    code_token: str | None = None  # regex over vocabulary names; group 1 spells the code
    code_digits: str = "0123456789"  # the characters that spell 0..9 in that group
    placeholder: str | None = "<image>"


@dataclass(frozen=True)
class Family:
    """One VQ tokenizer family: its transformers names, pixel rule and sequence layout."""

    name: str
    model_types: tuple[str, str]  # config.json model_type: whole model, VQ-VAE alone
    vqvae_class: str  # the transformers class of the VQ-VAE
    processor_types: tuple[str, ...]  # preprocessor_config.json image_processor_type
    resize: Resize
    has_decoder: bool  # whether the transformers VQ-VAE holds decoder weights
    layout: Layout
    weight_prefixes: tuple[str, ...]  # where the VQ-VAE's tensors sit in the model's files
    # Tokens the processor writes around a prompt, by their key in tokenizer_config.json
    # (Emu3 writes ``bos_token`` before it, Chameleon ``sep_token`` after it in chat mode);
    # the tokenizer's own post-processor (BOS/EOS) comes on top.
    prompt_before: tuple[str, ...] = ()
    prompt_after: tuple[str, ...] = ()


FAMILIES: tuple[Family, ...] = (
    Family(
        name="chameleon",
        model_types=("chameleon", "chameleon_vqgan"),
        vqvae_class="ChameleonVQVAE",
        processor_types=("ChameleonImageProcessor", "ChameleonImageProcessorPil"),
        resize="shortest-edge-crop",
        has_decoder=False,  # transformers ships the encoder and codebook only
        layout=Layout(
            begin="<racm3:break>",
            end="<eoss>",
            code_token=r"IMGIMG([A-J]+).",
            code_digits="ABCDEFGHIJ",
        ),
        weight_prefixes=("model.vqmodel.", "vqmodel.", ""),
        prompt_after=("sep_token",),
    ),
    Family(
        name="emu3",
        model_types=("emu3", "emu3_vqgan"),
        vqvae_class="Emu3VQVAE",
        processor_types=("Emu3ImageProcessor",),
        resize="smart-resize",
        has_decoder=True,
        layout=Layout(
            begin="<|image start|>",
            end="<|image end|>",
            row_end="<|extra_200|>",
            size_end="<|image token|>",
            tail=("<|extra_201|>",),
            code_token=r"<\|visual token (\d{6})\|>",
        ),
        weight_prefixes=("model.vqmodel.", "vqmodel.", ""),
        prompt_before=("bos_token",),
    ),
    Family(
        name="janus",
        model_types=("janus", "janus_vqgan"),
        vqvae_class="JanusVQVAE",
        processor_types=("JanusImageProcessor", "JanusImageProcessorPil"),
        resize="longest-side-pad",
        has_decoder=True,
        layout=Layout(begin="<begin_of_image>", end="<end_of_image>", placeholder=None),
        weight_prefixes=("model.vqmodel.", "vqmodel.", ""),
    ),
)


@dataclass(frozen=True)
class Preprocess:
    """The image processor's numbers: sizes in pixels, normalisation per channel."""

    resample: int  # PIL filter id
    rescale_factor: float
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]
    shortest_edge: int = 0  # shortest-edge-crop: resize target
    crop: tuple[int, int] = (0, 0)  # shortest-edge-crop: (height, width)
    side: int = 0  # longest-side-pad: longest side and square canvas
    min_size: int = 0  # longest-side-pad: floor of the shorter side
    factor: int = 0  # smart-resize: sides are multiples of it
    min_pixels: int = 0  # smart-resize
    max_pixels: int = 0  # smart-resize


@dataclass(frozen=True)
class VQFolder:
    """A model folder read: its family, VQ-VAE config, pixel rule and vocabulary."""

    path: Path
    family: Family
    vq_config: dict[str, Any]  # the VQ-VAE's config as saved (``vq_config`` of a whole model)
    preprocess: Preprocess
    vocabulary: dict[str, int]  # token name -> id: ``vocabulary_map`` or tokenizer files

    @property
    def codebook_size(self) -> int:
        """K: codes in the codebook."""
        c = self.vq_config
        return int(c.get("num_embeddings", c.get("codebook_size", 0)))

    @property
    def downsample(self) -> int:
        """Pixels per code side: 2^(levels − 1) of the encoder."""
        return 2 ** (len(self.vq_config["channel_multiplier"]) - 1)

    def token_id(self, token: str) -> int:
        """Vocabulary id of a layout token; ConfigError names the folder when missing."""
        try:
            return self.vocabulary[token]
        except KeyError:
            raise ConfigError(f"{self.path}: the vocabulary has no token {token!r}") from None

    @cached_property
    def text_tokenizer(self) -> TextTokenizer:
        """The folder's ``tokenizer.json``, read once (layouts with text and prompts need it)."""
        path = self.path / "tokenizer.json"
        if not path.exists():
            raise ConfigError(f"{path}: missing; the {self.family.name} layout tokenizes text")
        from mmtok.text.tokenizers import hf_tokenizer

        return hf_tokenizer(path)

    @cached_property
    def code_to_token(self) -> list[int] | None:
        """Vocabulary id of every code 0..K-1, or None when codes keep their own table."""
        pattern = self.family.layout.code_token
        if pattern is None:
            return None
        digits = str.maketrans(self.family.layout.code_digits, "0123456789")
        table: dict[int, int] = {}
        for name, token_id in self.vocabulary.items():
            match = re.fullmatch(pattern, name)
            if match:
                table[int(match.group(1).translate(digits))] = token_id
        k = self.codebook_size
        missing = [code for code in range(k) if code not in table]
        if missing:
            raise ConfigError(
                f"{self.path}: the vocabulary maps {k - len(missing)} of the {k} codes to tokens "
                f"(first without one: {missing[0]})"
            )
        return [table[code] for code in range(k)]


def family_of(model_type: str, where: Path) -> Family:
    """The family whose whole-model or VQ-VAE ``model_type`` this is."""
    for family in FAMILIES:
        if model_type in family.model_types:
            return family
    known = sorted(t for f in FAMILIES for t in f.model_types)
    raise ConfigError(f"{where}: model_type {model_type!r} is not a VQ tokenizer ({known})")


def is_vq_folder(folder: Path | str) -> bool:
    """Whether ``folder/config.json`` names a Chameleon, Emu3 or Janus model (or VQ-VAE): the
    test a ``--profile FOLDER`` dispatcher needs before :func:`image_token_count`."""
    path = Path(folder) / "config.json"
    try:
        model_type = json.loads(path.read_text()).get("model_type")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return False
    return any(model_type in f.model_types for f in FAMILIES)


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return data


def _require(data: dict[str, Any], key: str, value: Any, where: Path) -> None:
    """A processor switch mmtok implements only one way; any other value is refused."""
    if data.get(key, value) != value:
        raise ConfigError(f"{where}: {key}={data[key]!r} is not supported (mmtok needs {value!r})")


def _image_processor_config(folder: Path) -> tuple[dict[str, Any], Path]:
    """The image processor's saved config and its file: ``preprocessor_config.json``, else
    the ``image_processor`` of ``processor_config.json`` (what transformers 5 writes)."""
    path = folder / "preprocessor_config.json"
    if path.exists() or not (folder / "processor_config.json").exists():
        return _json(path), path
    path = folder / "processor_config.json"
    data = _json(path).get("image_processor")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: no image_processor object")
    return data, path


def read_preprocess(folder: Path, family: Family) -> Preprocess:
    """The folder's image processor config -> :class:`Preprocess`, refusing switches mmtok
    lacks."""
    data, path = _image_processor_config(folder)
    kind = data.get("image_processor_type")
    if kind not in family.processor_types:
        raise ConfigError(
            f"{path}: image_processor_type {kind!r}, expected one of {family.processor_types}"
        )
    for key in ("do_resize", "do_rescale", "do_normalize", "do_convert_rgb"):
        _require(data, key, True, path)
    try:
        base = Preprocess(
            resample=int(data["resample"]),
            rescale_factor=float(data["rescale_factor"]),
            image_mean=tuple(float(m) for m in data["image_mean"]),  # type: ignore[arg-type]
            image_std=tuple(float(s) for s in data["image_std"]),  # type: ignore[arg-type]
        )
        if family.resize == "shortest-edge-crop":
            _require(data, "do_center_crop", True, path)
            if set(data["size"]) != {"shortest_edge"}:
                raise ConfigError(f"{path}: size {data['size']!r}: needs only shortest_edge")
            crop = data["crop_size"]
            return replace(
                base,
                shortest_edge=int(data["size"]["shortest_edge"]),
                crop=(int(crop["height"]), int(crop["width"])),
            )
        if family.resize == "longest-side-pad":
            _require(data, "do_pad", True, path)
            size = data["size"]
            if size.get("height") != size.get("width"):
                raise ConfigError(f"{path}: size {size!r}: height and width must be equal")
            return replace(base, side=int(size["height"]), min_size=int(data.get("min_size", 14)))
        return replace(
            base,
            factor=int(data["spatial_factor"]),
            min_pixels=int(data["min_pixels"]),
            max_pixels=int(data["max_pixels"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: missing or malformed key ({exc!r})") from None


def _tokenizer_vocabulary(folder: Path) -> dict[str, int]:
    """Token -> id from ``tokenizer.json`` (added tokens included), or {} when there is none."""
    path = folder / "tokenizer.json"
    if not path.exists():
        return {}
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path)).get_vocab(with_added_tokens=True)
    except Exception as exc:  # tokenizers raises a bare Exception for malformed files
        raise ConfigError(f"{path}: not a Hugging Face tokenizer.json ({exc})") from None


def read_folder(folder: Path | str) -> VQFolder:
    """Read a Chameleon, Emu3 or Janus folder (config, processor, vocabulary); no weights."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a model folder")
    config_path = folder / "config.json"
    config = _json(config_path)
    family = family_of(str(config.get("model_type")), config_path)
    whole = config.get("model_type") == family.model_types[0]
    vq_config = config.get("vq_config") if whole else config
    if not isinstance(vq_config, dict) or "channel_multiplier" not in vq_config:
        raise ConfigError(f"{config_path}: no vq_config with a channel_multiplier")
    vocabulary = config.get("vocabulary_map") or _tokenizer_vocabulary(folder)
    result = VQFolder(
        path=folder,
        family=family,
        vq_config=vq_config,
        preprocess=read_preprocess(folder, family),
        vocabulary=vocabulary,
    )
    if family.resize == "smart-resize" and result.preprocess.factor != result.downsample:
        raise ConfigError(
            f"{folder}: spatial_factor {result.preprocess.factor} differs from the VQ-VAE's "
            f"downsampling {result.downsample}"
        )
    return result


def resized_size(
    folder: VQFolder, height: int, width: int, source: str = "image"
) -> tuple[int, int]:
    """The (height, width) in pixels the VQ-VAE sees for an image of (height, width)."""
    p = folder.preprocess
    rule = folder.family.resize
    if rule == "shortest-edge-crop":
        return p.crop
    if rule == "longest-side-pad":
        return p.side, p.side
    if max(height, width) / min(height, width) > 200:
        raise UnsupportedMediaError(source, f"aspect ratio {width}×{height} is above 200")
    return rz.smart_resize(
        height, width, factor=p.factor, min_pixels=p.min_pixels, max_pixels=p.max_pixels
    )


def code_grid(folder: VQFolder, height: int, width: int, source: str = "image") -> tuple[int, int]:
    """(rows, cols) of codes for an image of (height, width) pixels: from the header alone."""
    h, w = resized_size(folder, height, width, source)
    f = folder.downsample
    return h // f, w // f


def size_text(rows: int, cols: int) -> str:
    """The text Emu3 writes between its begin token and the codes: ``"{rows}*{cols}"``."""
    return f"{rows}*{cols}"


@dataclass(frozen=True)
class ImageSpan:
    """One image's ids as the family's processor writes them, before the model encodes it.

    ``ids`` (n,) int64 holds the placeholder id (-1 for a family without one) where
    ``filled`` (n,) is set: the positions the model's image tokens take (:func:`image_tokens`:
    the codes and Emu3's row ends). ``codes`` (n,) marks the code ids, ``text`` (n,) the text
    written inside the span (Emu3's size); the rest are begin/end/row tokens.
    """

    ids: np.ndarray
    filled: np.ndarray
    codes: np.ndarray
    text: np.ndarray


def image_span(vq: VQFolder, rows: int, cols: int) -> ImageSpan:
    """The span of a ``rows × cols`` code grid, from the grid's size alone (see :class:`Layout`):
    ``begin`` [size text ``size_end``] placeholders ``tail`` ``end``."""
    layout = vq.family.layout
    size = encode_text(vq, size_text(rows, cols)) if layout.size_end is not None else []
    head = [vq.token_id(layout.begin), *size]
    head += [vq.token_id(layout.size_end)] if layout.size_end is not None else []
    tail = [vq.token_id(t) for t in layout.tail]
    tail += [vq.token_id(layout.end)] if layout.end is not None else []
    per_row = cols + (layout.row_end is not None)
    body = np.zeros((rows, per_row), dtype=bool)
    body[:, :cols] = True  # (rows, per_row): code positions; a row end after each row
    hole = vq.token_id(layout.placeholder) if layout.placeholder is not None else -1
    ids = np.array([*head, *[hole] * body.size, *tail], dtype=np.int64)
    filled, codes, text = (np.zeros(len(ids), dtype=bool) for _ in range(3))
    filled[len(head) : len(head) + body.size] = True
    codes[len(head) : len(head) + body.size] = body.reshape(-1)
    text[1 : 1 + len(size)] = True
    return ImageSpan(ids, filled, codes, text)


def image_tokens(vq: VQFolder, grid: Sequence[Sequence[int]]) -> list[int]:
    """Code rows -> the ids the model writes into the span's ``filled`` positions, as its
    ``get_image_tokens`` does: each code mapped into the vocabulary (Janus: as it is), a row
    end after each row where the family has one."""
    table = vq.code_to_token
    row_end = vq.family.layout.row_end
    end = [vq.token_id(row_end)] if row_end is not None else []
    out: list[int] = []
    for row in grid:
        out += [table[c] for c in row] if table is not None else list(row)
        out += end
    return out


def image_sequence(vq: VQFolder, grid: Sequence[Sequence[int]]) -> list[int]:
    """Code rows -> the image's whole span of ids, as the language model reads it."""
    span = image_span(vq, len(grid), len(grid[0]))
    ids = span.ids.copy()
    ids[span.filled] = image_tokens(vq, grid)
    return ids.tolist()


def image_token_count(folder: Path | str | VQFolder, height: int, width: int) -> int:
    """Header-only: the number of ids an image of (height, width) becomes in the sequence of
    the model in ``folder`` (see :func:`image_span`). Emu3's size text is tokenized with the
    folder's ``tokenizer.json``."""
    vq = folder if isinstance(folder, VQFolder) else read_folder(folder)
    return len(image_span(vq, *code_grid(vq, height, width)).ids)


def encode_text(folder: VQFolder, text: str) -> list[int]:
    """Ids of plain ``text`` by the folder's ``tokenizer.json`` (no special tokens added)."""
    return folder.text_tokenizer.encode(text)


def prompt_tokens(vq: VQFolder) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The special tokens the family's processor writes before and after a prompt, read by
    their keys in ``tokenizer_config.json`` (see :attr:`Family.prompt_before`)."""
    keys = (vq.family.prompt_before, vq.family.prompt_after)
    if not any(keys):
        return (), ()
    path = vq.path / "tokenizer_config.json"
    config = _json(path)

    def token(key: str) -> str:
        value = config.get(key)
        value = value.get("content") if isinstance(value, dict) else value
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: no {key!r} (the {vq.family.name} processor writes it)")
        return value

    return tuple(token(k) for k in keys[0]), tuple(token(k) for k in keys[1])
