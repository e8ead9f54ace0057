"""Text tokenizers behind one small interface, loaded from local files only.

Three adapters build the same :class:`TextTokenizer`: mistral-common's Tekken (the built-in
default, Pixtral-12B's vocabulary with its image tokens), any Hugging Face ``tokenizer.json``
(the ``tokenizers`` library) and a tiktoken-format ranks file with a split regex and special
tokens. :meth:`TextTokenizer.encode` never turns text into special tokens unless asked to
(``parse_special``), so user text cannot inject ``<|im_start|>`` or ``[INST]``.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from mmtok.errors import ConfigError

# Qwen's split regex (the same in Qwen's ``qwen.tiktoken`` setup and Qwen2's tokenizer.json).
QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# Qwen2 / Qwen2-VL special tokens, in id order right after the 151,643 ranks.
QWEN2_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)


@dataclass(frozen=True)
class TextTokenizer:
    """A text tokenizer: plain-text encoding plus a table of special tokens.

    ``specials`` maps every special token string to its id; ``added`` lists the ones this
    library appended after the vocabulary (see :meth:`with_tokens`), which a model trained
    with the tokenizer has never seen. ``token_str`` names one ordinary id as the vocabulary
    writes it (``None``: this tokenizer keeps no such table; see :meth:`token_strs`).
    """

    name: str
    encode_plain: Callable[[str], list[int]] = field(repr=False)
    specials: Mapping[str, int] = field(repr=False)
    vocab_size: int  # ids of the vocabulary proper and its specials are below this
    bos_id: int | None = None
    eos_id: int | None = None
    added: tuple[str, ...] = ()
    token_str: Callable[[int], str | None] | None = field(default=None, repr=False)

    def encode(self, text: str, *, parse_special: bool = False) -> list[int]:
        """Token ids of ``text`` (no BOS/EOS). With ``parse_special``, special token strings
        in the text become their ids; otherwise they are encoded as ordinary text."""
        if not parse_special or not text:
            return self.encode_plain(text)
        ids: list[int] = []
        pos = 0
        for match in _special_regex(tuple(self.specials)).finditer(text):
            ids += self.encode_plain(text[pos : match.start()])
            ids.append(self.specials[match.group()])
            pos = match.end()
        return ids + self.encode_plain(text[pos:])

    @cached_property
    def _special_names(self) -> dict[int, str]:
        return {i: t for t, i in self.specials.items()}

    def token_strs(self, ids: Iterable[int]) -> list[str]:
        """Each id's token as transformers' ``convert_ids_to_tokens`` names it (what vLLM's
        ``/tokenize`` returns as ``token_strs``): byte-level BPE vocabularies write bytes as
        GPT-2's printable characters (``Ġ`` a space); special tokens by their text.
        :class:`ConfigError` when this tokenizer keeps no table (Tekken: vLLM's Mistral
        tokenizer names pieces its own way) or an id is outside it."""
        if self.token_str is None:
            raise ConfigError(f"tokenizer {self.name} has no table of token strings")
        names, name = self._special_names, self.token_str
        out = []
        for i in ids:
            text = names.get(i)
            if text is None:
                text = name(i)
                if text is None:
                    raise ConfigError(f"tokenizer {self.name} has no token {i}")
            out.append(text)
        return out

    def token_id(self, token: str) -> int:
        """The id of a special token; :class:`ConfigError` names the token if it is missing."""
        try:
            return self.specials[token]
        except KeyError:
            raise ConfigError(f"tokenizer {self.name} has no special token {token!r}") from None

    def with_tokens(self, tokens: Iterable[str]) -> TextTokenizer:
        """A copy where every token of ``tokens`` it lacks is added as a special token, with
        ids from ``vocab_size`` upward in the order given."""
        missing = [t for t in dict.fromkeys(tokens) if t not in self.specials]
        if not missing:
            return self
        new = {t: self.vocab_size + i for i, t in enumerate(missing)}
        return replace(
            self,
            specials={**self.specials, **new},
            vocab_size=self.vocab_size + len(missing),
            added=self.added + tuple(missing),
        )


@cache
def _special_regex(tokens: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so "<|im_start|>" wins over a shorter token that is its prefix.
    return re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))


# The special tokens of Tekken files written before special tokens were stored in the file
# (``config.version`` v3–v7, e.g. Pixtral-12B-2409's ``tekken_240911.json``), by rank; the
# remaining ranks up to ``default_num_special_tokens`` are ``<SPECIAL_{rank}>`` fillers.
# tests/text/test_tokenizers.py checks the whole table against mistral-common's Tekkenizer.
_TEKKEN_V3_SPECIALS = (
    "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]",
    "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
    "[TOOL_CONTENT]",
)  # fmt: skip


def tekken(path: str | os.PathLike[str] | None = None) -> TextTokenizer:
    """A Tekken tokenizer from a ``tekken*.json`` file (default: the ``tekken_240911.json``
    that mistral-common ships, Pixtral-12B-2409's): tiktoken over the file's ranks, regular
    ids offset by the special-token count, exactly as mistral-common's ``Tekkenizer``.

    Read here with tiktoken rather than through ``Tekkenizer``: that class imports
    mistral-common's image and audio stacks (OpenCV among them) and decodes its whole vocabulary
    once more at start-up, ~1 s that every ``mmtok tokenize`` would pay (BENCHMARKS.md).
    """
    import base64

    import tiktoken

    path = Path(path) if path is not None else default_tekken_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        config = data["config"]
        num_special = int(config["default_num_special_tokens"])
        inner = int(config["default_vocab_size"]) - num_special
        ranks = {base64.b64decode(v["token_bytes"]): int(v["rank"]) for v in data["vocab"][:inner]}
        pattern = str(config["pattern"])
        given = data.get("special_tokens")
        names = [str(t["token_str"]) for t in given] if given is not None else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a Tekken tokenizer file ({exc})") from exc
    if names is None:
        if config.get("version") not in ("v3", "v7"):
            version = config.get("version")
            raise ConfigError(f"{path}: special_tokens missing (required for version {version!r})")
        names = list(_TEKKEN_V3_SPECIALS)
    if len(ranks) != inner or len(names) > num_special:
        raise ConfigError(
            f"{path}: config.default_vocab_size/default_num_special_tokens disagree with the "
            "vocab and special_tokens it holds"
        )
    names += [f"<SPECIAL_{i}>" for i in range(len(names), num_special)]
    enc = tiktoken.Encoding(path.stem, pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
    specials = {name: i for i, name in enumerate(names)}
    return TextTokenizer(
        name=f"tekken:{path.name}",
        encode_plain=lambda text: [t + num_special for t in enc.encode_ordinary(text)],
        specials=specials,
        vocab_size=num_special + inner,
        bos_id=specials.get("<s>"),
        eos_id=specials.get("</s>"),
    )


def default_tekken_path() -> Path:
    """mistral-common's bundled ``tekken_240911.json``, found without importing the package."""
    spec = importlib.util.find_spec("mistral_common")
    if spec is None or spec.origin is None:
        raise ConfigError("mistral-common is not installed: no built-in Tekken tokenizer")
    return Path(spec.origin).parent / "data" / "tekken_240911.json"


@cache
def builtin_tokenizer() -> TextTokenizer:
    """The built-in default: mistral-common's Tekken (loaded once per process, ~1 s)."""
    return tekken()


def hf_tokenizer(path: str | os.PathLike[str]) -> TextTokenizer:
    """A Hugging Face ``tokenizer.json``. BOS/EOS are what its post-processor adds around a
    single sequence (none for Qwen2, ``<s>`` for Llama-style tokenizers)."""
    from tokenizers import Tokenizer

    path = Path(path)
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for malformed files
        raise ConfigError(f"{path}: not a Hugging Face tokenizer.json ({exc})") from exc
    tok.encode_special_tokens = True  # special strings in plain text stay text
    specials = {t.content: i for i, t in tok.get_added_tokens_decoder().items()}
    plain = tok.encode("a", add_special_tokens=False).ids
    full = tok.encode("a", add_special_tokens=True).ids
    start = _find(full, plain)
    bos = full[start - 1] if start > 0 else None
    end = start + len(plain)
    eos = full[end] if start >= 0 and end < len(full) else None
    return TextTokenizer(
        name=f"hf:{path.name}",
        encode_plain=lambda text: tok.encode(text, add_special_tokens=False).ids,
        specials=specials,
        vocab_size=tok.get_vocab_size(with_added_tokens=True),
        bos_id=bos,
        eos_id=eos,
        token_str=tok.id_to_token,
    )


def _find(seq: list[int], sub: list[int]) -> int:
    for i in range(len(seq) - len(sub) + 1):
        if seq[i : i + len(sub)] == sub:
            return i
    return -1


@cache
def _byte_chars() -> tuple[str, ...]:
    # GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves; the others
    # (controls, space, DEL, NBSP, soft hyphen) take code points 256, 257, … in byte order.
    printable = {*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)}
    chars, shifted = [], 0
    for b in range(256):
        if b in printable:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + shifted))
            shifted += 1
    return tuple(chars)


