"""The fair order of waiting upstream requests: round-robin between members, O(log n) per change.

Whoever was served longest ago goes first (members never served before, in arrival order), and each
member's own requests in their order. A member can be parked (their share of the window is used for
now): they keep their place in ``order`` but ``peek`` skips them until unparked. A heap of
members keyed by (last turn served, their first waiting request's arrival) gives the head in
O(log n); stale heap entries are skipped by version.
Nothing here imports discord or asyncio.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar


class Queued(Protocol):
    @property
    def user(self) -> Hashable: ...

    @property
    def seq(self) -> int: ...


W = TypeVar("W", bound=Queued)

__all__ = ["FairQueue"]


class FairQueue(Generic[W]):
    def __init__(self) -> None:
        self._by_user: dict[Hashable, deque[W]] = {}
        self._heap: list[tuple[int, int, int, Hashable]] = []  # (last served, first seq, version, user)
        self._version: dict[Hashable, int] = {}
        self._last_served: dict[Hashable, int] = {}
        self._turns = itertools.count()
        self._size = 0
        self._parked: set[Hashable] = set()

    def __len__(self) -> int:
        return self._size

    def push(self, item: W) -> None:
        queue = self._by_user.setdefault(item.user, deque())
        queue.append(item)
        self._size += 1
        if len(queue) == 1:
            self._index(item.user)

    def peek(self) -> W | None:
        """The next to serve (nothing changes)."""
        while self._heap:
            _, _, version, user = self._heap[0]
            if self._version.get(user) == version and user in self._by_user:
                return self._by_user[user][0]
            heapq.heappop(self._heap)  # stale: the member's head changed or left
        return None

    def pop(self) -> W | None:
        """Serve the next: it leaves the queue and its member goes to the back of the round."""
        item = self.peek()
        if item is None:
            return None
        heapq.heappop(self._heap)
        self.serve(item)
        return item

    def serve(self, item: W) -> None:
        """Serve ``item``, the first of its member's (chosen elsewhere: another process's queue may
        have decided whose turn it is): it leaves, and its member goes to the back of the round."""
        queue = self._by_user.get(item.user)
        if not queue or queue[0] is not item:
            raise ValueError("only a member's first waiting item can be served")
        self._last_served[item.user] = next(self._turns)
        self._drop_first(item.user)

    def heads(self) -> list[W]:
        """The first waiting item of each member not parked, in serving order."""
        users = sorted((user for user in self._by_user if user not in self._parked), key=self._key)
        return [self._by_user[user][0] for user in users]

    def remove(self, item: W) -> bool:
        """Withdraw ``item`` (a member has only a few requests waiting: O(that) + O(log n))."""
        queue = self._by_user.get(item.user)
        if queue is None or item not in queue:
            return False
        if queue[0] is item:
            self._drop_first(item.user)
        else:
            queue.remove(item)
            self._size -= 1
        return True

    def park(self, user: Hashable) -> None:
        """Skip ``user``'s requests in ``peek`` and ``pop`` until ``unpark``."""
        if user in self._by_user and user not in self._parked:
            self._parked.add(user)
            self._version[user] += 1  # their heap entry goes stale

    def unpark(self, user: Hashable) -> None:
        if user in self._parked:
            self._parked.discard(user)
            if user in self._by_user:
                self._index(user)

    @property
    def parked(self) -> frozenset[Hashable]:
        return frozenset(self._parked)

    def order(self) -> list[W]:
        """Every waiting item in serving order (O(n log m) for m members; for showing places)."""
        users = sorted(self._by_user, key=self._key)
        queues = [self._by_user[user] for user in users]
        depth = max((len(queue) for queue in queues), default=0)
        return [queue[i] for i in range(depth) for queue in queues if i < len(queue)]

    def _drop_first(self, user: Hashable) -> None:
        queue = self._by_user[user]
        queue.popleft()
        self._size -= 1
        if queue:
            self._index(user)
        else:
            del self._by_user[user]
            self._parked.discard(user)
            self._version[user] += 1  # versions only grow: an old entry can never look current

    def _key(self, user: Hashable) -> tuple[int, int]:
        return self._last_served.get(user, -1), self._by_user[user][0].seq

    def _index(self, user: Hashable) -> None:
        version = self._version.get(user, 0) + 1
        self._version[user] = version
        if user not in self._parked:
            heapq.heappush(self._heap, (*self._key(user), version, user))
