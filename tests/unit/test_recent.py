"""db/recent.py: what a container keeps of the items it read lately (issue 17), without a table.

The guarantees the identity cache rests on: an entry is never served past its window (nor
when the clock went back), a change this container made is never hidden by a read that
overlapped it or by an eventually consistent read made just after it, and the store stays
bounded."""

from __future__ import annotations

from chalicelib.db.recent import Recent


def test_an_entry_is_served_within_its_window_and_read_again_after_it():
    store: Recent[str, str] = Recent(10)
    reads: list[bool] = []

    def read(consistent: bool) -> str:
        reads.append(consistent)
        return f"v{len(reads)}"

    assert store.get_or_read("a", 100.0, 30, read) == ("v1", False)
    assert store.get_or_read("a", 129.9, 30, read) == ("v1", True)
    assert store.get_or_read("a", 130.0, 30, read) == ("v2", False)  # the window has passed
    assert store.get_or_read("a", 99.0, 30, read) == ("v3", False)  # a clock that went back
    assert reads == [False, False, False]


def test_after_a_forget_the_next_read_is_consistent_and_an_eventually_consistent_one_is_not_kept():
    store: Recent[str, str] = Recent(10)
    store.put("a", "old", 100.0)
    store.forget("a")
    assert store.get("a", 101.0, 30) is None
    since, changed_here = store.mark("a")
    assert changed_here
    store.put("a", "maybe old", 101.0, since, consistent=False)  # e.g. the access counters' batch
    assert store.get("a", 101.0, 30) is None
    seen: list[bool] = []
    assert store.get_or_read("a", 102.0, 30, lambda c: seen.append(c) or "new") == ("new", False)
    assert seen == [True]
    assert store.get("a", 103.0, 30) == "new"
    assert store.mark("a") == (store.mark("b")[0], False)  # no longer marked as changed here


def test_a_read_that_overlapped_a_change_is_returned_but_not_kept():
    store: Recent[str, str] = Recent(10)

    def read_while_changed(consistent: bool) -> str:
        store.forget("a")  # another thread of this container wrote the item meanwhile
        return "read before the change"

    assert store.get_or_read("a", 100.0, 30, read_while_changed) == ("read before the change", False)
    assert store.get("a", 100.0, 30) is None


def test_keys_are_kept_apart_and_the_store_is_bounded():
    store: Recent[tuple[str, str], str] = Recent(3)
    store.put(("school-a", "u1"), "a/u1", 100.0)
    store.put(("school-b", "u1"), "b/u1", 100.0)
    assert store.get(("school-a", "u1"), 100.0, 30) == "a/u1"
    assert store.get(("school-b", "u1"), 100.0, 30) == "b/u1"
    for i in range(5):
        store.put(("school-c", f"u{i}"), "c", 100.0)
    assert len(store) == 3
    assert store.get(("school-a", "u1"), 100.0, 30) is None  # the least recently used went first
