"""A model family's rules as data: resize policy, patch grid, token layout, normalisation, chat
template and cost dimensions.

A :class:`Profile` answers, from an image's width and height alone, how the model resizes it,
which patch grid its vision tower sees and how many tokens it becomes in the sequence
(:meth:`Profile.plan_image`). Preprocessing (``mmtok.image.pixels``) and the sequence builder read
the same plan, so the count and the tensors can never disagree. A profile's ``name`` is a
label only: no rule is looked up by it, so a renamed copy behaves exactly like the original.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from mmtok.audio.plan import QWEN2_AUDIO, AudioEncoder
from mmtok.image.layouts import plan_image
from mmtok.image.policies import ImagePlan, ResizePolicy
from mmtok.profiles.dims import LLAMA_3_8B, LLMSpec, VisionSpec
from mmtok.text.templates import PLAIN, ChatTemplate
from mmtok.video.sampling import FrameRule
from mmtok.video.timestamps import FrameText, TimestampStyle

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

Layout = Literal["pad", "rows", "anyres", "views", "tiles", "dynamic", "split"]
Interpolation = Literal["bicubic", "bilinear", "lanczos"]
Resampler = Literal["pil", "opencv"]
Rope = Literal["1d", "mrope", "mrope-frames"]
VideoPixels = Literal["frame", "clip"]


@dataclass(frozen=True)
class SpecialTokens:
    """Token strings of a family's layout; ``None`` where the layout has no such token."""

    image: str  # the per-token placeholder repeated in the sequence
    image_start: str | None = None
    image_end: str | None = None  # closes the image (Pixtral replaces the last break with it)
    image_break: str | None = None  # ends each row of tokens (Pixtral) or each feature row
    video: str | None = None
    video_start: str | None = None
    video_end: str | None = None
    frame_sep: str | None = None
    frame_start: str | None = None  # opens each temporal patch of a video (Qwen3-VL, GLM-4V)
    frame_end: str | None = None  # closes each temporal patch of a video
    frame_global: str | None = None  # after each frame's opening fence (SmolVLM's <global-img>)
    audio: str | None = None
    audio_start: str | None = None
    audio_end: str | None = None
    tile_sep: str | None = None  # between tiles of a row (Llama 4)
    tile_row_end: str | None = None  # after each row of tiles (Llama 4)
    image_global: str | None = None  # before the global view (Llama 4's ``<|image|>``)
    # a sub-image's position label, ``str.format``-ed with 1-based ``row``/``col`` (Idefics3)
    tile_label: str | None = None
    fences_in_count: bool = False  # image_start/image_end are part of the image's expansion

    def names(self) -> dict[str, str]:
        """Role → token string for every token this layout uses (``tile_label`` is a
        pattern, not a token: its labels are tokenized as the processor writes them)."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, str) and k != "tile_label"}


@dataclass(frozen=True)
class ViewText:
    """Text a processor writes around an image's views (Gemma 3): ``before``/``after`` each
    fenced view; with pan-and-scan crops, ``intro`` before the original view, ``crops`` after
    it and ``crop_sep`` between crops. Tokenized with the neighbouring text, as the
    processor's string replacement makes the tokenizer see it."""

    before: str = ""
    after: str = ""
    intro: str = ""
    crops: str = ""
    crop_sep: str = ""


@dataclass(frozen=True)
class SeveralImages:
    """How each image of a request with several images is laid out instead (LLaVA-OneVision:
    one ``resize`` view each, a ``pad`` layout with ``num_additional_tokens`` more — its
    newline — where a single image gets the family's any-resolution tiles)."""

    resize: ResizePolicy
    layout: Layout = "pad"
    num_additional_tokens: int = 0


