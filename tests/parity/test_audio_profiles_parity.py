"""Audio profiles against their references, run here: transformers 5.24's ``Qwen2AudioProcessor``
(a tiny tokenizer, the real ``WhisperFeatureExtractor``), Qwen2.5-Omni's feature extractor
(300 s window) and token rule, Voxtral's ``VoxtralProcessor`` features with mistral-common's
``AudioEncoder`` count, and Gemma 3n's ``Gemma3nAudioFeatureExtractor`` with
``Gemma3nProcessor``'s token count.

Each file is counted from its header (and packets) by mmtok; the reference gets the samples
mmtok decodes (the same soxr resampling) and must give the same number of audio tokens and
the same features (≤ 1e-4) and masks.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from mmtok.audio.features import load_audio_features
from mmtok.audio.load import load_audio
from mmtok.audio.plan import count_audio
from mmtok.profiles import get_profile
from tests.media_factory import speechlike, tone, write_compressed_audio, write_sound

transformers = pytest.importorskip("transformers")
transformers.utils.logging.set_verbosity_error()

# (name, seconds, rate, channels, writer): 0.3 s, exactly 30 s, just over, over a minute.
CLIPS = [
    ("short.wav", 0.3, 16_000, 1, "wav"),
    ("exact30.wav", 30.0, 16_000, 1, "wav"),
    ("over30.flac", 30.5, 16_000, 1, "flac"),
    ("minute.wav", 61.3, 16_000, 1, "wav"),
    ("stereo44.flac", 31.1, 44_100, 2, "flac"),
    ("clip.mp3", 4.2, 44_100, 2, "libmp3lame"),
    ("clip.webm", 3.1, 48_000, 1, "libopus"),
    ("clip.m4a", 31.1, 44_100, 2, "aac"),
]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("audio_profiles")
    out = {}
    for name, seconds, rate, channels, writer in CLIPS:
        x = speechlike(seconds, rate)[:, None] if channels == 1 else tone(seconds, rate, 330, 2)
        path = root / name
        if writer in ("wav", "flac"):
            write_sound(path, x, rate)
        else:
            write_compressed_audio(path, x, rate, writer)
        out[name] = path
    return out


def _tokenizer(tokens: list[str]):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, **{t: i + 1 for i, t in enumerate(tokens)}}
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    fast.add_special_tokens({"additional_special_tokens": tokens})
    return fast


@pytest.mark.parametrize("name", [c[0] for c in CLIPS])
def test_qwen2_audio_matches_processor(clips: dict[str, Path], name: str) -> None:
    from transformers import Qwen2AudioProcessor, WhisperFeatureExtractor

    path = clips[name]
    profile = get_profile("qwen2-audio")
    _, plan = count_audio(path, profile)
    tok = _tokenizer(["<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"])
    proc = Qwen2AudioProcessor(WhisperFeatureExtractor(feature_size=128), tok)
    samples = load_audio(path)
    ref = proc(
        text="<|audio_bos|><|AUDIO|><|audio_eos|>",
        audio=[samples],
        sampling_rate=16_000,
        return_tensors="np",
    )
    audio_id = tok.convert_tokens_to_ids("<|AUDIO|>")
    assert int((ref["input_ids"] == audio_id).sum()) == plan.tokens == sum(plan.runs)
    feats = load_audio_features(path, profile)
    assert feats.plan == plan
    assert feats.input_features.shape == ref["input_features"].shape == (1, 128, 3000)
    np.testing.assert_array_equal(feats.feature_attention_mask, ref["feature_attention_mask"])
    np.testing.assert_allclose(feats.input_features, ref["input_features"], atol=1e-4)


@pytest.mark.parametrize("name", ["short.wav", "minute.wav", "clip.m4a"])
def test_omni_audio_matches_its_feature_extractor(clips: dict[str, Path], name: str) -> None:
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_5_omni import processing_qwen2_5_omni as omni

    path = clips[name]
    profile = get_profile("qwen2.5-omni")
    _, plan = count_audio(path, profile)
    # The released checkpoints' feature extractor: 128 bins, 300 s (4,800,000 samples).
    fe = WhisperFeatureExtractor(feature_size=128, chunk_length=300)
    samples = load_audio(path)
    ref = fe(samples, sampling_rate=16_000, padding="max_length", return_attention_mask=True,
             return_tensors="np")  # fmt: skip
    tokens = omni._get_feat_extract_output_lengths(ref["attention_mask"].sum(-1))
    assert int(tokens[0]) == plan.tokens
    feats = load_audio_features(path, profile)
    np.testing.assert_array_equal(feats.feature_attention_mask, ref["attention_mask"])
    np.testing.assert_allclose(feats.input_features, ref["input_features"], atol=1e-4)


@pytest.mark.parametrize("name", ["short.wav", "exact30.wav", "over30.flac", "minute.wav"])
def test_voxtral_matches_mistral_common_and_processor(clips: dict[str, Path], name: str) -> None:
    from mistral_common.tokens.tokenizers.audio import (
        Audio,
        AudioConfig,
        AudioEncoder,
        AudioSpectrogramConfig,
        SpecialAudioIDs,
    )
    from transformers import VoxtralProcessor, WhisperFeatureExtractor

    path = clips[name]
    profile = get_profile("voxtral")
    _, plan = count_audio(path, profile)
    # Voxtral-Mini-3B-2507's audio settings (tekken.json "audio").
    config = AudioConfig(
        sampling_rate=16_000,
        frame_rate=12.5,
        encoding_config=AudioSpectrogramConfig(num_mel_bins=128, hop_length=160, window_size=400),
        chunk_length_s=30.0,
    )
    encoder = AudioEncoder(config, SpecialAudioIDs(24, 25, None, None, None))
    samples = load_audio(path)
    encoded = encoder.encode_audio(Audio(samples.copy(), 16_000, "wav"))
    assert encoded.tokens == [25] + [24] * plan.tokens
    assert len(encoded.tokens) == plan.tokens + plan.fence_tokens

    class _Proc:  # the processor's own feature routine over its default audio kwargs
        feature_extractor = WhisperFeatureExtractor(feature_size=128)

    kwargs = dict(VoxtralProcessor.audio_kwargs)
    kwargs["return_tensors"] = "pt"
    positions = kwargs.pop("max_source_positions")
    ref = VoxtralProcessor._retrieve_input_features(
        _Proc(), [encoded.audio.audio_array], positions, **kwargs
    ).numpy()
    feats = load_audio_features(path, profile)
    assert feats.input_features.shape == ref.shape == (len(plan.windows), 128, 3000)
    np.testing.assert_allclose(feats.input_features, ref, atol=1e-4)


@pytest.mark.parametrize("name", ["short.wav", "exact30.wav", "minute.wav", "clip.mp3"])
def test_gemma3n_matches_feature_extractor(clips: dict[str, Path], name: str) -> None:
    from transformers import Gemma3nAudioFeatureExtractor, Gemma3nProcessor

    path = clips[name]
    profile = get_profile("gemma3n")
    _, plan = count_audio(path, profile)
    default = inspect.signature(Gemma3nProcessor.__init__).parameters["audio_seq_length"].default
    assert plan.runs == (default,)
    samples = load_audio(path)
    ref = Gemma3nAudioFeatureExtractor()(samples, return_tensors="np")
    feats = load_audio_features(path, profile)
    np.testing.assert_array_equal(feats.feature_attention_mask, ref["input_features_mask"])
    np.testing.assert_allclose(feats.input_features, ref["input_features"], atol=1e-4, rtol=1e-5)
