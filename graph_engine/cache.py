"""The result cache: node outputs by cache key, with a byte budget and LRU eviction.

It lives as long as the executor that owns it (across runs), is safe to inspect from
another thread while a run is going, and remembers which keys it evicted so that
`explain` can tell "evicted" from "never computed".
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graph_engine.values import TensorVersions


@dataclass
class CacheEntry:
    key: str
    node_type: str
    outputs: dict[str, Any]
    nbytes: int
    versions: TensorVersions = ()  # tensor versions when stored, to catch in-place edits
    created: float = field(default_factory=time.time)
    hits: int = 0


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int | None
    hits: int
    misses: int
    evictions: int
    enabled: bool


@dataclass(frozen=True)
class CacheEntryInfo:
    key: str
    node_type: str
    nbytes: int
    hits: int
    age_s: float


def default_budget() -> int:
    """Half of physical memory (8 GiB where the platform does not say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


class ResultCache:
    """LRU over node results, bounded by `max_bytes` (None: unbounded)."""

    def __init__(self, max_bytes: int | None = None, *, enabled: bool = True, remember_evicted: int = 100_000) -> None:
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._evicted: OrderedDict[str, None] = OrderedDict()
        self._remember_evicted = remember_evicted
        self._lock = threading.Lock()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._hits = 0
        self._misses = 0
        self._evictions = 0
        self.enabled = enabled

    # ---- used by the executor -------------------------------------------------------

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry for `key` (marked most recently used), counting a hit or a miss."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            entry.hits += 1
            self._hits += 1
            return entry

    def __contains__(self, key: str) -> bool:
        return self.enabled and key in self._entries

    def store(self, entry: CacheEntry) -> bool:
        """Keep `entry`, evicting least recently used entries to stay within budget.

        Returns False (and keeps nothing) when disabled or when the entry alone exceeds
        the budget: evicting everything for a value that cannot fit would be pointless.
        """
        if not self.enabled or (self._max_bytes is not None and entry.nbytes > self._max_bytes):
            return False
        with self._lock:
            previous = self._entries.pop(entry.key, None)
            if previous is not None:
                self._bytes -= previous.nbytes
            self._entries[entry.key] = entry
            self._bytes += entry.nbytes
            self._evicted.pop(entry.key, None)
            self._evict_to_budget()
        return True

    def discard(self, key: str) -> None:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry.nbytes

    def was_evicted(self, key: str) -> bool:
        return key in self._evicted

    def _evict_to_budget(self) -> None:
        while self._max_bytes is not None and self._bytes > self._max_bytes and self._entries:
            key, entry = self._entries.popitem(last=False)
            self._bytes -= entry.nbytes
            self._evictions += 1
            self._evicted[key] = None
            if len(self._evicted) > self._remember_evicted:
                self._evicted.popitem(last=False)

    # ---- inspection and control -----------------------------------------------------

    @property
    def max_bytes(self) -> int | None:
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int | None) -> None:
        with self._lock:
            self._max_bytes = value
            self._evict_to_budget()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                entries=len(self._entries),
                bytes=self._bytes,
                max_bytes=self._max_bytes,
                hits=self._hits,
                misses=self._misses,
                evictions=self._evictions,
                enabled=self.enabled,
            )

    def entries(self) -> list[CacheEntryInfo]:
        """Entries from least to most recently used."""
        now = time.time()
        with self._lock:
            return [
                CacheEntryInfo(entry.key, entry.node_type, entry.nbytes, entry.hits, now - entry.created)
                for entry in self._entries.values()
            ]

    def clear(self) -> None:
        """Drop every entry (statistics are kept)."""
        with self._lock:
            self._entries.clear()
            self._evicted.clear()
            self._bytes = 0
