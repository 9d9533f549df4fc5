"""A member's share of the rate window: a bucket of half the window, refilled at the steady rate."""

from __future__ import annotations

import pytest

from bot.core.scheduling.member_share import MemberShare


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def share(budget: int = 10, window: float = 60.0) -> tuple[MemberShare, Clock]:
    clock = Clock()
    return MemberShare(lambda: budget, window, clock), clock


def test_a_member_may_take_half_the_window_at_once_then_the_steady_rate():
    members, clock = share(budget=10, window=60.0)
    for _ in range(5):
        assert members.delay("alice", 1) == 0
        members.record("alice", 1)

    assert members.delay("alice", 1) == pytest.approx(6.0)  # 10 images a minute: one per 6 s
    assert members.delay("bob", 5) == 0  # others draw on their own share

    clock.now = 6.0
    assert members.delay("alice", 1) == 0


def test_a_request_larger_than_a_share_goes_with_a_full_bucket():
    members, _ = share(budget=10, window=60.0)
    assert members.delay("alice", 8) == 0
    members.record("alice", 8)

    assert members.delay("alice", 8) == pytest.approx(8 * 6.0)  # from -3 back up to the full 5


def test_members_are_forgotten_once_their_bucket_is_full_again():
    members, clock = share(budget=10, window=60.0)
    members.record("alice", 3)
    assert len(members) == 1

    clock.now = 18.0
    assert members.delay("alice", 1) == 0
    assert len(members) == 0


def test_the_share_follows_the_window_when_the_account_limit_changes():
    budget = [10]
    clock = Clock()
    members = MemberShare(lambda: budget[0], 60.0, clock)
    budget[0] = 4
    assert members.capacity() == 2