def byte_level(data: bytes) -> str:
    """``data`` in GPT-2's byte-level alphabet: how byte-level BPE vocabularies (Qwen2's,
    Llama 3's, a tiktoken vocabulary converted by transformers) write a token's bytes."""
    chars = _byte_chars()
    return "".join(chars[b] for b in data)


def _tiktoken_str(enc: Any, i: int) -> str | None:
    try:
        return byte_level(enc.decode_single_token_bytes(i))
    except KeyError:
        return None


def read_ranks(path: str | os.PathLike[str]) -> dict[bytes, int]:
    """A tiktoken ranks file: one ``base64-token rank`` pair per line."""
    ranks: dict[bytes, int] = {}
    try:
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    token, rank = line.split()
                    ranks[base64.b64decode(token)] = int(rank)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a tiktoken ranks file ({exc})") from exc
    return ranks


def tiktoken_tokenizer(
    path: str | os.PathLike[str],
    *,
    pattern: str = QWEN_PATTERN,
    special_tokens: Mapping[str, int] | Iterable[str] = QWEN2_SPECIAL_TOKENS,
    bos: str | None = None,
    eos: str | None = None,
    nfc: bool = True,
) -> TextTokenizer:
    """A tiktoken-format ranks file with its split ``pattern``. ``special_tokens`` is either
    a ``{token: id}`` map or an ordered list whose ids follow the ranks (Qwen2's layout).
    ``nfc``: normalise text to Unicode NFC first, as Qwen's tokenizers do."""
    import tiktoken

    ranks = read_ranks(path)
    n = max(ranks.values(), default=-1) + 1
    specials = (
        dict(special_tokens)
        if isinstance(special_tokens, Mapping)
        else {t: n + i for i, t in enumerate(special_tokens)}
    )
    name = Path(path).name
    enc = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
    return TextTokenizer(
        name=f"tiktoken:{name}",
        encode_plain=(lambda t: enc.encode_ordinary(unicodedata.normalize("NFC", t)))
        if nfc
        else enc.encode_ordinary,
        specials=specials,
        vocab_size=max([n - 1, *specials.values()]) + 1,
        bos_id=specials[bos] if bos else None,
        eos_id=specials[eos] if eos else None,
        token_str=lambda i: _tiktoken_str(enc, i),
    )


