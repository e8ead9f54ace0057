"""Chameleon, Emu3 and Janus VQ tokenizers against transformers, in the same run.

Each folder is written by transformers (tiny random weights, real downsampling and codebook
sizes); the reference is the same folder loaded back by transformers' model and image
processor: pixels bit-identical, code grids and vocabulary ids equal, decoded images equal to
the processor's ``postprocess``, header-only counts equal to the encoded sequence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Split
from transformers import (
    AutoImageProcessor,
    AutoModelForImageTextToText,
    ChameleonProcessor,
    Emu3Processor,
    PreTrainedTokenizerFast,
)

from mmtok.discrete.families import code_grid, image_token_count, read_folder
from mmtok.discrete.vqvae import PretrainedVQ, load_pretrained
from tests.images import random_image
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
    specials = {"image_token": "<image>"}
    if name == "emu3":
        specials |= {"boi_token": "<|image start|>", "eoi_token": "<|image end|>"}
        specials |= {"image_wrapper_token": "<|image token|>", "eof_token": "<|extra_201|>"}
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_file=str(folder / "tokenizer.json"),
            bos_token="<|extra_203|>",
            extra_special_tokens=specials,
        )
        processor = Emu3Processor(image_processor, tokenizer)
    else:
        vocab = reference.config.vocabulary_map
        model = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
        model.pre_tokenizer = Split("", behavior="isolated")
        specials |= {"boi_token": "<racm3:break>", "eoi_token": "<eoss>"}
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=model, sep_token="</s>", extra_special_tokens=specials
        )
        processor = ChameleonProcessor(image_processor, tokenizer, image_seq_length=codes)
    inputs = processor(text=["<image>"], images=[image], return_tensors="pt")
    ids = inputs["input_ids"][0].clone()
    with torch.no_grad():
        if name == "emu3":
            image_ids = reference.get_image_tokens(inputs["pixel_values"], inputs["image_sizes"])
        else:
            image_ids = reference.get_image_tokens(inputs["pixel_values"])[0]
    ids[ids == tokenizer.convert_tokens_to_ids("<image>")] = image_ids.long()
    return ids.tolist()[1:] if name == "emu3" else ids.tolist()[:-1]


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
