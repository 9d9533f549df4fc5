"""This process's lease, and the jobs of processes that vanished (see ``bot.store.recovery``).

Every ``renew_every`` seconds: renew this process's lease for ``lease`` seconds, then refund the
jobs of any process whose lease ran out and tell their owners, in the channels they asked in, that
nothing was charged. Posting goes through Discord's REST API by channel id, so a process can tell
members of servers another shard serves. At a clean stop the lease is given up. Leases are kept on
PostgreSQL, where processes on several machines share the database; a SQLite file belongs to one
machine, where each process refunds its own jobs when it starts again.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

import discord
from discord.ext import commands, tasks

from bot.core import text
from bot.core.pipeline import utcnow
from bot.metrics import Metrics
from bot.store import Store

__all__ = ["LeaseKeeper", "tell_interrupted"]

log = logging.getLogger(__name__)


async def tell_interrupted(bot: commands.Bot, jobs: Iterable[tuple[int | None, int]]) -> None:
    """Tell each (channel, member) that their interrupted jobs cost nothing (one line per member)."""
    for (channel_id, user_id), count in Counter(jobs).items():
        if not channel_id:
            continue
        channel = bot.get_channel(channel_id) or bot.get_partial_messageable(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            continue
        with contextlib.suppress(discord.HTTPException):
            await channel.send(
                text.restart_notice(user_id, count),
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(user_id)]),
            )


class LeaseKeeper:
    def __init__(self, bot: commands.Bot, store: Store, metrics: Metrics, *, lease: float) -> None:
        self._bot = bot
        self._store = store
        self._metrics = metrics
        self.lease = timedelta(seconds=lease)
        self.loop = tasks.loop(seconds=max(1.0, lease / 3))(self._tick)

    async def start(self) -> None:
        """Take the lease (before any job is reserved), then keep it."""
        await self._store.renew_lease(now=utcnow(), lease=self.lease)
        self.loop.start()

    async def stop(self) -> None:
        self.loop.cancel()
        with contextlib.suppress(Exception):  # the store may be gone already: the lease runs out
            await self._store.end_lease()

    async def _tick(self) -> None:
        try:
            await self._store.renew_lease(now=utcnow(), lease=self.lease)
            vanished = await self._store.refund_vanished(now=utcnow())
        except Exception:
            log.warning("couldn't renew this process's lease; trying again", exc_info=True)
            return
        if vanished:
            self._metrics.images(refunded=sum(job.amount for job in vanished))
            await self._bot.wait_until_ready()
            await tell_interrupted(self._bot, [(job.channel_id, job.user_id) for job in vanished])
