"""A server's own settings in the store: its budget, its rules on models and options (cached per
server) and its log channel."""

from __future__ import annotations

from datetime import datetime

from bot.store import budgets
from bot.store.budgets import Budget, BudgetStatus
from bot.store.database import Connection, Database
from bot.store.ledger import Ledger
from bot.store.periods import as_utc
from bot.store.quotas import check_id, check_int


class ServerSettings:
    """The server-settings half of ``Store`` (mixed in; see ``bot.store.store``)."""

    _database: Database
    ledger: Ledger
    _rules: dict[int, tuple[frozenset[str], str | None, int | None]]

    async def server_rules(self, guild_id: int) -> tuple[frozenset[str], str | None, int | None]:
        """(denied models, quality ceiling, pixel ceiling) of the server; read once, then cached
        (this process's changes update it)."""
        check_id("guild_id", guild_id)
        cached = self._rules.get(guild_id)
        if cached is not None:
            return cached

        async def run(db: Connection) -> tuple[frozenset[str], str | None, int | None]:
            denied = await db.execute_fetchall(
                "SELECT model FROM denied_models WHERE guild_id = ?", (guild_id,)
            )
            ceilings = list(
                await db.execute_fetchall(
                    "SELECT max_quality, max_pixels FROM option_ceilings WHERE guild_id = ?", (guild_id,)
                )
            )
            quality, pixels = ceilings[0] if ceilings else (None, None)
            return frozenset(str(model) for (model,) in denied), quality, pixels

        found = await self._database.read(run)
        self._rules[guild_id] = found
        return found

    async def set_model_denied(self, guild_id: int, model: str, denied: bool) -> None:
        check_id("guild_id", guild_id)

        async def run(db: Connection) -> None:
            if denied:
                await db.execute(
                    "INSERT INTO denied_models (guild_id, model) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (guild_id, model),
                )
            else:
                await db.execute(
                    "DELETE FROM denied_models WHERE guild_id = ? AND model = ?", (guild_id, model)
                )

        await self._database.write(run)
        self._rules.pop(guild_id, None)

    async def set_ceilings(self, guild_id: int, *, max_quality: str | None, max_pixels: int | None) -> None:
        """The server's ceilings on quality and size (None: no ceiling)."""
        check_id("guild_id", guild_id)
        if max_pixels is not None:
            check_int("max_pixels", max_pixels, 1, 100_000_000)

        async def run(db: Connection) -> None:
            await db.execute(
                "INSERT INTO option_ceilings (guild_id, max_quality, max_pixels) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET max_quality = excluded.max_quality, "
                "max_pixels = excluded.max_pixels",
                (guild_id, max_quality, max_pixels),
            )

        await self._database.write(run)
        self._rules.pop(guild_id, None)

    async def set_budget(self, guild_id: int, budget: Budget | None, *, now: datetime) -> BudgetStatus | None:
        """Set (or, with None, clear) the server's budget; its status now."""
        check_id("guild_id", guild_id)

        async def run(db: Connection) -> None:
            await budgets.set_budget(db, guild_id, budget)

        await self._database.write(run)
        self.ledger.forget(guild_id)
        return await self.budget_status(guild_id, now=now)

    async def budget_status(self, guild_id: int, *, now: datetime) -> BudgetStatus | None:
        check_id("guild_id", guild_id)
        return await self._database.read(lambda db: budgets.status(db, guild_id, as_utc(now)))

    async def set_log_channel(self, guild_id: int, channel_id: int | None) -> None:
        check_id("guild_id", guild_id)

        async def run(db: Connection) -> None:
            if channel_id is None:
                await db.execute("DELETE FROM log_channels WHERE guild_id = ?", (guild_id,))
            else:
                await db.execute(
                    "INSERT INTO log_channels (guild_id, channel_id) VALUES (?, ?) "
                    "ON CONFLICT (guild_id) DO UPDATE SET channel_id = excluded.channel_id",
                    (guild_id, check_id("channel_id", channel_id)),
                )

        await self._database.write(run)

    async def log_channel(self, guild_id: int) -> int | None:
        async def run(db: Connection) -> int | None:
            rows = list(
                await db.execute_fetchall(
                    "SELECT channel_id FROM log_channels WHERE guild_id = ?", (guild_id,)
                )
            )
            return int(rows[0][0]) if rows else None

        return await self._database.read(run)
