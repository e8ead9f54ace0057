"""Model profiles: the built-in families and profiles read from local Hugging Face folders."""

from __future__ import annotations

import os
from pathlib import Path

from mmtok.errors import ConfigError
from mmtok.image.policies import AnyRes, ExactSize, FixedSize, ImagePlan, MaxSide, SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.gemma3 import GEMMA3
from mmtok.profiles.gemma3n import GEMMA3N
from mmtok.profiles.generic import GENERIC
from mmtok.profiles.glm4v import GLM4V
from mmtok.profiles.idefics3 import IDEFICS3, SMOLVLM
from mmtok.profiles.internvl import INTERNVL3
from mmtok.profiles.llama4 import LLAMA4
from mmtok.profiles.llava import LLAVA_1_5, LLAVA_NEXT
from mmtok.profiles.llava_onevision import LLAVA_ONEVISION
from mmtok.profiles.mistral3 import MISTRAL3
from mmtok.profiles.omni import QWEN2_5_OMNI
from mmtok.profiles.pixtral import PIXTRAL
from mmtok.profiles.qwen import QWEN2_5_VL, QWEN2_VL
from mmtok.profiles.qwen3 import QWEN3_VL
from mmtok.profiles.qwen_audio import QWEN2_AUDIO
from mmtok.profiles.voxtral import VOXTRAL

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        QWEN2_VL,
        QWEN2_5_VL,
        QWEN3_VL,
        GLM4V,
        PIXTRAL,
        MISTRAL3,
        LLAVA_1_5,
        LLAVA_NEXT,
        LLAVA_ONEVISION,
        GEMMA3,
        LLAMA4,
        INTERNVL3,
        IDEFICS3,
        SMOLVLM,
        QWEN2_AUDIO,
        QWEN2_5_OMNI,
        VOXTRAL,
        GEMMA3N,
        GENERIC,
    )
}


def get_profile(name_or_folder: str | Path) -> Profile:
    """A built-in profile by name, or one built from a local Hugging Face model folder."""
    key = str(name_or_folder)
    if key in PROFILES:
        return PROFILES[key]
    if Path(key).is_dir():
        from mmtok.profiles.hf import profile_from_folder

        return profile_from_folder(Path(key))
    raise ConfigError(
        f"unknown profile {key!r}: expected one of {', '.join(PROFILES)} or a local model folder"
    )


ProfileLike = Profile | str | os.PathLike[str]


def as_profile(profile: ProfileLike) -> Profile:
    """``profile`` itself, or the built-in profile or model folder it names."""
    return profile if isinstance(profile, Profile) else get_profile(profile)


__all__ = [
    "PROFILES",
    "AnyRes",
    "ExactSize",
    "FixedSize",
    "ImagePlan",
    "MaxSide",
    "Profile",
    "ProfileLike",
    "SmartResize",
    "SpecialTokens",
    "as_profile",
    "get_profile",
]
