"""The upstream limiter shared by every process on one database: the account's images per window,
one pause after a 429, and turns handed round-robin between members whatever process they came to.

Each process keeps its own fair queue (``bot.core.scheduling``); what it has waiting is written here
as one row per member (``turn_requests``: the images of that member's next request). ``Turns.take``
runs as one write under the limiter's lock, so every process sees one truth:

1. this process's waiting members are brought up to date (rows it no longer has are removed);
2. while a 429's pause lasts, nobody goes;
3. the next member is the one served longest ago (turns are numbered; never served: first), among
   the waiting members of processes whose lease is current — round-robin across processes;
4. if that member is this process's and their images fit in what the window has left, the images are
   counted (``turns_sent``), the member goes to the back of the round, and the turn is this process's.
   The member's row stays until this process next says what it has waiting (at the back of the
   round, where it holds nobody up), so a member with more requests queued keeps their place.

A turn that isn't this process's, or doesn't fit yet, says how long to wait (None: until something
changes). Every change is announced (PostgreSQL's NOTIFY) so waiting processes look again at once;
they also look again after ``POLL`` seconds whatever happens. Times are microseconds on the callers'
clocks (``now``): machines sharing a database keep their clocks in sync (NTP), and a skew of s
seconds between them moves the window's edge by s seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.store.database import Connection, Database

__all__ = ["CHANNEL", "LIMITER_LOCK", "POLL", "Turn", "Turns"]

CHANNEL = "bot_turns"  # NOTIFY channel: something changed, look again
LIMITER_LOCK = 0  # the write lock of the shared limiter (no server has id 0)
REMEMBERED_TURNS = 100_000  # members served longer ago than this many turns count as never served
POLL = 1.0  # seconds: look again at most this long after the last look, announced or not


@dataclass(frozen=True)
class Turn:
    """``member``: whose request may go now (this process's); else ``wait`` seconds (None: until a
    change is announced) before asking again."""

    member: str | None
    wait: float | None = None
    sent: int | None = None  # images every process sent within the window, where it was counted


class Turns:
    def __init__(self, database: Database, owner: str, *, images_per_window: int, window: float) -> None:
        if images_per_window < 1:
            raise ValueError("images_per_window must be at least 1")
        self._database = database
        self._owner = owner
        self.images_per_window = images_per_window
        self._window = round(window * 1_000_000)

    @property
    def owner(self) -> str:
        return self._owner

    async def take(self, waiting: Mapping[str, int], *, now: int, limit: int | None = None) -> Turn:
        """``waiting``: {member: images of their next request} of this process (empty: none).
        ``limit``: images per window when this process knows a lower one than configured (upstream's
        headers said so)."""
        images_cap = self.images_per_window if limit is None else max(1, min(limit, self.images_per_window))

        async def run(db: Connection) -> Turn:
            await self._register(db, waiting, now)
            if not waiting:
                return Turn(None)
            [(paused_until,)] = await db.execute_fetchall(
                "SELECT COALESCE(MAX(paused_until), 0) FROM turn_pause"
            )
            if paused_until > now:
                return Turn(None, (paused_until - now) / 1_000_000)
            start = now - self._window
            await db.execute("DELETE FROM turns_sent WHERE sent_at <= ?", (start,))
            nxt = await db.execute_fetchall(
                "SELECT r.owner, r.member, r.images FROM turn_requests AS r "
                "LEFT JOIN turn_members AS m ON m.member = r.member "
                "WHERE r.owner = ? OR r.owner IN (SELECT owner FROM instances WHERE lease_until >= ?) "
                "ORDER BY COALESCE(m.last_turn, -1), r.since, r.owner, r.member LIMIT 1",
                (self._owner, now),
            )
            if not nxt or nxt[0][0] != self._owner:
                return Turn(None)  # another process's member is next: its announcement wakes us
            _, member, images = nxt[0]
            images = min(int(images), images_cap)
            sent = await db.execute_fetchall("SELECT sent_at, images FROM turns_sent ORDER BY sent_at")
            used = sum(int(n) for _, n in sent)
            if used + images > images_cap:
                freed, wait_until = 0, now
                for sent_at, n in sent:  # the oldest leave the window first
                    freed += int(n)
                    wait_until = int(sent_at) + self._window
                    if used - freed + images <= images_cap:
                        break
                return Turn(None, max(0.0, (wait_until - now) / 1_000_000), used)
            await db.execute("INSERT INTO turns_sent (sent_at, images) VALUES (?, ?)", (now, images))
            await db.execute(  # "WHERE true": SQLite's parser needs it before ON CONFLICT
                "INSERT INTO turn_members (member, last_turn) "
                "SELECT ?, COALESCE(MAX(last_turn), 0) + 1 FROM turn_members WHERE true "
                "ON CONFLICT (member) DO UPDATE SET last_turn = excluded.last_turn",
                (member,),
            )
            await db.execute(
                "DELETE FROM turn_members WHERE last_turn < (SELECT MAX(last_turn) FROM turn_members) - ?",
                (REMEMBERED_TURNS,),
            )
            await self._announce(db)
            return Turn(str(member), sent=used + images)

        return await self._database.write(run, lock=LIMITER_LOCK)

    async def _register(self, db: Connection, waiting: Mapping[str, int], now: int) -> None:
        rows = await db.execute_fetchall(
            "SELECT member, images FROM turn_requests WHERE owner = ?", (self._owner,)
        )
        known = {str(member): int(images) for member, images in rows}
        gone = [member for member in known if member not in waiting]
        for member in gone:
            await self._forget(db, member)
        changed = False
        for member, images in waiting.items():
            if member not in known:
                await db.execute(
                    "INSERT INTO turn_requests (owner, member, images, since) VALUES (?, ?, ?, ?)",
                    (self._owner, member, max(1, images), now),
                )
                changed = True
            elif known[member] != images:
                await db.execute(
                    "UPDATE turn_requests SET images = ? WHERE owner = ? AND member = ?",
                    (max(1, images), self._owner, member),
                )
        if gone or changed:
            await self._announce(db)

    async def pause(self, seconds: float, *, now: int) -> None:
        """Nobody goes for ``seconds`` (a 429 seen by one process holds them all)."""
        until = now + round(seconds * 1_000_000)

        async def run(db: Connection) -> None:
            await db.execute(
                "INSERT INTO turn_pause (id, paused_until) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET "
                "paused_until = CASE WHEN excluded.paused_until > turn_pause.paused_until "
                "THEN excluded.paused_until ELSE turn_pause.paused_until END",
                (until,),
            )
            await self._announce(db)

        await self._database.write(run, lock=LIMITER_LOCK)

    async def withdraw(self) -> None:
        """This process has nobody waiting any more (its queue emptied, or it is stopping)."""

        async def run(db: Connection) -> None:
            if await db.execute("DELETE FROM turn_requests WHERE owner = ?", (self._owner,)):
                await self._announce(db)

        await self._database.write(run, lock=LIMITER_LOCK)

    async def sent(self, *, now: int) -> int:
        """Images sent by every process within the window ending ``now``."""
        rows = await self._database.read(
            lambda db: db.execute_fetchall(
                "SELECT COALESCE(SUM(images), 0) FROM turns_sent WHERE sent_at > ?", (now - self._window,)
            )
        )
        return int(rows[0][0])

    async def waiting(self) -> dict[str, list[str]]:
        """{process: members it has waiting}, as every process sees it."""
        rows = await self._database.read(
            lambda db: db.execute_fetchall("SELECT owner, member FROM turn_requests ORDER BY owner, member")
        )
        found: dict[str, list[str]] = {}
        for owner, member in rows:
            found.setdefault(str(owner), []).append(str(member))
        return found

    async def _forget(self, db: Connection, member: str) -> None:
        await db.execute("DELETE FROM turn_requests WHERE owner = ? AND member = ?", (self._owner, member))

    async def _announce(self, db: Connection) -> None:
        await self._database.announce(db, CHANNEL)
