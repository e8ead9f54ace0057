"""The two-tier store: an LRU memory tier in front of a directory that processes share.

Memory tier: per process, least-recently-used eviction within a byte and an entry limit,
entries older than the time-to-live never served. Disk tier, one directory:

- ``entries/<key>.safetensors``, one file per entry (:mod:`mmtok.cache.entry`), written to a
  temporary file in the same folder, fsynced, then renamed: a reader sees a whole entry or
  none. A writer killed mid-write leaves only a ``.tmp-*`` file, which no reader opens and a
  later eviction pass removes once it is an hour old.
- A file's modification time is its creation time (time-to-live), its access time its last
  use (LRU), set explicitly on every hit, so eviction passes stat files and never read them.
- ``.lock``, taken with ``fcntl.flock``: each writer renames its entry into place and updates
  ``usage.json`` (the directory's total bytes and entries, its oldest creation time and when
  it was last scanned) under the lock, so **the limits hold after every completed write**
  whatever other processes do. A write scans the directory only when that index says the
  limits are exceeded (or an entry has expired, or an hour has passed, or the index is
  missing); the scan then evicts in a batch — expired entries, then the least recently used
  down to ``evict_to`` of the limits — and rebuilds the index, so a write costs the same at
  100 entries as at 100,000 (``bench/cache_scale.py``).
- ``stats.json``: counters summed over every process that used the directory,
  read-modify-written under the same lock and replaced by rename (lock-free readers such as
  ``mmtok cache stats`` always see a whole file). A process adds its counts at each disk
  write, on a lookup at most once a second, and on :meth:`Cache.close`; a killed process
  loses at most the counts of its last second. (Chosen over a file per process: no
  directory of stale files to merge, and the lock is already held at every write.)

Nothing here raises in the request path: a corrupt entry is dropped, warned about once and
reported as a miss; a disk error (full, read-only, no permission) warns once and the cache
goes on with its memory tier alone for ``retry_after`` seconds, then tries the disk again.
Limits are apparent file sizes in bytes; a local file system is assumed (``flock`` and
atomic rename are not reliable on every network file system).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import secrets
import threading
import time
import warnings
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from mmtok.cache.entry import CorruptEntryError, load_tensors, pack, unpack
from mmtok.errors import ConfigError

if TYPE_CHECKING:  # the store moves tensors but needs torch only where entries are read
    from torch import Tensor

Clock = Callable[[], float]
Tensors = dict[str, "Tensor"]

SUFFIX = ".safetensors"
TEMP_PREFIX = ".tmp-"
ORPHAN_AGE = 3600.0  # seconds after which a temporary file is a dead writer's leftover
RESCAN_AFTER = 3600.0  # seconds between full scans at most (orphans swept, index re-synced)
DISK_BYTES = 10 << 30  # default disk limit
MEMORY_BYTES = 1 << 30  # default memory limit
_KEY = re.compile(r"[0-9a-f]{64}")


class CacheWarning(UserWarning):
    """The cache could not serve or keep an entry; the request goes on uncached."""


@dataclass(frozen=True)
class TierLimits:
    """Bounds of one tier; ``None`` is unbounded. ``ttl``: seconds from an entry's creation
    after which it is never served. ``evict_to``: the disk tier, once over a limit, evicts
    down to this fraction of it, so its directory scans happen once per ``1 − evict_to`` of
    the limit written rather than at every write (``1.0``: evict exactly to the limit)."""

    max_bytes: int | None = None
    max_entries: int | None = None
    ttl: float | None = None
    evict_to: float = 0.9

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None and not value > 0:
                raise ConfigError(f"cache {f.name} {value}: must be positive (or None)")
        if self.evict_to > 1:
            raise ConfigError(f"cache evict_to {self.evict_to}: must be at most 1")

    def expired(self, created: float, now: float) -> bool:
        return self.ttl is not None and now - created > self.ttl

    def over(self, total_bytes: int, entries: int, fraction: float = 1.0) -> bool:
        """Whether ``total_bytes`` or ``entries`` exceed ``fraction`` of the limits."""
        too_big = self.max_bytes is not None and total_bytes > self.max_bytes * fraction
        return too_big or (
            self.max_entries is not None
            and entries > max(1, math.floor(self.max_entries * fraction))
        )


@dataclass(frozen=True)
class Usage:
    """The disk tier's index (``usage.json``): total entry ``bytes`` and ``entries``, the
    ``oldest`` creation time among them and when the directory was last ``scanned``
    (seconds). Kept under the lock by every write, drop and scan."""

    bytes: int
    entries: int
    oldest: float
    scanned: float

    def due(self, limits: TierLimits, now: float) -> bool:
        """Whether a write must scan: over a limit, an entry expired (at most once per
        tenth of the time-to-live), or no scan for :data:`RESCAN_AFTER` seconds."""
        if limits.over(self.bytes, self.entries) or now - self.scanned >= RESCAN_AFTER:
            return True
        return limits.ttl is not None and (
            limits.expired(self.oldest, now) and now - self.scanned >= limits.ttl / 10
        )


@dataclass(frozen=True)
class CacheConfig:
    """Where and how much to cache. ``directory`` ``None``: memory only."""

    directory: Path | None = None
    memory: TierLimits = field(default_factory=lambda: TierLimits(max_bytes=MEMORY_BYTES))
    disk: TierLimits = field(default_factory=lambda: TierLimits(max_bytes=DISK_BYTES))
    retry_after: float = 60.0  # seconds without the disk tier after a disk error


@dataclass(frozen=True)
class CacheStats:
    """Lookup and eviction counters (per process from :meth:`Cache.stats`, summed over
    processes from :func:`read_counters`) and the memory tier's size."""

    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    memory_evictions: int = 0
    disk_evictions: int = 0
    corrupt: int = 0  # entries that failed their checksum (dropped, counted as misses)
    expired: int = 0  # entries found past their time-to-live (dropped, counted as misses)
    writes: int = 0  # entries written to disk
    write_errors: int = 0
    memory_entries: int = 0
    memory_bytes: int = 0  # packed entries: tensor data plus a small header each

    @property
    def hits(self) -> int:
        return self.memory_hits + self.disk_hits

    def to_json(self) -> dict[str, int]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "hits": self.hits}


