"""The text tokenizer of a profile's requests, and the warning when it is a stand-in."""

from __future__ import annotations

import warnings
from pathlib import Path

from mmtok.errors import ConfigError
from mmtok.profiles.base import Profile
from mmtok.text.templates import template_for
from mmtok.text.tokenizers import TextTokenizer, builtin_tokenizer, load_tokenizer


class TokenizerFallbackWarning(UserWarning):
    """The built-in tokenizer stands in for a family's own: text counts are approximate."""


def resolve_tokenizer(
    profile: Profile,
    tokenizer: TextTokenizer | str | Path | None = None,
    *,
    allow_fallback: bool = True,
) -> TextTokenizer:
    """The tokenizer to encode ``profile``'s requests with.

    A :class:`TextTokenizer` or a path is used as given; otherwise a model folder's own
    ``tokenizer.json`` or ``tekken.json`` (its ``tokenizer_config.json`` alone is refused:
    slow-tokenizer files mmtok does not read); otherwise the built-in Tekken with the
    profile's and template's special tokens added — with a :class:`TokenizerFallbackWarning`
    for families whose own tokenizer is not built in (Qwen, LLaVA): media counts and
    positions stay exact, text counts are approximate. With ``allow_fallback=False`` (what
    writing model inputs asks for: a model reads a stand-in's text ids as other words) that
    case is a :class:`ConfigError` instead.
    """
    if isinstance(tokenizer, TextTokenizer):
        return tokenizer
    if tokenizer is not None:
        return load_tokenizer(tokenizer)
    folder = Path(profile.source)
    if profile.source != "built-in" and folder.is_dir():
        # A model folder's own tokenizer: tokenizer.json, or Mistral's tekken.json.
        if any((folder / name).is_file() for name in ("tokenizer.json", "tekken.json")):
            return load_tokenizer(folder)
        if (folder / "tokenizer_config.json").is_file():
            raise ConfigError(
                f"{folder / 'tokenizer_config.json'}: the folder's tokenizer has no "
                "tokenizer.json or tekken.json, the formats mmtok reads; pass --tokenizer"
            )
    template = template_for(profile)
    base = builtin_tokenizer()
    tokens = (*template.controls, *profile.tokens.names().values())
    out = base.with_tokens(tokens)
    if not template.builtin and not allow_fallback:
        raise ConfigError(
            f"no tokenizer for {profile.name}: its model inputs would carry text ids of the "
            f"built-in {base.name}, which {profile.name} reads as other words; give its "
            "tokenizer.json (--tokenizer / tokenizer=) or its model folder as the profile, or "
            "ask for the stand-in explicitly (--allow-fallback-tokenizer / "
            "allow_fallback_tokenizer=True)"
        )
    if not template.builtin:
        warnings.warn(
            f"no tokenizer given for {profile.name}: using the built-in {base.name} with "
            f"{len(out.added)} special token(s) added ({', '.join(out.added)}); media token "
            "counts and positions are exact, text token counts are approximate",
            TokenizerFallbackWarning,
            stacklevel=3,
        )
    return out