@dataclass(frozen=True)
class Profile:
    """A model family's rules, complete enough to count, preprocess and lay out its input.

    ``layout`` picks the expansion: ``pad`` repeats ``tokens.image`` once per merged patch
    (Qwen, LLaVA, generic), ``rows`` ends every row of tokens with a break and the last with an
    end token (Pixtral), ``anyres`` is LLaVA-NeXT's base view plus unpadded crops with a
    newline per feature row (LLaVA-OneVision: capped), ``views`` is Gemma 3's fixed-size
    fenced views (pan-and-scan crops after the image, ``view_text`` around them), ``tiles``
    Llama 4's tile rows with separators, then the global view. ``num_additional_tokens`` is
    added per encoder view (LLaVA's CLS token), ``drop_cls`` removes one per image again (the
    ``default`` feature-select strategy).
    ``template`` renders chat requests; ``llm`` and ``vision`` are the dimensions the cost
    model reads (``vision=None``: no tower FLOPs counted). ``merge_from_folder``: a model
    folder's ``merge_size`` / ``spatial_merge_size`` applies to this family (LLaVA's
    projector merges nothing, whatever its folder's vision config says).
    """

    name: str
    patch_size: int
    resize: ResizePolicy
    tokens: SpecialTokens
    layout: Layout = "pad"
    merge_size: int = 1
    temporal_patch_size: int = 1
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    rescale_factor: float = 1 / 255
    resampler: Resampler = "pil"
    interpolation: Interpolation = "bicubic"  # the PIL filter every resize of this family uses
    view_text: ViewText | None = None
    token_type_ids: bool = False  # the model's forward takes ``token_type_ids`` (Gemma 3)
    num_additional_tokens: int = 0
    drop_cls: bool = False
    rope: Rope = "1d"
    modalities: tuple[str, ...] = ("image",)
    # Video: seconds of video per temporal patch scale (Qwen2.5-VL M-RoPE), sampling defaults.
    video_fps: float = 2.0
    video_min_frames: int = 4
    video_max_frames: int = 768
    video_min_pixels: int | None = None
    video_max_pixels: int | None = None
    tokens_per_second: float | None = None
    # Video rules of the newer families (see ``mmtok.video.sampling`` / ``mmtok.video.plan``):
    # which frames (``floor`` Qwen2-VL, ``linspace`` Qwen3-VL, ``seconds`` GLM-4V), whether the
    # pixel limits bound one frame or the whole clip, Qwen3-VL's per-frame cap in tokens
    # (``cap_pixels_per_frame``; ``None``: off), GLM-4V's longest sampled span (seconds) and the
    # timestamp text written per temporal patch.
    video_frame_rule: FrameRule = "floor"
    video_pixels: VideoPixels = "frame"
    video_cap_tokens: int | None = None
    video_max_seconds: float | None = None
    video_timestamps: TimestampStyle | None = None
    # Text around the frames of a video laid out as one image view per frame (InternVL3's
    # ``FrameN:`` labels, SmolVLM2's intro and timestamps; frames sized by ``video_size``).
    video_frame_text: FrameText | None = None
    template: ChatTemplate = PLAIN
    llm: LLMSpec = LLAMA_3_8B
    vision: VisionSpec | None = None
    # Quality floor: the fewest tokens ``--fit`` shrinks an image (or a video's temporal patch)
    # to; an item that would have to go below it is dropped instead (64 tokens: a 224² image
    # under Qwen's 28-px merged patches, the smallest a family's tower was trained to read).
    fit_min_tokens: int = 64
    merge_from_folder: bool = True
    # Audio: the encoder's rules (mel front end, downsampling, what happens past a window,
    # feature names), text written around each audio item (Gemma 3n's ``\n\n``), and where
    # text after an M-RoPE item continues when the family fixes it (Qwen2.5-Omni: ``max``;
    # ``None``: the caller's ``advance``).
    audio_encoder: AudioEncoder = QWEN2_AUDIO
    audio_text: ViewText | None = None
    rope_advance: Literal["max", "spatial"] | None = None
    several_images: SeveralImages | None = None  # ``None``: every image laid out alone
    # A video's audio track interleaved with its frames (Qwen2.5-Omni's ``use_audio_in_video``):
    # seconds per interleaved chunk (``None``: the family cannot), and whether videos use it
    # unless a request's part says (``VideoPart.use_audio_in_video``).
    audio_in_video_chunk: float | None = None
    use_audio_in_video: bool = False
    # Seconds per temporal patch in video position ids: ``T / sampled fps`` (Qwen2.5-VL's
    # ``second_per_grid_ts``) or ``T / fps`` asked for (Qwen2.5-Omni's processor).
    video_grid_seconds: Literal["sampled", "fps"] = "sampled"
    # Model inputs renamed (``None``: dropped) for a family whose ``forward`` names them
    # otherwise (Qwen2.5-Omni: ``video_second_per_grid``, no ``mm_token_type_ids``).
    input_names: tuple[tuple[str, str | None], ...] = ()
    # Fixed-size video frames (LLaVA-OneVision): every sampled frame resized to ``video_size``
    # ``(h, w)`` (aspect ratio not kept; ``None``: smart resize within the video pixel limits),
    # its ``h/p × w/p`` features pooled by ``video_pool`` per side (rounded up: 27 → 14), and
    # ``video_additional_tokens`` placeholders after the whole video (its newline).
    # ``video_num_frames``: the default sampling is ``uniform`` with this many frames
    # (``None``: ``fps``). ``video_inputs``: ``patches`` (flattened patches + ``video_grid_thw``)
    # or ``frames`` (``pixel_values_videos`` ``(videos, frames, 3, h, w)``).
    video_size: tuple[int, int] | None = None
    video_pool: int = 1
    video_additional_tokens: int = 0
    video_num_frames: int | None = None
    video_inputs: Literal["patches", "frames"] = "patches"
    source: str = "built-in"

    def with_options(self, **changes: object) -> Profile:
        """A copy with some fields (or resize-policy fields) replaced, e.g. ``max_pixels``."""
        policy_fields = set(self.resize.__dataclass_fields__)
        policy_changes = {k: v for k, v in changes.items() if k in policy_fields}
        own = {k: v for k, v in changes.items() if k not in policy_fields}
        policy = replace(self.resize, **policy_changes) if policy_changes else self.resize
        return replace(self, resize=policy, **own)

    def among(self, images: int) -> Profile:
        """The profile an image is planned under in a request of ``images`` images."""
        several = self.several_images
        if several is None or images < 2:
            return self
        return replace(
            self,
            resize=several.resize,
            layout=several.layout,
            num_additional_tokens=several.num_additional_tokens,
            several_images=None,
        )

    def plan_image(self, height: int, width: int, source: str = "image") -> ImagePlan:
        """The exact expansion of one ``height × width`` image (display size, EXIF applied).

        Raises :class:`~mmtok.errors.UnsupportedMediaError` naming ``source`` when the
        image's aspect ratio is beyond what the family's resize rule accepts.
        """
        return plan_image(self, height, width, source)