COUNTERS = (
    "memory_hits",
    "disk_hits",
    "misses",
    "memory_evictions",
    "disk_evictions",
    "corrupt",
    "expired",
    "writes",
    "write_errors",
)
"""The counted fields of :class:`CacheStats` (the memory tier's size is measured instead)."""


class Lookup(Enum):
    HIT = "hit"
    MISS = "miss"
    CORRUPT = "corrupt"
    EXPIRED = "expired"


class Found(NamedTuple):
    """What a disk lookup found: on a hit the tensors and the entry's bytes; ``problem``
    says why a corrupt entry was refused."""

    status: Lookup
    tensors: Tensors | None = None
    data: bytes = b""
    created: float = 0.0
    problem: str = ""


@dataclass(frozen=True)
class EntryFile:
    """One entry file as a directory scan sees it: sizes in bytes, times in seconds."""

    key: str
    path: Path
    bytes: int
    created: float
    last_used: float


@dataclass(frozen=True)
class BadEntry:
    path: Path
    problem: str


@dataclass(frozen=True)
class _Held:
    data: bytes  # the packed entry: immutable, so callers never share tensors with the tier
    created: float


class MemoryTier:
    """Per-process LRU bounded by :class:`TierLimits` (not thread-safe alone: :class:`Cache`
    holds a lock around it).

    Entries are held as their packed bytes (:func:`mmtok.cache.entry.pack`, the same bytes
    the disk tier writes) and decoded on every hit, so a caller writing into the tensors it
    got or gave cannot change the tier. Decoding a (196, 768) float32 entry took 0.3 ms where
    ``Tensor.clone`` took 5–14 ms on a loaded 2-core machine (its copy waits for torch's
    intra-op threads)."""

    def __init__(self, limits: TierLimits) -> None:
        self.limits = limits
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._held)

    def get(self, key: str, now: float) -> tuple[Lookup, Tensors | None]:
        held = self._held.get(key)
        if held is None:
            return Lookup.MISS, None
        if self.limits.expired(held.created, now):
            self._remove(key)
            return Lookup.EXPIRED, None
        self._held.move_to_end(key)
        return Lookup.HIT, load_tensors(held.data)

    def put(self, key: str, data: bytes, created: float) -> int:
        """Keep a packed entry; returns how many entries were evicted to make room."""
        if key in self._held:
            self._remove(key)
        if self.limits.over(len(data), 1):
            return 0  # larger than the whole tier: not kept
        self._held[key] = _Held(data, created)
        self.bytes += len(data)
        evicted = 0
        while self.limits.over(self.bytes, len(self._held)):
            self._remove(next(iter(self._held)))
            evicted += 1
        return evicted

    def _remove(self, key: str) -> None:
        self.bytes -= len(self._held.pop(key).data)


