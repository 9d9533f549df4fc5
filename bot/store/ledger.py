"""What this process last read of each member's quota, so admission can be foreseen without I/O.

The database stays the authority: a reservation is only ever made by ``Store.reserve`` inside its
transaction. The ledger answers a cheaper question first — "will that reservation most likely
succeed?" — so the Discord side can acknowledge an interaction at once instead of waiting behind a
burst of reservations for the database (see ``bot.ui.entry``).

It holds, per server, the exact status the store read or wrote last for each member with usage,
grants or an override this period, and the status of everyone else (nothing used yet). Every write
this process makes through the store refreshes it; admin changes without a status to hand forget the
server (it is read again with the next reservation); a new period forgets it too. Writes by another
process sharing the database are not seen: the forecast may then be wrong in either direction, which
costs the order of replies, never a quota (the reservation decides).

``pend`` counts images foreseen but not yet reserved, so two commands of one member in the same
instant are not both foreseen to fit in one remaining image.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.store.quotas import QuotaStatus

__all__ = ["Ledger"]


@dataclass
class _Book:
    everyone: QuotaStatus  # the status of a member with nothing recorded this period (user_id 0)
    members: dict[int, QuotaStatus]
    pending: dict[int, int] = field(default_factory=dict)

    def status(self, user_id: int) -> QuotaStatus:
        found = self.members.get(user_id)
        return found if found is not None else replace(self.everyone, user_id=user_id)


class Ledger:
    def __init__(self) -> None:
        self._books: dict[int, _Book] = {}
        #: servers with a budget or quotas by role: admission there is never foreseen
        self._unforeseeable: set[int] = set()

    def foreseeable(self, guild_id: int, yes: bool) -> None:
        """Whether the server's admissions can be foreseen from quotas alone: not when it has a
        budget in money or quotas by role (as its last reservation found)."""
        if yes:
            self._unforeseeable.discard(guild_id)
        else:
            self._unforeseeable.add(guild_id)

    def knows(self, guild_id: int, now: datetime) -> bool:
        book = self._books.get(guild_id)
        return book is not None and now < book.everyone.resets_at

    def forecast(self, guild_id: int, user_id: int, amount: int, *, now: datetime) -> bool | None:
        """Whether reserving ``amount`` images would succeed, by what this process knows; None if it
        doesn't know the server's current period, or the server has a budget (what a job may cost
        is decided in the reservation's transaction, against every other process's spending) or
        quotas by role (a member's limit depends on roles the ledger doesn't keep)."""
        if not self.knows(guild_id, now) or guild_id in self._unforeseeable:
            return None
        book = self._books[guild_id]
        return amount <= book.status(user_id).remaining - book.pending.get(user_id, 0)

    def pend(self, guild_id: int, user_id: int, amount: int) -> None:
        """Count ``amount`` as about to be reserved (call ``unpend`` once the reservation ends)."""
        book = self._books.get(guild_id)
        if book is not None:
            book.pending[user_id] = book.pending.get(user_id, 0) + amount

    def unpend(self, guild_id: int, user_id: int, amount: int) -> None:
        book = self._books.get(guild_id)
        if book is None:
            return
        left = book.pending.get(user_id, 0) - amount
        if left > 0:
            book.pending[user_id] = left
        else:
            book.pending.pop(user_id, None)

    def load(self, everyone: QuotaStatus, members: dict[int, QuotaStatus]) -> None:
        """A server's whole picture for the current period, read in one transaction."""
        old = self._books.get(everyone.guild_id)
        self._books[everyone.guild_id] = _Book(everyone, dict(members), old.pending if old else {})

    def learn(self, status: QuotaStatus) -> None:
        """A member's exact status, just read or written by this process."""
        book = self._books.get(status.guild_id)
        if book is None:
            return
        if status.resets_at != book.everyone.resets_at or status.period != book.everyone.period:
            self.forget(status.guild_id)  # the server's period changed: read it whole again
            return
        book.members[status.user_id] = status

    def forget(self, guild_id: int | None = None) -> None:
        """Drop what is known of one server (or of all): it is read again when next needed."""
        if guild_id is None:
            self._books.clear()
            self._unforeseeable.clear()
        else:
            self._books.pop(guild_id, None)
            self._unforeseeable.discard(guild_id)
