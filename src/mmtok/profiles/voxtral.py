"""Voxtral: Whisper log-mel (128 bins) over the audio zero-padded to whole 30 s windows, a
stride-2 convolution, then 4 frames per token: 375 ``[AUDIO]`` tokens per window (12.5 per
second), after one ``[BEGIN_AUDIO]`` per clip.

mistral-common's ``AudioEncoder`` (``chunk_length_s=30``, ``frame_rate=12.5``) pads each clip
to a multiple of 480,000 samples and writes ``[BEGIN_AUDIO]`` + ``⌈S / 1280⌉`` × ``[AUDIO]``;
transformers' ``VoxtralProcessor`` computes the spectrogram of the padded clip at once and
cuts it into ``(windows, 128, 3000)`` ``input_features`` (no mask). The request is written as
mistral-common's instruct format (``[INST] … [/INST]``, audio in place).
"""

from __future__ import annotations

from mmtok.audio.mel import MelConfig
from mmtok.audio.plan import AudioEncoder
from mmtok.image.policies import SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import LLAMA_3_8B
from mmtok.text.templates import MISTRAL

VOXTRAL_ENCODER = AudioEncoder(
    mel=MelConfig(n_mels=128), pool=4, windows="pad", fence="item", mask_key=None
)

VOXTRAL = Profile(
    name="voxtral",
    patch_size=16,  # no image input: the image fields are unused
    resize=SmartResize(min_pixels=16 * 16, max_pixels=1024 * 1024),
    tokens=SpecialTokens(
        image="[AUDIO]",  # no image token: the field is required, audio takes none
        audio="[AUDIO]",
        audio_start="[BEGIN_AUDIO]",
    ),
    modalities=("audio",),
    template=MISTRAL,
    llm=LLAMA_3_8B,
    vision=None,
    audio_encoder=VOXTRAL_ENCODER,
)
