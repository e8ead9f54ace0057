"""Model profiles: the built-in families and profiles read from local Hugging Face folders."""

from __future__ import annotations

import os
from pathlib import Path

from mmtok.errors import ConfigError
from mmtok.image.policies import AnyRes, FixedSize, ImagePlan, MaxSide, SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.generic import GENERIC
from mmtok.profiles.llava import LLAVA_1_5, LLAVA_NEXT
from mmtok.profiles.pixtral import PIXTRAL
from mmtok.profiles.qwen import QWEN2_5_VL, QWEN2_VL

PROFILES: dict[str, Profile] = {
    p.name: p for p in (QWEN2_VL, QWEN2_5_VL, PIXTRAL, LLAVA_1_5, LLAVA_NEXT, GENERIC)
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
