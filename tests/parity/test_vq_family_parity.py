"""Chameleon, Emu3 and Janus VQ tokenizers against transformers, in the same run.

Each folder is written by transformers (tiny random weights, real downsampling and codebook
sizes); the reference is the same folder loaded back by transformers' model and image
processor: pixels bit-identical, code grids and vocabulary ids equal, decoded images equal to
the processor's ``postprocess``, header-only counts equal to the encoded sequence.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoProcessor
from typer.testing import CliRunner

import mmtok.cli.count
import mmtok.cli.tokenize  # noqa: F401  (registers the commands)
from mmtok.cli.app import app
from mmtok.discrete.families import code_grid, image_token_count, read_folder
from mmtok.discrete.vqvae import PretrainedVQ, load_pretrained
from mmtok.fusion.discrete import plan_discrete
from tests.images import encode, random_image
from tests.parity.vq_folders import chameleon_folder, emu3_folder, janus_folder

FOLDERS = {"chameleon": chameleon_folder, "emu3": emu3_folder, "janus": janus_folder}
# (width, height): downscaled, upscaled, tall, wide, square; none seen when the code was written
SIZES = [(97, 61), (30, 47), (50, 130), (211, 64), (64, 64)]


@pytest.fixture(scope="module", params=sorted(FOLDERS))
def family(request, tmp_path_factory) -> tuple[str, Path, PretrainedVQ, object, object]:
    folder = FOLDERS[request.param](tmp_path_factory.mktemp(request.param))
    reference = AutoModelForImageTextToText.from_pretrained(folder).eval()
    processor = AutoImageProcessor.from_pretrained(folder)
    return request.param, folder, load_pretrained(folder), reference.model, processor


def _reference_pixels(name: str, processor, image) -> tuple[torch.Tensor, torch.Tensor | None]:
    out = processor(images=image, return_tensors="pt")
    return out["pixel_values"], out.get("image_sizes")


@pytest.mark.parametrize("size", SIZES)
def test_pixels_ids_and_sequence_equal_transformers(family, size) -> None:
    name, folder, vq, reference, processor = family
    image = random_image(*size, seed=sum(size))
    pixels, sizes = _reference_pixels(name, processor, image)
    ours = vq.pixel_values(image)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, pixels[0].numpy())

    ids = vq.encode(image)
    rows, cols = ids.shape
    with torch.no_grad():
        if name == "emu3":
            expected = reference.vqmodel.encode(pixels, sizes, return_dict=True).image_tokens[0]
        else:
            expected = reference.vqmodel.encode(pixels, return_dict=True).image_tokens
    assert torch.equal(ids.reshape(-1), expected.reshape(-1))
    assert (rows, cols) == code_grid(read_folder(folder), image.height, image.width)

    sequence = vq.sequence(ids)
    assert len(sequence) == image_token_count(folder, image.height, image.width)
    if name == "janus":  # generation codes keep their own table: begin, codes, end by hand
        assert sequence == [1, *ids.reshape(-1).tolist(), 2]
    else:
        assert sequence == _model_sequence(name, folder, processor, reference, image, rows * cols)


def _model_sequence(name, folder, image_processor, reference, image, codes: int) -> list[int]:
    """The processor's ids for the text "<image>" with the model's image ids in place of its
    placeholders (BOS and Chameleon's chat separator dropped): what the language model reads."""
    ids = _placed(name, AutoProcessor.from_pretrained(folder), reference, "<image>", [image])
    return ids[1:] if name == "emu3" else ids[1:-1]


def _placed(name, processor, reference, prompt: str, images: list) -> list[int]:
    """The processor's ``input_ids`` for ``prompt`` with the model's ``get_image_tokens`` over
    its placeholders, as the model's forward places them. Each image's ids come from the
    processor and model on that image alone: Emu3's processor pads the images of one call to
    the largest, and its encoder sees that padding (mmtok encodes each image alone)."""
    ids = processor(text=[prompt], images=images, return_tensors="pt")["input_ids"][0].clone()
    image_ids = []
    for image in images:
        pixels = processor.image_processor(images=image, return_tensors="pt")
        with torch.no_grad():
            if name == "emu3":
                tokens = reference.get_image_tokens(pixels["pixel_values"], pixels["image_sizes"])
            else:
                tokens = reference.get_image_tokens(pixels["pixel_values"])
        image_ids.append(tokens.reshape(-1).long())
    placeholder = ids == processor.tokenizer.convert_tokens_to_ids("<image>")
    ids[placeholder] = torch.cat(image_ids)
    return ids.tolist()


PROMPT = "what is <image> and, next to it, <image>?"
IMAGE_SIZES = [(83, 45), (40, 110)]


def test_tokenize_places_the_ids_as_processor_and_model_do(family, tmp_path) -> None:
    """``mmtok tokenize --json`` on text + two images: the processor's ``input_ids`` (from the
    headers alone) and, with the codes in place, what the model's forward feeds its LM."""
    name, folder, _, reference, _ = family
    if name == "janus":
        pytest.skip("Janus reads images through SigLIP; its VQ codes are generation targets")
    images = [random_image(*size, seed=i) for i, size in enumerate(IMAGE_SIZES)]
    media = []
    for i, image in enumerate(images):
        (tmp_path / f"{i}.png").write_bytes(encode(image, "PNG"))
        media.append({"type": "image", "path": f"{i}.png"})
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"prompt": PROMPT, "media": media}))
    processor = AutoProcessor.from_pretrained(folder)

    expected = processor(text=[PROMPT], images=images, return_tensors="pt")["input_ids"][0]
    assert plan_discrete(request_json(request), folder).input_ids.tolist() == expected.tolist()

    result = CliRunner().invoke(app, ["tokenize", "--profile", str(folder), str(request), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["input_ids"] == _placed(name, processor, reference, PROMPT, images)
    assert data["filled"] and data["position_ids"] == [list(range(len(data["input_ids"])))]
    grids = [code_grid(read_folder(folder), im.height, im.width) for im in images]
    assert data["image_grid_thw"] == [[1, *g] for g in grids]
    assert data["modality_totals"]["image"] == sum(r * c for r, c in grids)
    out = tmp_path / "ids.safetensors"
    argv = ["tokenize", "--profile", str(folder), str(request), "--out", str(out)]
    assert CliRunner().invoke(app, argv).exit_code == 0
    assert load_file(str(out))["input_ids"].tolist() == [data["input_ids"]]


def request_json(path: Path) -> dict:
    """The request with its media paths made absolute (parse_request reads them as given)."""
    data = json.loads(path.read_text())
    for part in data["media"]:
        part["path"] = str(path.parent / part["path"])
    return data


def test_count_rows_equal_the_processor(family, tmp_path) -> None:
    """``mmtok count --profile FOLDER`` from headers: the size of the processor's pixels, its
    code grid, and the whole span of the encoded image."""
    name, folder, vq, _, processor = family
    images = [random_image(*size, seed=i) for i, size in enumerate(SIZES)]
    paths = [str(tmp_path / f"{i}.png") for i in range(len(images))]
    for path, image in zip(paths, images, strict=True):
        Path(path).write_bytes(encode(image, "PNG"))
    result = CliRunner().invoke(app, ["count", "--profile", str(folder), "--json", *paths])
    assert result.exit_code == 0, result.output
    f = vq.folder.downsample
    for row, image in zip(json.loads(result.stdout), images, strict=True):
        out = processor(images=image, return_tensors="pt")
        # Emu3 pads a batch to its largest image; image_sizes holds each real size
        resized = (
            out["image_sizes"][0].tolist() if name == "emu3" else [*out["pixel_values"].shape[-2:]]
        )
        assert row["resized"] == resized
        assert row["grid"] == [resized[0] // f, resized[1] // f]
        assert row["feature_tokens"] == (resized[0] // f) * (resized[1] // f)
        assert row["tokens"] == len(vq.sequence(vq.encode(image)))


def test_placeholder_counts_agree_with_the_processor(family) -> None:
    """The number of image ids the model puts where the processor leaves placeholders."""
    name, _, vq, reference, processor = family
    image = random_image(83, 45, seed=3)
    ids = vq.encode(image)
    rows, cols = ids.shape
    if name == "emu3":
        # Emu3Processor: height·(width + 1) placeholders for the codes and row ends
        sizes = processor(images=image, return_tensors="pt")["image_sizes"][0].tolist()
        assert rows * (cols + 1) == (sizes[0] // 8) * (sizes[1] // 8 + 1)
    else:
        assert (
            rows * cols
            == reference.vqmodel.encode(
                torch.from_numpy(vq.pixel_values(image))[None], return_dict=True
            ).image_tokens.numel()
        )


def test_decode_equals_the_model_and_postprocess(family) -> None:
    name, _, vq, reference, processor = family
    image = random_image(70, 52, seed=5)
    ids = vq.encode(image)
    if name == "chameleon":
        from mmtok.errors import ConfigError

        with pytest.raises(ConfigError, match="no decoder"):
            vq.decode(ids)
        return
    with torch.no_grad():
        if name == "janus":
            decoded = reference.vqmodel.decode(ids.reshape(1, -1))
        else:
            decoded = reference.vqmodel.decode(ids[None])
    expected = processor.postprocess(list(decoded.float()), return_tensors="PIL.Image.Image")
    expected = np.asarray(expected["pixel_values"][0])
    ours = vq.decode(ids)
    assert ours.shape == (
        ids.shape[0] * vq.folder.downsample,
        ids.shape[1] * vq.folder.downsample,
        3,
    )
    np.testing.assert_array_equal(ours, expected)