def _read_json(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


class DiskTier:
    """A directory of entry files shared by processes (see the module doc for the layout).

    Methods raise ``OSError`` on disk failures; :class:`Cache` turns those into warnings.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        limits: TierLimits | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.root = Path(directory)
        self.entries = self.root / "entries"
        self.limits = limits if limits is not None else TierLimits()
        self.clock = clock

    def path(self, key: str) -> Path:
        return self.entries / f"{key}{SUFFIX}"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes (and threads: each call opens its own descriptor)."""
        self.entries.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def read(self, key: str) -> Found:
        """Look ``key`` up; a corrupt or expired entry is removed."""
        path = self.path(key)
        try:
            f = open(path, "rb")  # noqa: SIM115 (only the open may say "no entry": a miss)
        except FileNotFoundError:
            return Found(Lookup.MISS)
        with f:
            stat = os.fstat(f.fileno())
            data = f.read()
            try:
                header, tensors = unpack(data, key)
            except CorruptEntryError as exc:
                self._drop(path, stat)
                return Found(Lookup.CORRUPT, problem=str(exc))
            now = self.clock()
            if self.limits.expired(header.created, now):
                self._drop(path, stat)
                return Found(Lookup.EXPIRED)
            with contextlib.suppress(OSError):  # the last-use time is advisory
                os.utime(f.fileno(), ns=(int(now * 1e9), stat.st_mtime_ns))
        return Found(Lookup.HIT, tensors, data, header.created)

    def _drop(self, path: Path, seen: os.stat_result) -> None:
        """Remove ``path`` if it is still the file we read (a writer may have replaced it)."""
        with contextlib.suppress(OSError), self.locked():
            now = path.stat()
            if (now.st_ino, now.st_dev) == (seen.st_ino, seen.st_dev):
                path.unlink()
                usage = self._usage()
                if usage is not None:
                    self._save_usage(
                        Usage(usage.bytes - now.st_size, usage.entries - 1, usage.oldest,
                              usage.scanned)
                    )  # fmt: skip

    def write(
        self, key: str, data: bytes, created: float, counters: Mapping[str, int] | None = None
    ) -> int:
        """Store an entry atomically, then evict until the limits hold and add ``counters``
        to ``stats.json``, under the lock. Returns the number of entries evicted."""
        self.entries.mkdir(parents=True, exist_ok=True)
        tmp = self.entries / f"{TEMP_PREFIX}{key[:16]}-{os.getpid()}-{secrets.token_hex(4)}"
        stamp = int(created * 1e9)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                _write_all(fd, data)
                os.utime(fd, ns=(stamp, stamp))  # mtime = creation, atime = last use
                os.fsync(fd)
            finally:
                os.close(fd)
            with self.locked():
                evicted = self._place(tmp, key, len(data), created)
                self._add_counters({**(counters or {}), "disk_evictions": evicted})
        except BaseException:
            _unlink(tmp)
            raise
        return evicted

    def scan(self) -> list[EntryFile]:
        """Every entry file (temporary files excluded), by ``stat`` alone."""
        try:
            listing = list(os.scandir(self.entries))
        except FileNotFoundError:
            return []
        out = []
        for item in listing:
            key = item.name.removesuffix(SUFFIX)
            if not (item.name.endswith(SUFFIX) and _KEY.fullmatch(key)):
                continue
            try:
                st = item.stat()
            except FileNotFoundError:
                continue  # evicted since the listing
            out.append(EntryFile(key, Path(item.path), st.st_size, st.st_mtime, st.st_atime))
        return out

    def _usage(self) -> Usage | None:
        """Under the lock: the index, or ``None`` when missing or unreadable."""
        data = _read_json(self.root / "usage.json")
        try:
            oldest = data["oldest_ns"] / 1e9 if "oldest_ns" in data else math.inf
            return Usage(data["bytes"], data["entries"], oldest, data["scanned_ns"] / 1e9)
        except KeyError:
            return None

    def _save_usage(self, usage: Usage) -> None:
        """Under the lock: replace the index (integers; times in ns, no ``oldest_ns`` when
        there are no entries)."""
        values = {"bytes": usage.bytes, "entries": usage.entries}
        values["scanned_ns"] = int(usage.scanned * 1e9)
        if not math.isinf(usage.oldest):
            values["oldest_ns"] = int(usage.oldest * 1e9)
        tmp = self.root / f"{TEMP_PREFIX}usage-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.write_text(json.dumps(values))
        os.replace(tmp, self.root / "usage.json")

    def _place(self, tmp: Path, key: str, size: int, created: float) -> int:
        """Under the lock: rename ``tmp`` into place as ``key``'s entry and update the index;
        scan and evict when it says so. Returns the number of entries evicted."""
        path = self.path(key)
        try:
            replaced: int | None = path.stat().st_size
        except FileNotFoundError:
            replaced = None
        os.replace(tmp, path)
        now = self.clock()
        usage = self._usage()
        if usage is not None:
            usage = Usage(
                usage.bytes + size - (replaced or 0),
                usage.entries + (replaced is None),
                min(usage.oldest, created),
                usage.scanned,
            )
        if usage is None or usage.due(self.limits, now):
            usage, evicted = self._evict(now, keep=key)
        else:
            evicted = 0
        self._save_usage(usage)
        return evicted

    def _evict(self, now: float, keep: str) -> tuple[Usage, int]:
        """Under the lock: one scan; expired entries go, then the least recently used (never
        ``keep``, the entry just written) until within ``evict_to`` of the limits. Returns
        the rebuilt index and the number of entries evicted."""
        files = self.scan()
        doomed = [f for f in files if self.limits.expired(f.created, now)]
        alive = sorted(
            (f for f in files if not self.limits.expired(f.created, now)),
            key=lambda f: (f.key == keep, f.last_used, f.key),
        )
        total = sum(f.bytes for f in alive)
        if self.limits.over(total, len(alive)):
            fraction = self.limits.evict_to
            while len(alive) > 1 and self.limits.over(total, len(alive), fraction):
                oldest = alive.pop(0)
                total -= oldest.bytes
                doomed.append(oldest)
        self._sweep_temps(now)
        evicted = sum(_unlink(f.path) for f in doomed)
        oldest_created = min((f.created for f in alive), default=math.inf)
        return Usage(total, len(alive), oldest_created, now), evicted

    def _sweep_temps(self, now: float) -> None:
        """Remove temporary files (entries, counters) of writers dead for an hour."""
        for folder in (self.entries, self.root):
            for item in os.scandir(folder):
                if item.name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        if now - item.stat().st_mtime > ORPHAN_AGE:
                            _unlink(Path(item.path))

    def _add_counters(self, deltas: Mapping[str, int]) -> None:
        """Under the lock: add ``deltas`` to ``stats.json`` (replaced by rename)."""
        if not any(deltas.values()):
            return
        path = self.root / "stats.json"
        totals = Counter(_read_json(path))
        totals.update({k: v for k, v in deltas.items() if v})
        tmp = self.root / f"{TEMP_PREFIX}stats-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.write_text(json.dumps(dict(sorted(totals.items()))))
        os.replace(tmp, path)

    def add_counters(self, deltas: Mapping[str, int]) -> None:
        with self.locked():
            self._add_counters(deltas)

    def counters(self) -> CacheStats:
        """Counters summed over every process that used this directory."""
        totals = _read_json(self.root / "stats.json")
        return CacheStats(**{k: v for k, v in totals.items() if k in COUNTERS})

    def verify(self) -> tuple[int, list[BadEntry]]:
        """Check every entry's checksum: ``(entries checked, bad ones)``. Reading leaves each
        file's times as they were, so a check is not a use."""
        bad = []
        files = self.scan()
        for entry in files:
            try:
                with open(entry.path, "rb") as f:
                    stat = os.fstat(f.fileno())
                    data = f.read()
                    with contextlib.suppress(OSError):
                        os.utime(f.fileno(), ns=(stat.st_atime_ns, stat.st_mtime_ns))
                unpack(data, entry.key)
            except FileNotFoundError:
                continue  # evicted since the scan
            except OSError as exc:
                bad.append(BadEntry(entry.path, f"unreadable ({exc})"))
            except CorruptEntryError as exc:
                bad.append(BadEntry(entry.path, str(exc)))
        return len(files), bad

    def clear(self) -> tuple[int, int]:
        """Remove every entry, temporary file and the counters: ``(entries, bytes)`` removed."""
        if not self.root.is_dir():
            return 0, 0
        with self.locked():
            files = self.scan()
            removed = [f for f in files if _unlink(f.path)]
            for folder in (self.entries, self.root):
                for item in os.scandir(folder):
                    if item.name.startswith(TEMP_PREFIX):
                        _unlink(Path(item.path))
            _unlink(self.root / "stats.json")
            _unlink(self.root / "usage.json")
        return len(removed), sum(f.bytes for f in removed)


class Cache:
    """The visual-token cache: memory tier in front of an optional shared disk tier.

    ``get`` and ``put`` never raise on cache trouble (see the module doc); keys are the
    64-hex digests of :func:`mmtok.cache.keys.cache_key`. Thread-safe. Use as a context
    manager (or call :meth:`close`) so the directory's counters get this process's counts.
    """

    def __init__(self, config: CacheConfig | None = None, *, clock: Clock = time.time):
        self.config = config if config is not None else CacheConfig()
        self.clock = clock
        self.memory = MemoryTier(self.config.memory)
        directory = self.config.directory
        self.disk = DiskTier(directory, self.config.disk, clock) if directory else None
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._unsaved: Counter[str] = Counter()
        self._saved_at = clock()
        self._disk_off_until = 0.0
        self._warned: set[str] = set()

    @classmethod
    def at(
        cls,
        directory: str | os.PathLike[str] | None,
        *,
        max_bytes: int | None = DISK_BYTES,
        max_entries: int | None = None,
        ttl: float | None = None,
        memory_bytes: int | None = MEMORY_BYTES,
    ) -> Cache:
        """A cache on ``directory`` (``None``: memory only) with the common limits."""
        disk = TierLimits(max_bytes=max_bytes, max_entries=max_entries, ttl=ttl)
        memory = TierLimits(max_bytes=memory_bytes, ttl=ttl)
        folder = Path(directory) if directory is not None else None
        return cls(CacheConfig(directory=folder, memory=memory, disk=disk))

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, name: str, n: int = 1) -> None:
        self._counts[name] += n
        self._unsaved[name] += n

    def _warn_once(self, topic: str, message: str, stacklevel: int) -> None:
        if topic not in self._warned:
            self._warned.add(topic)
            warnings.warn(f"mmtok cache: {message}", CacheWarning, stacklevel=stacklevel + 1)

    def _disk_error(self, exc: OSError, doing: str) -> None:
        assert self.disk is not None
        self._disk_off_until = self.clock() + self.config.retry_after
        reason = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
        self._warn_once(
            f"disk-{doing}-{reason}",
            f"{self.disk.root}: cannot {doing} ({exc}); going on without the disk tier for "
            f"{self.config.retry_after:g} s",
            stacklevel=3,  # the caller of get/put
        )

    def get(self, key: str) -> Tensors | None:
        """The tensors stored under ``key`` (a private copy), or ``None``."""
        _check_key(key)
        with self._lock:
            status, tensors = self.memory.get(key, self.clock())
            if status is Lookup.HIT:
                self._count("memory_hits")
                return tensors
        found = Found(status)
        if self.disk is not None and self.clock() >= self._disk_off_until:
            try:
                found = self.disk.read(key)
            except OSError as exc:
                self._disk_error(exc, "read")
        expired = Lookup.EXPIRED in (status, found.status)
        with self._lock:
            self._count("expired", int(expired))
            if found.status is Lookup.CORRUPT:
                assert self.disk is not None
                self._count("corrupt")
                self._warn_once(
                    f"corrupt-{key}",
                    f"{self.disk.path(key)}: corrupt entry ({found.problem}); dropped, recomputing",
                    stacklevel=2,
                )
            if found.tensors is None:
                self._count("misses")
            else:
                self._count("disk_hits")
                evicted = self.memory.put(key, found.data, found.created)
                self._count("memory_evictions", evicted)
        self._save_counters(every=1.0)
        return found.tensors

    def put(self, key: str, tensors: Mapping[str, Tensor]) -> None:
        """Keep ``tensors`` under ``key`` in both tiers (disk failures only warn)."""
        _check_key(key)
        created = self.clock()
        data = pack(key, tensors, created)
        with self._lock:
            self._count("memory_evictions", self.memory.put(key, data, created))
        if self.disk is None or created < self._disk_off_until:
            return
        if self.disk.limits.over(len(data), 1):
            return  # larger than the whole disk tier: memory only
        with self._lock:
            unsaved, self._unsaved = self._unsaved, Counter()
        try:
            evicted = self.disk.write(key, data, created, {**unsaved, "writes": 1})
        except OSError as exc:
            with self._lock:
                self._unsaved.update(unsaved)
                self._count("write_errors")
            self._disk_error(exc, "write")
            return
        with self._lock:  # these counts are in stats.json already
            self._counts.update({"writes": 1, "disk_evictions": evicted})
            self._saved_at = self.clock()

    def _save_counters(self, every: float = 0.0) -> None:
        if self.disk is None or self.clock() - self._saved_at < every:
            return
        with self._lock:
            unsaved, self._unsaved = self._unsaved, Counter()
            self._saved_at = self.clock()
        if not unsaved:
            return
        try:
            self.disk.add_counters(unsaved)
        except OSError:
            with self._lock:
                self._unsaved.update(unsaved)  # counters are advisory: try again later

    def stats(self) -> CacheStats:
        """This process's counters and the memory tier's current size."""
        with self._lock:
            counts = {k: v for k, v in self._counts.items() if k in COUNTERS}
            return CacheStats(
                **counts, memory_entries=len(self.memory), memory_bytes=self.memory.bytes
            )

    def close(self) -> None:
        """Add this process's unsaved counts to the directory's counters."""
        self._save_counters()


def _check_key(key: str) -> None:
    if not _KEY.fullmatch(key):
        raise ConfigError(f"cache key {key!r}: expected 64 hex characters (from cache_key)")


def read_counters(directory: str | os.PathLike[str]) -> CacheStats:
    """The counters every process has saved in ``directory`` (zeros when there are none)."""
    return DiskTier(directory, TierLimits(), time.time).counters()
