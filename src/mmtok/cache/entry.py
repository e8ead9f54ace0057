"""One cache entry as bytes: a plain safetensors file carrying a small JSON header and a checksum.

The file is a standard safetensors file (8-byte header length, JSON header, tensor data), so
any safetensors reader opens it. Its ``__metadata__`` holds ``mmtok.header`` — JSON with the
key, each tensor's dtype and shape, the created and last-used times (seconds since the epoch)
and the format — and ``mmtok.checksum``: SHA-256 of the whole file with the checksum's own
64 characters read as ``0``. A change to any byte (tensor data, a shape, the header, its
padding, the checksum itself) fails the check. No pickle: tensors and JSON only.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError

from mmtok.errors import MmtokError

if TYPE_CHECKING:  # torch loads when an entry is packed or read, not on import
    from torch import Tensor

FORMAT = 1
_HEADER = "mmtok.header"
_CHECKSUM = "mmtok.checksum"
_PLACEHOLDER = b"0" * 64
_HEX64 = re.compile(r"[0-9a-f]{64}")


class CorruptEntryError(MmtokError):
    """A stored entry failed its checks (format, checksum, key): it must never be served."""


@dataclass(frozen=True)
class EntryHeader:
    """What an entry says about itself. ``last_used`` is the write time; later uses are
    recorded in the file's access time (rewriting the file on every hit would be slow and
    racy). ``tensors``: name → (dtype, shape)."""

    key: str
    created: float
    last_used: float
    tensors: dict[str, tuple[str, tuple[int, ...]]]
    format: int = FORMAT


def _dtype_name(tensor: Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _checksum(data: bytes | bytearray, at: int) -> str:
    """SHA-256 hex of ``data`` with the 64 bytes at ``at`` read as ``0``."""
    view = memoryview(data)
    digest = hashlib.sha256(view[:at])
    digest.update(_PLACEHOLDER)
    digest.update(view[at + 64 :])
    return digest.hexdigest()


def pack(key: str, tensors: Mapping[str, Tensor], created: float) -> bytes:
    """The bytes of an entry holding ``tensors`` under ``key``, created at ``created``."""
    from safetensors.torch import save

    header = {
        "format": FORMAT,
        "key": key,
        "created": created,
        "last_used": created,
        "tensors": {n: [_dtype_name(t), list(t.shape)] for n, t in sorted(tensors.items())},
    }
    metadata = {_HEADER: json.dumps(header, sort_keys=True), _CHECKSUM: _PLACEHOLDER.decode()}
    data = bytearray(save({n: t.contiguous() for n, t in tensors.items()}, metadata=metadata))
    at = 8 + bytes(data[8 : 8 + int.from_bytes(data[:8], "little")]).index(_PLACEHOLDER)
    data[at : at + 64] = _checksum(data, at).encode()
    return bytes(data)


def read_header(data: bytes) -> tuple[EntryHeader, str, int]:
    """The header, the stored checksum and its byte offset; :class:`CorruptEntryError` when
    the file is too short or its header is not what :func:`pack` writes."""
    if len(data) < 8:
        raise CorruptEntryError(f"{len(data)} bytes, shorter than a safetensors header")
    size = int.from_bytes(data[:8], "little")
    if size > len(data) - 8:
        raise CorruptEntryError(f"header of {size} bytes runs past the end of the file")
    raw = data[8 : 8 + size]
    try:
        meta = json.loads(raw)["__metadata__"]
        fields: dict[str, Any] = json.loads(meta[_HEADER])
        checksum = meta[_CHECKSUM]
        header = EntryHeader(
            key=str(fields["key"]),
            created=float(fields["created"]),
            last_used=float(fields["last_used"]),
            tensors={
                n: (str(d), tuple(int(s) for s in shape))
                for n, (d, shape) in fields["tensors"].items()
            },
            format=int(fields["format"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptEntryError(f"unreadable header ({type(exc).__name__}: {exc})") from None
    if not isinstance(checksum, str) or not _HEX64.fullmatch(checksum):
        raise CorruptEntryError("malformed checksum")
    if raw.count(checksum.encode()) != 1:
        raise CorruptEntryError("checksum not found exactly once in the header")
    return header, checksum, 8 + raw.index(checksum.encode())


def load_tensors(data: bytes) -> dict[str, Tensor]:
    """The tensors of an entry, as new tensors of their own (no checks: see :func:`unpack`)."""
    from safetensors.torch import load

    try:
        return load(data)
    except SafetensorError as exc:
        raise CorruptEntryError(f"tensors cannot be read ({exc})") from None


def unpack(data: bytes, key: str) -> tuple[EntryHeader, dict[str, Tensor]]:
    """Check and decode an entry expected to hold ``key``: header, then tensors by name.

    Raises :class:`CorruptEntryError` for a bad checksum, another key, an unknown format, or
    tensors that differ from the header's list.
    """
    header, checksum, at = read_header(data)
    if _checksum(data, at) != checksum:
        raise CorruptEntryError("checksum mismatch")
    if header.format != FORMAT:
        raise CorruptEntryError(f"format {header.format}, this mmtok reads {FORMAT}")
    if header.key != key:
        raise CorruptEntryError(f"holds key {header.key[:16]}…, stored as {key[:16]}…")
    tensors = load_tensors(data)
    found = {n: (_dtype_name(t), tuple(t.shape)) for n, t in tensors.items()}
    if found != header.tensors:
        raise CorruptEntryError("tensors differ from the header's list")
    return header, tensors
