"""References for InternVL3 and Idefics3 / SmolVLM, built offline from model folders written
with ``save_pretrained``: transformers 5.24's PIL image processors (``GotOcr2ImageProcessorPil``,
``Idefics3ImageProcessorPil``, ``SmolVLMImageProcessorPil``) saved with the public checkpoints'
settings, a ``processor_config.json`` of the processor's keys and the model's ``config.json``
(as the checkpoints ship them), and the real processors loaded from those files. Both sides
tokenize with one byte-level BPE (:mod:`tests.parity.wave2_references`).

``SmolVLMProcessor`` refuses to start without ``num2words`` (a test dependency: its video
prompt writes the frame count in words).
"""

from __future__ import annotations

import json
from pathlib import Path

from transformers import Idefics3Config, InternVLConfig, SmolVLMConfig
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil
from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil
from transformers.models.smolvlm.image_processing_pil_smolvlm import SmolVLMImageProcessorPil

from tests.parity import wave2_references as w2

INTERNVL_SPECIALS = ("<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>")
_LABELS = tuple(f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7))
IDEFICS3_SPECIALS = ("<|begin_of_text|>", "<end_of_utterance>", "<fake_token_around_image>",
                     "<image>", "<global-img>", *_LABELS)  # fmt: skip
SMOLVLM_SPECIALS = ("<|im_start|>", *IDEFICS3_SPECIALS[1:])

# OpenGVLab/InternVL3-8B-hf's preprocessor_config.json (crop_to_patches false, as it ships).
INTERNVL3_IMAGE = {
    "size": {"height": 448, "width": 448},
    "crop_to_patches": False,
    "min_patches": 1,
    "max_patches": 12,
    "resample": 3,
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
}
# HuggingFaceM4/Idefics3-8B-Llama3 and HuggingFaceTB/SmolVLM2-2.2B-Instruct.
IDEFICS3_IMAGE = {
    "size": {"longest_edge": 1456},
    "max_image_size": {"longest_edge": 364},
    "resample": 1,
    "image_mean": [0.5] * 3,
    "image_std": [0.5] * 3,
    "do_image_splitting": True,
}
SMOLVLM_IMAGE = {**IDEFICS3_IMAGE, "size": {"longest_edge": 1536},
                 "max_image_size": {"longest_edge": 384}}  # fmt: skip


def _write(folder: Path, image_processor, processor: dict, config) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    image_processor.save_pretrained(folder)
    (folder / "processor_config.json").write_text(json.dumps(processor))
    config.save_pretrained(folder)
    return folder


def internvl_folder(folder: Path, tokenizer: Path, **image: object) -> Path:
    (folder / "tokenizer.json").parent.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    proc = GotOcr2ImageProcessorPil(**{**INTERNVL3_IMAGE, **image})
    keys = {"processor_class": "InternVLProcessor", "image_seq_length": 256}
    return _write(folder, proc, keys, InternVLConfig())


def internvl_processor(folder: Path):
    from transformers.models.internvl.processing_internvl import InternVLProcessor

    from tests.parity.vl_references import _no_class_check

    tok = w2.hf_tokenizer(
        folder / "tokenizer.json",
        extra_special_tokens={"start_image_token": "<img>", "end_image_token": "</img>",
                              "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"},
    )  # fmt: skip
    keys = json.loads((folder / "processor_config.json").read_text())
    with _no_class_check():
        return InternVLProcessor(
            GotOcr2ImageProcessorPil.from_pretrained(folder), tok, None,
            image_seq_length=keys["image_seq_length"],
        )  # fmt: skip


def split_folder(
    folder: Path, tokenizer: Path, smol: bool = False, tower: dict | None = None, **image: object
) -> Path:
    """An Idefics3 (or, ``smol``, SmolVLM2) folder; ``tower``: ``image_seq_len``,
    ``patch_size`` and ``scale_factor`` of another checkpoint (SmolVLM-256M: 64, 16, 4)."""
    (folder / "tokenizer.json").parent.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    cls, settings = (SmolVLMImageProcessorPil, SMOLVLM_IMAGE) if smol else (
        Idefics3ImageProcessorPil, IDEFICS3_IMAGE)  # fmt: skip
    name = "SmolVLMProcessor" if smol else "Idefics3Processor"
    # the checkpoints' towers: SigLIP patch 14 at the sub-image size, pixel shuffle 3 / 2
    own = {"image_seq_len": 81, "patch_size": 14, "scale_factor": 3} if smol else {
        "image_seq_len": 169, "patch_size": 14, "scale_factor": 2}  # fmt: skip
    own.update(tower or {})
    keys = {"processor_class": name, "image_seq_len": own["image_seq_len"]}
    side = {**settings, **image}["max_image_size"]["longest_edge"]  # type: ignore[index]
    vision = {"patch_size": own["patch_size"], "image_size": side}
    config = (SmolVLMConfig if smol else Idefics3Config)(
        vision_config=vision, scale_factor=own["scale_factor"]
    )
    return _write(folder, cls(**{**settings, **image}), keys, config)


def split_processor(folder: Path, smol: bool = False):
    from tests.parity.vl_references import _no_class_check

    keys = json.loads((folder / "processor_config.json").read_text())
    tok = w2.hf_tokenizer(folder / "tokenizer.json")
    if smol:
        import transformers.models.smolvlm.processing_smolvlm as module

        with _no_class_check():
            return module.SmolVLMProcessor(
                SmolVLMImageProcessorPil.from_pretrained(folder), tok, None,
                image_seq_len=keys["image_seq_len"],
            )  # fmt: skip
    from transformers.models.idefics3.processing_idefics3 import Idefics3Processor

    with _no_class_check():
        return Idefics3Processor(
            Idefics3ImageProcessorPil.from_pretrained(folder), tok,
            image_seq_len=keys["image_seq_len"],
        )  # fmt: skip
