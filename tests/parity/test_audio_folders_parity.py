"""``--profile FOLDER`` for the audio families, against their transformers 5.24 processors: folders
written by the processor classes' ``save_pretrained`` (tiny tokenizers, no network), read back
by mmtok and by ``from_pretrained``; counts and features must agree, and a setting mmtok does
not implement is refused naming the file and key.

Qwen2-Audio (``Qwen2AudioProcessor`` + ``WhisperFeatureExtractor``, also with another hop,
FFT size and window, and as a legacy ``preprocessor_config.json``), Voxtral (the feature
extractor's folder; its token count follows mistral-common, so only its own front end is
accepted), Gemma 3n (``Gemma3nProcessor`` + ``Gemma3nAudioFeatureExtractor`` + the SigLIP
image processor). Qwen2.5-Omni's folder: ``test_omni_parity.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from transformers import (
    Gemma3nAudioFeatureExtractor,
    Gemma3nProcessor,
    PreTrainedTokenizerFast,
    Qwen2AudioProcessor,
    WhisperFeatureExtractor,
)
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

from mmtok.audio.features import load_audio_features
from mmtok.audio.load import load_audio
from mmtok.audio.plan import count_audio
from mmtok.errors import ConfigError
from mmtok.fusion.plan import plan_sequence
from mmtok.profiles import get_profile
from tests.images import encode, random_image
from tests.media_factory import speechlike, write_sound
from tests.parity import vl_references as ref

QWEN_AUDIO = ("<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>")
GEMMA3N = ("<start_of_image>", "<end_of_image>", "<image_soft_token>", "<start_of_audio>",
           "<end_of_audio>", "<audio_soft_token>")  # fmt: skip


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("audio_folders")
    return {s: write_sound(root / f"{s}.wav", speechlike(s, 16_000)[:, None], 16_000)
            for s in (0.3, 12.5, 31.1)}  # fmt: skip


def _tokenizer(path: Path, specials: tuple[str, ...], **attrs: str) -> PreTrainedTokenizerFast:
    file = ref.write_tokenizer(path / "tok.json", specials)
    return PreTrainedTokenizerFast(tokenizer_file=str(file), extra_special_tokens=attrs)


def _qwen2_audio(folder: Path, **fe: object) -> Qwen2AudioProcessor:
    tok = _tokenizer(folder.parent, QWEN_AUDIO)
    processor = Qwen2AudioProcessor(WhisperFeatureExtractor(feature_size=128, **fe), tok)
    processor.save_pretrained(folder)
    return Qwen2AudioProcessor.from_pretrained(folder)


@pytest.mark.parametrize(
    "fe", [{}, {"hop_length": 320, "n_fft": 800, "chunk_length": 20}], ids=["released", "other"]
)
def test_qwen2_audio_folder_equals_processor(tmp_path, clips, fe) -> None:
    processor = _qwen2_audio(tmp_path / "qwen2-audio", **fe)
    profile = get_profile(tmp_path / "qwen2-audio")
    extractor = processor.feature_extractor
    mel = profile.audio_encoder.mel
    assert (mel.n_mels, mel.hop_length, mel.n_fft, mel.chunk_length) == (
        extractor.feature_size, extractor.hop_length, extractor.n_fft, extractor.chunk_length
    )  # fmt: skip
    audio_id = processor.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    for path in clips.values():
        _, plan = count_audio(path, profile)
        out = processor(text="<|audio_bos|><|AUDIO|><|audio_eos|>", audio=[load_audio(path)],
                        sampling_rate=16_000, return_tensors="np")  # fmt: skip
        assert int((out["input_ids"] == audio_id).sum()) == plan.tokens
        feats = load_audio_features(path, profile)
        np.testing.assert_array_equal(feats.feature_attention_mask, out["feature_attention_mask"])
        np.testing.assert_allclose(feats.input_features, out["input_features"], atol=1e-4)


def test_a_legacy_preprocessor_config_is_read(tmp_path, clips) -> None:
    """The released Qwen2-Audio layout: the feature extractor's ``preprocessor_config.json``
    naming the processor class, no ``processor_config.json``."""
    folder = tmp_path / "legacy"
    WhisperFeatureExtractor(feature_size=128).save_pretrained(folder)
    data = json.loads((folder / "preprocessor_config.json").read_text())
    data["processor_class"] = "Qwen2AudioProcessor"
    (folder / "preprocessor_config.json").write_text(json.dumps(data))
    profile = get_profile(folder)
    assert profile.audio_encoder == get_profile("qwen2-audio").audio_encoder
    assert profile.tokens == get_profile("qwen2-audio").tokens


@pytest.mark.parametrize(
    ("key", "value"),
    [("dither", 0.5), ("padding_value", 1.0), ("spectrogram_mode", "power"), ("hop_length", 7)],
)
def test_a_front_end_setting_mmtok_does_not_implement_is_refused(tmp_path, key, value) -> None:
    folder = tmp_path / "qwen2-audio"
    _qwen2_audio(folder)
    config = json.loads((folder / "processor_config.json").read_text())
    config["feature_extractor"][key] = value
    (folder / "processor_config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=rf"processor_config.json \(feature_extractor\).*{key}"):
        get_profile(folder)


def _voxtral(folder: Path, **fe: object) -> Path:
    """Voxtral-Mini-3B-2507's layout: the feature extractor's ``preprocessor_config.json``
    (``processor_class`` VoxtralProcessor) and ``config.json`` (model type ``voxtral``)."""
    WhisperFeatureExtractor(feature_size=128, **fe).save_pretrained(folder)
    data = json.loads((folder / "preprocessor_config.json").read_text())
    (folder / "preprocessor_config.json").write_text(
        json.dumps({**data, "processor_class": "VoxtralProcessor"})
    )
    (folder / "config.json").write_text(json.dumps({"model_type": "voxtral"}))
    return folder


def test_voxtral_folder_is_voxtral_and_refuses_another_front_end(tmp_path, clips) -> None:
    profile = get_profile(_voxtral(tmp_path / "voxtral"))
    builtin = get_profile("voxtral")
    assert profile.audio_encoder == builtin.audio_encoder and profile.tokens == builtin.tokens
    for path in clips.values():
        assert count_audio(path, profile)[1] == count_audio(path, builtin)[1]
    with pytest.raises(ConfigError, match=r"preprocessor_config.json: chunk_length=20"):
        get_profile(_voxtral(tmp_path / "other", chunk_length=20))


def _gemma3n(folder: Path, **proc: int) -> Gemma3nProcessor:
    tok = _tokenizer(folder.parent, ("<bos>", *GEMMA3N), image_token="<image_soft_token>",
                     boi_token="<start_of_image>", eoi_token="<end_of_image>",
                     audio_token="<audio_soft_token>", boa_token="<start_of_audio>",
                     eoa_token="<end_of_audio>")  # fmt: skip
    image = SiglipImageProcessorPil(size={"height": 768, "width": 768})
    with ref._no_class_check():
        Gemma3nProcessor(Gemma3nAudioFeatureExtractor(), image, tok, **proc).save_pretrained(folder)
        return Gemma3nProcessor.from_pretrained(folder)


@pytest.mark.parametrize("proc", [{}, {"audio_seq_length": 100, "image_seq_length": 64}])
def test_gemma3n_folder_equals_processor(tmp_path, clips, proc) -> None:
    folder = tmp_path / "gemma3n"
    processor = _gemma3n(folder, **proc)
    profile = get_profile(folder)
    image = random_image(300, 200, seed=1)
    path = clips[31.1]
    plan = plan_sequence(
        {"prompt": "a <image> b <audio>", "media": [{"type": "image", "data": encode(image, "PNG")},
                                                   {"type": "audio", "path": str(path)}]},
        folder,
    )  # fmt: skip
    out = processor(text="a <image_soft_token> b <audio_soft_token>", images=[image],
                    audio=[load_audio(path)], return_tensors="np")  # fmt: skip
    ids = out["input_ids"][0]
    tok = processor.tokenizer
    for token, kind in (("<image_soft_token>", "image"), ("<audio_soft_token>", "audio")):
        want = int((ids == tok.convert_tokens_to_ids(token)).sum())
        assert plan.count().by_modality[kind] == want
    feats = load_audio_features(path, profile)
    np.testing.assert_array_equal(feats.feature_attention_mask, out["input_features_mask"])
    np.testing.assert_allclose(feats.input_features, out["input_features"], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize(("key", "value"), [("preemphasis", 0.9), ("mel_floor", 1e-3)])
def test_a_gemma3n_front_end_change_is_refused(tmp_path, key, value) -> None:
    folder = tmp_path / "gemma3n"
    _gemma3n(folder)
    config = json.loads((folder / "processor_config.json").read_text())
    config["feature_extractor"][key] = value
    (folder / "processor_config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=rf"\(feature_extractor\): {key}="):
        get_profile(folder)
