"""Input rows: a JSONL file, a Parquet file or a folder of them → ``(id, request, base)`` rows.

A JSONL file holds one request per line (the schema ``mmtok tokenize`` reads, optionally with
an ``id`` key); a Parquet file holds the same JSON text in a ``request`` column, optionally
with an ``id`` column. Media paths are relative to the input file's folder and confined to it:
an absolute path, or one that leaves the folder (``..``, a symlink pointing out), is that row's
error, worded the same whether the file exists or not. Blank lines are not rows. A row that
is not a JSON object stays a row, carrying an ``error``, so the output always has exactly one
row per input row.

A :class:`Cursor` says where a row starts, so a worker reads only its own slice of a file
(seek to a byte offset in JSONL, pick the row groups in Parquet) instead of rescanning it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mmtok.errors import ConfigError

SUFFIXES = (".jsonl", ".parquet")


@dataclass(frozen=True)
class SourceRow:
    """One input row: its ``id``, the request as parsed JSON (without its ``id`` key) and
    the folder its media paths are relative to; or, for an unreadable row, the ``error``."""

    id: str
    request: dict[str, Any] | None
    base: str
    error: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a row starts: ``line`` its 1-based line (JSONL) or row number (Parquet);
    ``offset`` its byte offset (JSONL) or 0-based row index (Parquet)."""

    line: int
    offset: int


@dataclass(frozen=True)
class Slice:
    """``rows`` consecutive rows of the file ``path`` from ``start``; ``prefix`` is put before
    the default ids (line numbers), so ids stay unique across the files of a folder."""

    path: str
    start: Cursor
    rows: int
    prefix: str = ""


def input_files(path: Path) -> list[Path]:
    """The input files, absolute: ``path`` itself, or a folder's JSONL/Parquet files sorted
    by name (the order that fixes which row lands in which shard)."""
    if not path.exists():
        raise ConfigError(f"{path}: no such input file or folder")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        if not files:
            raise ConfigError(f"{path}: folder holds no {' or '.join(SUFFIXES)} files")
        return [f.resolve() for f in files]
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"{path}: expected a {' or '.join(SUFFIXES)} file or a folder of them")
    return [path.resolve()]


def cursors(path: Path) -> Iterator[Cursor]:
    """Every row's cursor, in file order (one pass over a JSONL file; Parquet metadata)."""
    if path.suffix == ".parquet":
        n = _parquet(path).metadata.num_rows
        yield from (Cursor(i + 1, i) for i in range(n))
        return
    with path.open("rb") as stream:
        offset = 0
        for line, text in enumerate(stream, 1):
            if text.strip():
                yield Cursor(line, offset)
            offset += len(text)


def read_slice(piece: Slice) -> list[SourceRow]:
    """The rows of ``piece``, parsed; a bad row becomes a row with an ``error``."""
    path = Path(piece.path)
    if path.suffix == ".parquet":
        return _read_parquet(path, piece)
    rows: list[SourceRow] = []
    with path.open("rb") as stream:
        stream.seek(piece.start.offset)
        for line, raw in enumerate(stream, piece.start.line):
            if len(rows) == piece.rows:
                break
            if raw.strip():
                rows.append(_row(raw, None, piece.prefix + str(line), path, line))
    return rows


def _parquet(path: Path) -> pq.ParquetFile:
    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        raise ConfigError(f"{path}: not a readable Parquet file ({exc})") from None
    column = file.schema_arrow.field("request") if "request" in file.schema_arrow.names else None
    if column is None or not (
        pa.types.is_string(column.type)
        or pa.types.is_large_string(column.type)
        or pa.types.is_binary(column.type)
    ):
        raise ConfigError(f"{path}: needs a 'request' column of JSON text")
    return file


def _read_parquet(path: Path, piece: Slice) -> list[SourceRow]:
    file = _parquet(path)
    first, stop = piece.start.offset, piece.start.offset + piece.rows
    groups, group_start, seen = [], None, 0
    for g in range(file.num_row_groups):
        n = file.metadata.row_group(g).num_rows
        if seen < stop and seen + n > first:
            groups.append(g)
            group_start = seen if group_start is None else group_start
        seen += n
    columns = [c for c in ("id", "request") if c in file.schema_arrow.names]
    table = file.read_row_groups(groups, columns=columns)
    table = table.slice(first - (group_start or 0), piece.rows)
    ids = table.column("id").to_pylist() if "id" in columns else [None] * table.num_rows
    texts = table.column("request").to_pylist()
    return [
        _row(text, given, piece.prefix + str(line), path, line)
        for line, (given, text) in enumerate(zip(ids, texts, strict=True), piece.start.line)
    ]


def _row(text: str | bytes | None, given: Any, default: str, path: Path, line: int) -> SourceRow:
    """Parse one row's JSON; its id is ``given`` (a Parquet ``id``), its ``id`` key, or
    ``default`` (the line number)."""
    base, where = str(path.parent), f"{path.name}:{line}"
    if given is not None:
        default = str(given)
    try:
        data = json.loads(text) if text is not None else None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting
        return SourceRow(default, None, base, f"{where}: not valid JSON ({exc})")
    if not isinstance(data, dict):
        return SourceRow(default, None, base, f"{where}: expected a JSON object (a request)")
    key = data.pop("id", None)
    rid = given if given is not None else key
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, str | int)):
        return SourceRow(default, None, base, f"{where}: 'id' must be a string or an integer")
    rid = default if rid is None else str(rid)
    escape = confine_media(data, path.parent)
    if escape is not None:
        return SourceRow(rid, None, base, f"{where}: {escape}")
    return SourceRow(rid, data, base)


# The keys a media part's path may come under (the request schema's aliases).
_PATH_KEYS = ("path", "image", "video", "audio", "url")


def _media_parts(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The media part objects of a request (``media`` items and ``messages[].content``
    parts that are not text), before validation: anything malformed is left to the schema."""
    media = request.get("media")
    parts: list[Any] = list(media) if isinstance(media, list) else []
    messages = request.get("messages")
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            parts.extend(content)
    for part in parts:
        if isinstance(part, dict) and part.get("type") != "text":
            yield part


def confine_media(request: dict[str, Any], root: Path) -> str | None:
    """Resolve every media path of ``request`` (parsed JSON) inside ``root``, in place.

    Each relative path becomes the absolute, symlink-free path it names under ``root``;
    returns the error for the first that is absolute or resolves outside ``root`` (the
    message never depends on whether that file exists). Remote URLs and non-string values
    are left for the request schema to refuse.
    """
    top = Path(os.path.realpath(root))
    for part in _media_parts(request):
        for key in _PATH_KEYS:
            value = part.get(key)
            if not isinstance(value, str) or "://" in value or value.startswith("data:"):
                continue
            refused = f"media path {value!r} is not inside the dataset folder"
            if "\0" in value or Path(value).is_absolute():
                return refused
            try:
                resolved = Path(os.path.realpath(top / value))
            except (OSError, ValueError) as exc:  # e.g. a lone surrogate (UnicodeEncodeError)
                return f"media path {value!r} cannot be used ({type(exc).__name__})"
            if not resolved.is_relative_to(top):
                return refused
            part[key] = str(resolved)
    return None
