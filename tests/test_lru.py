"""Tests of the bounded table under both process-wide caches (_lru.py)."""

import threading

from sklearn_mbm._caching._lru import BoundedLRU


class _Bytes(BoundedLRU):
    @staticmethod
    def _entry_bytes(entry):
        return len(entry)

    def put(self, key, value):
        if self.keeps(len(value)):
            with self._lock:
                self._store(key, value)


def test_drops_least_recently_used_over_bytes():
    table = _Bytes(max_bytes=40)
    for key in "abcd":
        table.put(key, b"x" * 10)
    with table._lock:
        table._touch("a")  # "b" is now the oldest
    table.put("e", b"x" * 10)
    assert list(table._entries) == ["c", "d", "a", "e"]
    assert table.nbytes == 40 == sum(len(v) for v in table._entries.values())


def test_drops_over_entries_and_replaces_in_place():
    table = _Bytes(max_bytes=1000, max_entries=2)
    table.put("a", b"12")
    table.put("a", b"1234")  # a replacement, not a second entry
    assert len(table) == 1 and table.nbytes == 4
    table.put("b", b"1")
    table.put("c", b"1")
    assert list(table._entries) == ["b", "c"] and table.nbytes == 2


def test_refuses_entries_over_a_quarter_and_zero_keeps_nothing():
    table = _Bytes(max_bytes=40)
    table.put("big", b"x" * 11)
    assert len(table) == 0 and table.nbytes == 0
    nothing = _Bytes(max_bytes=0)
    nothing.put("a", b"")
    assert len(nothing) == 0


def test_remove_when_and_clear():
    table = _Bytes(max_bytes=100)
    table.put("a", b"old")
    with table._lock:
        table._remove("a", when=lambda entry: entry == b"new")
    assert len(table) == 1  # a stale removal leaves the current entry
    with table._lock:
        table._remove("a", when=lambda entry: entry == b"old")
        table._remove("absent")
    assert len(table) == 0 and table.nbytes == 0
    table.put("b", b"1")
    table.clear()
    assert len(table) == 0 and table.nbytes == 0


def test_after_fork_gives_a_new_lock():
    table = _Bytes(max_bytes=10)
    held = table._lock
    held.acquire()
    table._after_fork()
    assert table._lock is not held and table._lock.acquire(timeout=1)
    assert isinstance(table._lock, type(threading.Lock()))
    assert table.process_wide() is table
