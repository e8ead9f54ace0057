"""The text tokenizer of a profile's requests, and the warning when it is a stand-in."""

from __future__ import annotations

import warnings
from pathlib import Path

from mmtok.profiles.base import Profile
from mmtok.text.templates import template_for
from mmtok.text.tokenizers import TextTokenizer, builtin_tokenizer, load_tokenizer


class TokenizerFallbackWarning(UserWarning):
    """The built-in tokenizer stands in for a family's own: text counts are approximate."""


def resolve_tokenizer(
    profile: Profile, tokenizer: TextTokenizer | str | Path | None = None
) -> TextTokenizer:
    """The tokenizer to encode ``profile``'s requests with.

    A :class:`TextTokenizer` or a path is used as given; otherwise a model folder's own
    ``tokenizer.json``; otherwise the built-in Tekken with the profile's and template's
    special tokens added — with a :class:`TokenizerFallbackWarning` for families whose own
    tokenizer is not built in (Qwen, LLaVA): media counts and positions stay exact, text
    counts are approximate.
    """
    if isinstance(tokenizer, TextTokenizer):
        return tokenizer
    if tokenizer is not None:
        return load_tokenizer(tokenizer)
    folder = Path(profile.source)
    if profile.source != "built-in" and (folder / "tokenizer.json").is_file():
        return load_tokenizer(folder / "tokenizer.json")
    template = template_for(profile)
    base = builtin_tokenizer()
    tokens = (*template.controls, *profile.tokens.names().values())
    out = base.with_tokens(tokens)
    if not template.builtin:
        warnings.warn(
            f"no tokenizer given for {profile.name}: using the built-in {base.name} with "
            f"{len(out.added)} special token(s) added ({', '.join(out.added)}); media token "
            "counts and positions are exact, text token counts are approximate",
            TokenizerFallbackWarning,
            stacklevel=3,
        )
    return out
