"""Options several commands share: profile selection with pixel-limit overrides."""

from __future__ import annotations

from mmtok.errors import ConfigError
from mmtok.profiles import Profile, SmartResize, get_profile


def load_profile(
    name: str, *, min_pixels: int | None = None, max_pixels: int | None = None
) -> Profile:
    """The named profile (or model folder), with ``--min-pixels``/``--max-pixels`` applied."""
    profile = get_profile(name)
    changes = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
    if changes and not isinstance(profile.resize, SmartResize):
        raise ConfigError(
            f"--min-pixels/--max-pixels apply to dynamic-resolution profiles, not {profile.name}"
        )
    return profile.with_options(**changes) if changes else profile
