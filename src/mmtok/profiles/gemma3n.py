"""Gemma 3n: 256 ``<image_soft_token>`` per image (one 768² view) and 188
``<audio_soft_token>`` per audio clip, each fenced and written with ``\\n\\n`` around it.

``Gemma3nProcessor`` writes a fixed ``audio_seq_length = 188`` and ``image_seq_length = 256``
whatever the input's size (audio is cut at 30 s, shorter audio keeps its length in the
features, which the model pads). Audio features are its own front end
(:mod:`mmtok.audio.mel_gemma3n`): ``input_features`` ``(1, T, 128)`` and a bool
``input_features_mask``. Images: ``SiglipImageProcessor`` at 768² (MobileNet-V5 → 16×16).
"""

from __future__ import annotations

from dataclasses import replace

from mmtok.audio.mel import MelConfig
from mmtok.audio.plan import AudioEncoder
from mmtok.image.policies import PanScan
from mmtok.profiles.base import ViewText
from mmtok.profiles.gemma3 import GEMMA3

GEMMA3N_AUDIO_ENCODER = AudioEncoder(
    mel=MelConfig(n_mels=128),
    windows="truncate",
    fixed_tokens=188,
    front_end="gemma3n",
    mask_key="input_features_mask",
)

GEMMA3N = replace(
    GEMMA3,
    name="gemma3n",
    patch_size=48,  # 768 / 16: the tower's 16×16 output grid, no pooling after it
    merge_size=1,
    resize=PanScan(size=768),
    tokens=replace(
        GEMMA3.tokens,
        audio="<audio_soft_token>",
        audio_start="<start_of_audio>",
        audio_end="<end_of_audio>",
    ),
    interpolation="bicubic",
    view_text=ViewText(before="\n\n", after="\n\n"),
    audio_text=ViewText(before="\n\n", after="\n\n"),
    modalities=("image", "audio"),
    # vision: Gemma 3's SigLIP-So400m dimensions stand in for MobileNet-V5 (~300 M
    # parameters) in the cost model; no transformer layout describes a CNN exactly.
    audio_encoder=GEMMA3N_AUDIO_ENCODER,
)
