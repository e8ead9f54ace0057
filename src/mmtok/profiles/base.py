"""A model family's rules as data: resize policy, patch grid, token layout, normalisation, chat
template and cost dimensions.

A :class:`Profile` answers, from an image's width and height alone, how the model resizes it,
which patch grid its vision tower sees and how many tokens it becomes in the sequence
(:meth:`Profile.plan_image`). Preprocessing (``mmtok.image.pixels``) and the sequence builder read
the same plan, so the count and the tensors can never disagree. A profile's ``name`` is a
label only: no rule is looked up by it, so a renamed copy behaves exactly like the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from mmtok.image.layouts import plan_image
from mmtok.image.policies import ImagePlan, ResizePolicy
from mmtok.profiles.dims import LLAMA_3_8B, LLMSpec, VisionSpec
from mmtok.text.templates import PLAIN, ChatTemplate

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

Layout = Literal["pad", "rows", "anyres"]
Resampler = Literal["pil", "opencv"]


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
    audio: str | None = None
    audio_start: str | None = None
    audio_end: str | None = None
    fences_in_count: bool = False  # image_start/image_end are part of the image's expansion

    def names(self) -> dict[str, str]:
        """Role → token string for every token this layout uses."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, str)}


@dataclass(frozen=True)
class Profile:
    """A model family's rules, complete enough to count, preprocess and lay out its input.

    ``layout`` picks the expansion: ``pad`` repeats ``tokens.image`` once per merged patch
    (Qwen, LLaVA, generic), ``rows`` ends every row of tokens with a break and the last with an
    end token (Pixtral), ``anyres`` is LLaVA-NeXT's base view plus unpadded crops with a
    newline per feature row. ``num_additional_tokens`` is added per encoder view (LLaVA's CLS
    token), ``drop_cls`` removes one per image again (the ``default`` feature-select strategy).
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
    num_additional_tokens: int = 0
    drop_cls: bool = False
    rope: Literal["1d", "mrope"] = "1d"
    modalities: tuple[str, ...] = ("image",)
    # Video: seconds of video per temporal patch scale (Qwen2.5-VL M-RoPE), sampling defaults.
    video_fps: float = 2.0
    video_min_frames: int = 4
    video_max_frames: int = 768
    video_min_pixels: int | None = None
    video_max_pixels: int | None = None
    tokens_per_second: float | None = None
    template: ChatTemplate = PLAIN
    llm: LLMSpec = LLAMA_3_8B
    vision: VisionSpec | None = None
    merge_from_folder: bool = True
    source: str = "built-in"
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def with_options(self, **changes: object) -> Profile:
        """A copy with some fields (or resize-policy fields) replaced, e.g. ``max_pixels``."""
        policy_fields = set(self.resize.__dataclass_fields__)
        policy_changes = {k: v for k, v in changes.items() if k in policy_fields}
        own = {k: v for k, v in changes.items() if k not in policy_fields}
        policy = replace(self.resize, **policy_changes) if policy_changes else self.resize
        return replace(self, resize=policy, **own)

    def plan_image(self, height: int, width: int, source: str = "image") -> ImagePlan:
        """The exact expansion of one ``height × width`` image (display size, EXIF applied).

        Raises :class:`~mmtok.errors.UnsupportedMediaError` naming ``source`` when the
        image's aspect ratio is beyond what the family's resize rule accepts.
        """
        return plan_image(self, height, width, source)
