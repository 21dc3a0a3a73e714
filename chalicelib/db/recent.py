"""Items read lately by this container, kept for a few seconds (a Lambda container lives for
minutes and serves one request at a time; `chalice local` may serve several at once).

One `Recent` per kind of item (the caller's user, a tenant, a tenant's configuration),
bounded (the least recently used entry goes first), keyed by whatever names the item,
always including its tenant. The caller says what time it is and how old an entry may be
(the domain's clock and window: `chalicelib/domain/auth.py`), so nothing here decides
freshness. The repository that writes an item `forget`s it after the write, so this
container sees its own changes at once; another container sees them once its entry is
older than the window.

Two races are closed here:
- a read that overlapped a `forget` (the item changed while it was read) is returned but
  not kept, so an entry is never older than the last change this container made;
- a forgotten key leaves a marker until it is read again, and that read is asked to be
  strongly consistent (`read(True)`): an eventually consistent read just after our own
  write could return the item as it was before it and keep it for a whole window.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, size: int):
        self.size = size
        # key -> (item, when read); item None: changed here lately, read it again strongly
        self._entries: OrderedDict[K, tuple[V | None, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._changes = 0  # moves on every forget: a read begun before one is not kept

    def get(self, key: K, now: float, within: float) -> V | None:
        """The entry if it was read in the last `within` seconds before `now` (a clock that went
        back, as tests' frozen clocks do, makes it stale too)."""
        with self._lock:
            value, read_at = self._entries.get(key, (None, 0.0))
            if value is None or not 0 <= now - read_at < within:
                return None
            self._entries.move_to_end(key)
            return value

    def get_or_read(self, key: K, now: float, within: float, read: Callable[[bool], V | None]) -> tuple[V | None, bool]:
        """(the entry, True) when it is recent enough, else (read(consistent), False), kept
        unless None; `consistent` is True when this container changed the item lately."""
        value = self.get(key, now, within)
        if value is not None:
            return value, True
        since, consistent = self.mark(key)
        value = read(consistent)
        if value is not None:
            self.put(key, value, now, since, consistent=consistent)
        return value, False

    def mark(self, key: K) -> tuple[int, bool]:
        """Taken before a read whose result is `put`: (the change count, which a change forgotten
        meanwhile moves; whether this container changed the item lately)."""
        with self._lock:
            changed_here = key in self._entries and self._entries[key][0] is None
            return self._changes, changed_here

    def put(self, key: K, value: V, now: float, since: int | None = None, *, consistent: bool = True) -> None:
        """Keeps what was read at `now`, unless something was forgotten since `since` (the read
        may hold the old item), or it was an eventually consistent read of an item this
        container changed lately (it may be from before that change)."""
        with self._lock:
            if since is not None and since != self._changes:
                return
            if not consistent and key in self._entries and self._entries[key][0] is None:
                return
            self._store(key, (value, now))

    def forget(self, key: K) -> None:
        with self._lock:
            self._changes += 1
            self._store(key, (None, 0.0))

    def clear(self) -> None:
        with self._lock:
            self._changes += 1
            self._entries.clear()

    def _store(self, key: K, entry: tuple[V | None, float]) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