def load_tokenizer(
    path: str | os.PathLike[str], *, special_tokens: Iterable[str] = QWEN2_SPECIAL_TOKENS
) -> TextTokenizer:
    """A tokenizer from a local file or model folder, its format told by name and content:
    a folder's ``tokenizer.json`` or ``tekken.json``; ``*.tiktoken`` ranks (with Qwen's regex
    and ``special_tokens`` after the ranks); a Tekken JSON; any other JSON as ``tokenizer.json``."""
    path = Path(path)
    if path.is_dir():
        for candidate in ("tokenizer.json", "tekken.json"):
            if (path / candidate).is_file():
                return load_tokenizer(path / candidate, special_tokens=special_tokens)
        raise ConfigError(f"{path}: no tokenizer.json or tekken.json in this folder")
    if not path.is_file():
        raise ConfigError(f"{path}: tokenizer file not found")
    if path.suffix == ".tiktoken":
        return tiktoken_tokenizer(path, special_tokens=tuple(special_tokens))
    if path.suffix != ".json":
        raise ConfigError(f"{path}: unknown tokenizer format (expected .json or .tiktoken)")
    if _is_tekken(path):
        return tekken(path)
    return hf_tokenizer(path)


def _is_tekken(path: Path) -> bool:
    # Tekken files open with {"config": {"pattern": ...}, ...}; HF tokenizer.json files with
    # "version"/"added_tokens". Peeking at the head avoids parsing a 20 MB JSON twice.
    with path.open("rb") as fh:
        head = fh.read(512)
    return re.match(rb'\s*\{\s*"config"\s*:\s*\{\s*"pattern"', head) is not None
