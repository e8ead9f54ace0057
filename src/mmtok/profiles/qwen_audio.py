"""Qwen2-Audio: Whisper log-mel (128 bins, 16 kHz), a stride-2 convolution and a stride-2
pool: 25 ``<|AUDIO|>`` tokens per second, inside ``<|audio_bos|>``/``<|audio_eos|>``.

transformers' ``Qwen2AudioProcessor`` pads and *truncates* every clip to one 30 s window
(``padding="max_length"``, the feature extractor's ``truncation=True``): audio past 30 s is
dropped, so a clip counts at most 750 tokens. Its chat template writes ``Audio N: `` before
each clip and a newline after it.
"""

from __future__ import annotations

from mmtok.audio.mel import MelConfig
from mmtok.audio.plan import AudioEncoder
from mmtok.image.policies import SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import QWEN2_7B
from mmtok.text.templates import CHATML_AUDIO

QWEN2_AUDIO_ENCODER = AudioEncoder(mel=MelConfig(n_mels=128), windows="truncate")

QWEN2_AUDIO = Profile(
    name="qwen2-audio",
    patch_size=14,  # no image input: the image fields are unused
    resize=SmartResize(min_pixels=56 * 56, max_pixels=28 * 28 * 1280),
    tokens=SpecialTokens(
        image="<|AUDIO|>",  # no image token: the field is required, audio takes none
        audio="<|AUDIO|>",
        audio_start="<|audio_bos|>",
        audio_end="<|audio_eos|>",
    ),
    modalities=("audio",),
    template=CHATML_AUDIO,
    llm=QWEN2_7B,
    vision=None,
    audio_encoder=QWEN2_AUDIO_ENCODER,
)
