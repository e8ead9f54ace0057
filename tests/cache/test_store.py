"""The two-tier store: exact round trips, corruption caught, limits kept, disk trouble survived."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from mmtok.cache import store as store_module
from mmtok.cache.entry import CorruptEntryError, pack, unpack
from mmtok.cache.store import (
    Cache,
    CacheConfig,
    CacheWarning,
    DiskTier,
    TierLimits,
    read_counters,
)
from mmtok.errors import ConfigError


def k(i: int) -> str:
    """A valid key (64 hex) for test item ``i``."""
    return hashlib.sha256(str(i).encode()).hexdigest()


def tensors(i: int, n: int = 100) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(i)
    return {"features": torch.randn(1, n, 8, generator=g), "grid": torch.tensor([1, n, 1])}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """Bit-identical: same names, dtypes, shapes and bytes."""
    return a.keys() == b.keys() and all(
        a[n].dtype == b[n].dtype and a[n].shape == b[n].shape and torch.equal(a[n], b[n]) for n in a
    )


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def disk_cache(path: Path, clock: Clock | None = None, **limits) -> Cache:
    """A cache whose memory tier keeps nothing, so every lookup reaches the disk."""
    config = CacheConfig(directory=path, memory=TierLimits(max_bytes=1), disk=TierLimits(**limits))
    return Cache(config, clock=clock or Clock())


def entry_bytes(cache: Cache) -> list[int]:
    assert cache.disk is not None
    return [f.bytes for f in cache.disk.scan()]


def test_round_trip_is_bit_identical_for_every_dtype(tmp_path: Path) -> None:
    values = {
        "f32": torch.randn(3, 5),
        "bf16": torch.randn(4, 2).to(torch.bfloat16),
        "f16": torch.randn(7).half(),
        "i64": torch.arange(6).reshape(2, 3),
        "scalar": torch.tensor(3.5),
        "strided": torch.randn(6, 4).t(),  # not contiguous
    }
    with Cache.at(tmp_path) as writer:
        writer.put(k(1), values)
        assert same(writer.get(k(1)), values)  # memory tier
    with Cache.at(tmp_path) as reader:  # another "process": disk tier
        got = reader.get(k(1))
        assert got is not None and same(got, values)
        assert reader.stats().disk_hits == 1
        assert same(reader.get(k(1)), values) and reader.stats().memory_hits == 1


def test_entries_are_plain_safetensors_with_a_json_header(tmp_path: Path) -> None:
    with Cache.at(tmp_path) as cache:
        cache.put(k(2), tensors(2))
    path = tmp_path / "entries" / f"{k(2)}.safetensors"
    with safe_open(str(path), "pt") as f:
        header = json.loads(f.metadata()["mmtok.header"])
        assert torch.equal(f.get_tensor("features"), tensors(2)["features"])
    assert header["key"] == k(2)
    assert header["tensors"]["features"] == ["float32", [1, 100, 8]]
    assert header["created"] == header["last_used"] == pytest.approx(path.stat().st_mtime)


def test_callers_cannot_change_what_the_cache_holds(tmp_path: Path) -> None:
    cache = Cache.at(None)
    given_ = tensors(3)
    cache.put(k(3), given_)
    given_["features"].zero_()
    got = cache.get(k(3))
    assert got is not None and same(got, tensors(3))
    got["features"].zero_()
    assert same(cache.get(k(3)), tensors(3))


@settings(max_examples=60)
@given(st.data())
def test_any_flipped_byte_is_detected(data) -> None:
    blob = pack(k(4), tensors(4, n=20), created=123.0)
    at = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    flipped = bytearray(blob)
    flipped[at] ^= 1 << bit
    with pytest.raises(CorruptEntryError):
        unpack(bytes(flipped), k(4))
    assert same(unpack(blob, k(4))[1], tensors(4, n=20))


@given(st.integers(0, 10_000))
def test_any_truncation_is_detected(cut: int) -> None:
    blob = pack(k(5), tensors(5, n=20), created=123.0)
    with pytest.raises(CorruptEntryError):
        unpack(blob[: cut % len(blob)], k(5))


def test_an_entry_under_another_key_is_refused() -> None:
    with pytest.raises(CorruptEntryError, match="holds key"):
        unpack(pack(k(6), tensors(6), created=1.0), k(7))


def test_corrupt_entry_is_dropped_warned_once_and_rewritten(tmp_path: Path) -> None:
    cache = disk_cache(tmp_path)
    cache.put(k(8), tensors(8))
    path = tmp_path / "entries" / f"{k(8)}.safetensors"
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # inside the tensor data
    path.write_bytes(bytes(blob))
    with pytest.warns(CacheWarning, match="corrupt entry.*checksum mismatch"):
        assert cache.get(k(8)) is None
    assert not path.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get(k(8)) is None  # gone: a plain miss, no second warning
    cache.put(k(8), tensors(8))
    assert same(cache.get(k(8)), tensors(8))
    stats = cache.stats()
    assert (stats.corrupt, stats.misses, stats.disk_hits) == (1, 2, 1)


@settings(max_examples=40)
@given(
    st.lists(st.tuples(st.integers(0, 11), st.integers(1, 400), st.booleans()), max_size=40),
    st.integers(2_000, 12_000),
    st.integers(1, 6),
)
def test_disk_bytes_and_entries_never_exceed_the_limits(tmp_path_factory, ops, limit, most):
    directory = tmp_path_factory.mktemp("limits")
    cache = disk_cache(directory, max_bytes=limit, max_entries=most)
    for i, n, read in ops:
        if read:
            got = cache.get(k(i))
            assert got is None or same(got, tensors(i, n=got["grid"][1].item()))
        else:
            cache.put(k(i), tensors(i, n))
            sizes = entry_bytes(cache)
            assert sum(sizes) <= limit and len(sizes) <= most


def test_eviction_is_least_recently_used(tmp_path: Path) -> None:
    clock = Clock()
    size = len(pack(k(0), tensors(0), created=clock.now + 1))  # same length for all four
    cache = disk_cache(tmp_path, clock, max_bytes=3 * size, evict_to=1.0)  # exactly to the limit
    for i in range(3):
        clock.now += 1
        cache.put(k(i), tensors(i))
    clock.now += 1
    assert cache.get(k(0)) is not None  # 0 is now the most recently used
    clock.now += 1
    cache.put(k(3), tensors(3))  # evicts 1, the least recently used
    kept = {f.key for f in cache.disk.scan()}
    assert kept == {k(0), k(2), k(3)}
    assert cache.stats().disk_evictions == 1


def test_memory_tier_is_lru_within_its_byte_limit() -> None:
    clock = Clock()
    one = len(pack(k(0), tensors(0), created=clock.now))  # entries are held packed
    cache = Cache(CacheConfig(memory=TierLimits(max_bytes=2 * one)), clock=clock)
    cache.put(k(0), tensors(0))
    cache.put(k(1), tensors(1))
    cache.get(k(0))
    cache.put(k(2), tensors(2))
    assert cache.get(k(1)) is None and cache.get(k(0)) is not None
    stats = cache.stats()
    assert (stats.memory_entries, stats.memory_bytes, stats.memory_evictions) == (2, 2 * one, 1)


def test_expired_entries_are_never_served(tmp_path: Path) -> None:
    clock = Clock()
    config = CacheConfig(directory=tmp_path, memory=TierLimits(ttl=60), disk=TierLimits(ttl=60))
    cache = Cache(config, clock=clock)
    cache.put(k(9), tensors(9))
    clock.now += 59
    assert cache.get(k(9)) is not None
    assert Cache(config, clock=clock).get(k(9)) is not None  # from disk
    clock.now += 2  # 61 s after creation, though used 2 s ago
    assert cache.get(k(9)) is None
    other = Cache(config, clock=clock)
    assert other.get(k(9)) is None  # the disk entry is past its time too
    assert not (tmp_path / "entries" / f"{k(9)}.safetensors").exists()
    assert cache.stats().expired == 1 and other.stats().expired == 0  # the first dropped it


def test_expired_entries_are_evicted_by_the_next_write(tmp_path: Path) -> None:
    clock = Clock()
    cache = disk_cache(tmp_path, clock, ttl=10)
    cache.put(k(0), tensors(0))
    clock.now += 11
    cache.put(k(1), tensors(1))
    assert {f.key for f in cache.disk.scan()} == {k(1)}


def test_full_disk_degrades_to_memory_with_one_warning(tmp_path, monkeypatch) -> None:
    clock = Clock()
    cache = Cache(CacheConfig(directory=tmp_path, retry_after=30), clock=clock)

    def no_space(fd: int, data: bytes) -> None:
        os.write(fd, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store_module, "_write_all", no_space)
    with pytest.warns(CacheWarning, match="cannot write.*No space left"):
        cache.put(k(0), tensors(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.put(k(1), tensors(1))  # disk tier off for 30 s: no attempt, no warning
    assert same(cache.get(k(0)), tensors(0))  # served from memory
    assert os.listdir(tmp_path / "entries") == []  # no entry, no temporary file left
    assert cache.stats().write_errors == 1
    monkeypatch.undo()
    clock.now += 31
    cache.put(k(2), tensors(2))
    assert [f.key for f in cache.disk.scan()] == [k(2)]


def test_unusable_directory_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = Cache.at(blocker / "cache")
    with pytest.warns(CacheWarning, match="cannot write"):
        cache.put(k(0), tensors(0))
    assert same(cache.get(k(0)), tensors(0))
    with pytest.warns(CacheWarning, match="cannot read"):
        assert Cache.at(blocker / "cache").get(k(0)) is None


def test_counters_add_up_across_processes_in_stats_json(tmp_path: Path) -> None:
    with disk_cache(tmp_path) as first:
        first.put(k(0), tensors(0))
        first.get(k(0))
        first.get(k(1))
    with disk_cache(tmp_path) as second:
        second.get(k(0))
        second.get(k(2))
    total = read_counters(tmp_path)
    assert (total.hits, total.misses, total.writes) == (2, 2, 1)
    assert json.loads((tmp_path / "stats.json").read_text())["misses"] == 2


def test_verify_and_clear(tmp_path: Path) -> None:
    with Cache.at(tmp_path) as cache:
        for i in range(3):
            cache.put(k(i), tensors(i))
    tier = DiskTier(tmp_path)
    assert tier.verify() == (3, [])
    bad = tmp_path / "entries" / f"{k(1)}.safetensors"
    bad.write_bytes(bad.read_bytes()[:-5])
    atime = bad.stat().st_atime_ns
    checked, problems = tier.verify()
    assert checked == 3 and [p.path for p in problems] == [bad]
    assert bad.stat().st_atime_ns == atime  # checking is not a use
    total = sum(f.bytes for f in tier.scan())
    assert tier.clear() == (3, total)
    assert tier.scan() == [] and not (tmp_path / "stats.json").exists()


def test_orphaned_temporary_files_are_ignored_then_swept(tmp_path: Path) -> None:
    clock = Clock()
    cache = disk_cache(tmp_path, clock)
    cache.put(k(0), tensors(0))
    entries = tmp_path / "entries"
    orphan = entries / f".tmp-{k(1)[:16]}-999-dead"
    orphan.write_bytes(pack(k(1), tensors(1), created=clock.now)[:50])
    os.utime(orphan, (clock.now, clock.now))  # a writer killed just now
    assert cache.get(k(1)) is None and DiskTier(tmp_path).verify() == (1, [])
    clock.now += 3000
    cache.put(k(2), tensors(2))
    assert orphan.exists()  # 50 minutes: may still be a live writer
    clock.now += 700
    cache.put(k(3), tensors(3))
    assert not orphan.exists()


def test_limits_and_keys_are_validated() -> None:
    with pytest.raises(ConfigError, match="max_bytes 0"):
        TierLimits(max_bytes=0)
    with pytest.raises(ConfigError, match="64 hex"):
        Cache.at(None).get("../../etc/passwd")


def _index(directory: Path) -> tuple[int, int]:
    data = json.loads((directory / "usage.json").read_text())
    return data["bytes"], data["entries"]


def test_a_full_disk_tier_evicts_a_batch_of_the_least_recently_used(tmp_path: Path) -> None:
    clock = Clock()
    cache = disk_cache(tmp_path, clock, max_entries=10)  # evict_to 0.9: down to 9 entries
    for i in range(10):
        clock.now += 1
        cache.put(k(i), tensors(i))
    clock.now += 1
    assert cache.get(k(0)) is not None  # 0 is now the most recently used
    clock.now += 1
    cache.put(k(10), tensors(10))  # 11 > 10: one pass evicts 1 and 2 (the two oldest uses)
    kept = {f.key for f in cache.disk.scan()}
    assert kept == {k(i) for i in (0, *range(3, 11))}
    assert cache.stats().disk_evictions == 2


def test_writes_within_the_limits_never_scan_and_the_index_stays_exact(
    tmp_path: Path, monkeypatch
) -> None:
    scans = []
    real_scan = DiskTier.scan
    monkeypatch.setattr(DiskTier, "scan", lambda self: scans.append(1) or real_scan(self))
    clock = Clock()
    cache = disk_cache(tmp_path, clock, max_bytes=10**9)
    for i in range(30):
        clock.now += 1
        cache.put(k(i % 20), tensors(i, n=50 + i))  # 10 of them replace an entry
    assert len(scans) == 1  # the first write: no index yet
    files = real_scan(cache.disk)
    assert _index(tmp_path) == (sum(f.bytes for f in files), len(files)) and len(files) == 20


def test_a_lost_or_stale_index_is_rebuilt_by_a_scan(tmp_path: Path) -> None:
    clock = Clock()
    cache = disk_cache(tmp_path, clock, max_entries=5)
    for i in range(3):
        cache.put(k(i), tensors(i))
    (tmp_path / "usage.json").unlink()
    (tmp_path / "entries" / f"{k(0)}.safetensors").unlink()  # removed behind the cache's back
    cache.put(k(3), tensors(3))
    files = cache.disk.scan()
    assert _index(tmp_path) == (sum(f.bytes for f in files), 3)
    clock.now += 3601  # an hour without a scan: the next write re-syncs whatever happened
    (tmp_path / "entries" / f"{k(1)}.safetensors").unlink()
    cache.put(k(4), tensors(4))
    assert _index(tmp_path)[1] == 3


def test_dropped_entries_leave_the_index(tmp_path: Path) -> None:
    clock = Clock()
    config = CacheConfig(
        directory=tmp_path, memory=TierLimits(max_bytes=1), disk=TierLimits(ttl=60)
    )
    cache = Cache(config, clock=clock)
    cache.put(k(0), tensors(0))
    clock.now += 30
    cache.put(k(1), tensors(1))
    clock.now += 31  # k(0) expired: the read drops it, and the index follows
    assert cache.get(k(0)) is None
    assert _index(tmp_path) == ((tmp_path / "entries" / f"{k(1)}.safetensors").stat().st_size, 1)


def test_evict_to_is_validated() -> None:
    with pytest.raises(ConfigError, match="evict_to"):
        TierLimits(evict_to=1.5)
