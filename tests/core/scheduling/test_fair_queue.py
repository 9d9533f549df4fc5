"""The fair queue on its own: round-robin between members, withdrawals, stale heap entries."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.scheduling.fair_queue import FairQueue


@dataclass(eq=False)
class Item:
    user: str
    seq: int


def reference_order(waiting: list[Item], last_served: dict[str, int]) -> list[Item]:
    """The order written plainly: members by (last served, first arrival), then round by round."""
    by_user: dict[str, list[Item]] = {}
    for item in sorted(waiting, key=lambda i: i.seq):
        by_user.setdefault(item.user, []).append(item)
    users = sorted(by_user, key=lambda u: (last_served.get(u, -1), by_user[u][0].seq))
    depth = max((len(v) for v in by_user.values()), default=0)
    return [by_user[u][i] for i in range(depth) for u in users if i < len(by_user[u])]


def test_members_take_turns_and_a_served_member_goes_to_the_back():
    queue: FairQueue[Item] = FairQueue()
    items = [Item("a", 0), Item("a", 1), Item("a", 2), Item("b", 3), Item("c", 4)]
    for item in items:
        queue.push(item)
    assert [queue.pop().seq for _ in range(5)] == [0, 3, 4, 1, 2]
    assert queue.pop() is None and len(queue) == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["push", "pop", "remove"]), st.sampled_from("abcd"), st.integers(0, 5))
    )
)
def test_the_queue_serves_in_the_reference_order_whatever_happens(operations):
    queue: FairQueue[Item] = FairQueue()
    waiting: list[Item] = []
    last_served: dict[str, int] = {}
    turn = 0
    for seq, (operation, user, pick) in enumerate(operations):
        if operation == "push":
            item = Item(user, seq)
            queue.push(item)
            waiting.append(item)
        elif operation == "pop":
            expected = reference_order(waiting, last_served)
            served = queue.pop()
            assert served is (expected[0] if expected else None)
            if served is not None:
                waiting.remove(served)
                last_served[served.user], turn = turn, turn + 1
        elif waiting:
            item = waiting[pick % len(waiting)]
            assert queue.remove(item) and not queue.remove(item)
            waiting.remove(item)
        assert queue.order() == reference_order(waiting, last_served)
        assert len(queue) == len(waiting)


def test_a_parked_member_is_skipped_until_unparked_and_keeps_their_place():
    queue: FairQueue[Item] = FairQueue()
    for item in [Item("a", 0), Item("a", 1), Item("b", 2), Item("c", 3)]:
        queue.push(item)

    queue.park("a")
    assert queue.peek().seq == 2
    assert [i.seq for i in queue.order()] == [0, 2, 3, 1]  # still shown where round-robin puts them
    assert queue.pop().seq == 2

    queue.unpark("a")
    assert [queue.pop().seq for _ in range(3)] == [0, 3, 1]


def test_a_parked_member_who_leaves_is_no_longer_parked():
    queue: FairQueue[Item] = FairQueue()
    only = Item("a", 0)
    queue.push(only)
    queue.park("a")
    assert queue.peek() is None and len(queue) == 1

    assert queue.remove(only)
    assert queue.parked == frozenset() and len(queue) == 0
    queue.push(Item("a", 1))
    assert queue.peek().seq == 1
