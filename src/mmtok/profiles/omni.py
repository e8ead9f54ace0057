"""Qwen2.5-Omni (thinker): images and video as Qwen2.5-VL, audio as its processor counts it.

Audio: Whisper log-mel (128 bins) over one window of 300 s (the checkpoints'
``WhisperFeatureExtractor`` has ``chunk_length=300``; longer audio is truncated), then the
same stride-2 convolution and pool as Qwen2-Audio: 25 ``<|AUDIO|>`` per second inside
``<|audio_bos|>``/``<|audio_eos|>``. Images and video use ``<|IMAGE|>``/``<|VIDEO|>`` inside
``<|vision_bos|>``/``<|vision_eos|>``. M-RoPE: video time in steps of
``position_id_per_seconds = 25`` per second, audio positions advance like text, and the text
after every item continues at the item's largest position + 1 (``get_rope_index``).
Seconds per temporal patch are ``T / fps`` with the ``fps`` asked for (the processor's
``video_second_per_grid``), not the sampled rate.

``use_audio_in_video``: a video's audio track is counted as audio (300 s window) and its
tokens interleaved with the frames' in 2 s chunks inside ``<|audio_bos|>``/``<|audio_eos|>``
(:func:`mmtok.fusion.layout.audio_video_segment`). The model's ``forward`` takes
``video_second_per_grid`` (not ``second_per_grid_ts``) and no ``mm_token_type_ids``.
"""

from __future__ import annotations

from dataclasses import replace

from mmtok.audio.mel import MelConfig
from mmtok.audio.plan import AudioEncoder
from mmtok.profiles.base import SpecialTokens
from mmtok.profiles.qwen import QWEN2_5_VL

OMNI_AUDIO_ENCODER = AudioEncoder(mel=MelConfig(n_mels=128, chunk_length=300), windows="truncate")

QWEN2_5_OMNI = replace(
    QWEN2_5_VL,
    name="qwen2.5-omni",
    tokens=SpecialTokens(
        image="<|IMAGE|>",
        image_start="<|vision_bos|>",
        image_end="<|vision_eos|>",
        video="<|VIDEO|>",
        video_start="<|vision_bos|>",
        video_end="<|vision_eos|>",
        audio="<|AUDIO|>",
        audio_start="<|audio_bos|>",
        audio_end="<|audio_eos|>",
    ),
    modalities=("image", "video", "audio"),
    tokens_per_second=25,
    rope_advance="max",
    audio_encoder=OMNI_AUDIO_ENCODER,
    audio_in_video_chunk=2.0,
    video_grid_seconds="fps",
    input_names=(("second_per_grid_ts", "video_second_per_grid"), ("mm_token_type_ids", None)),
)
