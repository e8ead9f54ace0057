"""Options several commands share: profile selection with pixel-limit overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mmtok.errors import ConfigError
from mmtok.profiles import Profile, SmartResize, get_profile

# Option types several commands declare alike (typer reads them from the annotation).
ProfileOption = Annotated[str, typer.Option(help="Profile name or local HF model folder.")]
TokenizerOption = Annotated[
    Path | None,
    typer.Option(help="tokenizer.json, tekken.json or *.tiktoken (default: built in)."),
]
MinPixelsOption = Annotated[int | None, typer.Option(help="Override the profile's min pixels.")]
MaxPixelsOption = Annotated[int | None, typer.Option(help="Override the profile's max pixels.")]
ReserveOption = Annotated[int, typer.Option(help="Tokens kept free for the answer.")]


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
