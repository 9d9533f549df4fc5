"""The discord.py bot: start-up, command sync, restart notices, quota warm-up, clean shutdown.

It receives every service ready made (``bot.app.create_bot`` builds them, the cogs and the buttons)
and owns them from then on: ``close`` finishes the running jobs and closes the services.
``build_bot`` makes an ``ImageBot`` (one gateway connection) or, with SHARD_COUNT, a
``ShardedImageBot``: the same bot as discord.py's ``AutoShardedBot`` on the shards SHARD_IDS.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.config import Config
from bot.core import text
from bot.core.pipeline import JobRunner, utcnow
from bot.images import ImagesClient, ModelRegistry
from bot.metrics import Metrics
from bot.monitor import Monitor
from bot.store import Store
from bot.ui.audit import AuditLog
from bot.ui.entry import JobEntry
from bot.ui.error_handler import report_error
from bot.ui.leases import LeaseKeeper, tell_interrupted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What the bot runs on, built once before it starts."""

    config: Config
    models: ModelRegistry
    images: ImagesClient
    store: Store
    runner: JobRunner
    entry: JobEntry
    audit: AuditLog
    metrics: Metrics
    monitor: Monitor  # serving /healthz and /metrics when METRICS_PORT is set

    async def aclose(self) -> None:
        try:
            await self.monitor.aclose()
            await self.images.aclose()
        finally:
            await self.store.close()


#: what the bot needs in a channel, as the README's invite step lists them (117824)
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
)


def invite_url(application_id: int) -> str:
    """The link that adds the bot to a server with exactly the permissions it needs."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


class CommandTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)


class ImageBot(commands.Bot):
    def __init__(self, services: Services) -> None:
        # The bot never joins voice: don't warn operators about missing voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        intents.message_content = services.config.message_content_intent
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=CommandTree,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, replied_user=False),
            **self.connection_options(services.config),
        )
        self.services = services
        self.leases = LeaseKeeper(
            self, services.store, services.metrics, lease=services.config.instance_lease
        )
        services.monitor.connection = self.connection_problem
        self._interrupted: list[tuple[int | None, int]] = []  # (channel, user) owed a notice
        self._shut_down = False

    @staticmethod
    def connection_options(config: Config) -> dict[str, Any]:
        """What discord.py's constructor is told of the gateway connection(s): nothing, for one."""
        return {}

    def connection_problem(self) -> str | None:
        """Why this process is not connected to Discord (None: it is), for ``/healthz``."""
        if self.is_closed() or not self.is_ready():
            return "not connected to Discord"
        if self.ws is None or not self.ws.open:
            return "the connection to Discord is down (reconnecting)"
        return None

    def shards_text(self) -> str:
        """The shards this process runs, for the ready line (nothing when unsharded)."""
        return ""

    async def setup_hook(self) -> None:
        await self.recover()
        if self.services.store.engine == "postgresql":  # processes on several machines share it
            await self.leases.start()
        await self.refresh_models()
        self.model_refresh.start()
        self.retention.start()
        await self.sync_commands()

    async def recover(self) -> None:
        """Refund the jobs the previous run left unfinished; their owners are told once connected."""
        store = self.services.store
        unfinished = await store.refund_unfinished(now=utcnow())
        if unfinished:
            log.warning("refunded %d job(s) left unfinished by the previous run", len(unfinished))
            self.services.metrics.images(refunded=sum(job.amount for job in unfinished))
        self._interrupted = [(job.channel_id, job.user_id) for job in unfinished]
        self._interrupted += [(notice.channel_id, notice.user_id) for notice in await store.owed_notices()]

    async def refresh_models(self) -> None:
        """Read the backend's model lifecycle (``GET /models``) and log what members will meet."""
        listed = await self.services.images.list_models()
        self.services.models.update_from_backend(listed)
        for level, line in text.lifecycle_log_lines(self.services.models, listed, today=utcnow().date()):
            log.log(level, "%s", line)

    @tasks.loop(hours=24)
    async def model_refresh(self) -> None:
        """Once a day (setup_hook did the first refresh; the loop's first run is right away)."""
        if self.model_refresh.current_loop > 0:
            await self.refresh_models()

    @tasks.loop(hours=6)
    async def retention(self) -> None:
        """Purge what old jobs were asked with (JOB_RETENTION_DAYS); the first run is at start-up."""
        days = self.services.config.job_retention_days
        purged = await self.services.store.purge(before=utcnow() - timedelta(days=days))
        if purged:
            log.info("purged the details of %d job(s) older than %d days", purged, days)

    async def sync_commands(self) -> None:
        """Sync slash commands, but only when they changed: Discord rate-limits syncs.

        With DEV_GUILD_ID the commands go to that server (instant); otherwise globally (Discord
        may take up to an hour to show new global commands), and a development server's copy from
        an earlier run is removed, so its members don't see every command twice.
        """
        store = self.services.store
        dev_guild_id = self.services.config.dev_guild_id
        guild = discord.Object(dev_guild_id) if dev_guild_id else None
        marker = f"commands:dev-server:{self.application_id}"
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
            await store.set_meta(marker, str(guild.id))
        else:
            await self._clear_development_copy(marker)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        scope = f"commands:{guild.id if guild else 'global'}:{self.application_id}"
        if await self.services.store.get_meta(scope) == digest:
            log.info("slash commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        await self.services.store.set_meta(scope, digest)
        log.info(
            "synced %d slash command(s) %s", len(synced), f"to server {guild.id}" if guild else "globally"
        )

    async def _clear_development_copy(self, marker: str) -> None:
        earlier = await self.services.store.get_meta(marker)
        if earlier is None:
            return
        server = discord.Object(int(earlier))
        self.tree.clear_commands(guild=server)
        await self.tree.sync(guild=server)
        await self.services.store.set_meta(f"commands:{earlier}:{self.application_id}", "")
        await self.services.store.delete_meta(marker)
        log.info("removed the development server %s's copy of the commands", earlier)

    async def on_ready(self) -> None:
        """Say who the bot is and how to invite it; tell the owners of jobs a crash or restart cut
        off that nothing was charged (once)."""
        if self.user is not None and self.application_id is not None:
            log.info(
                "ready as %s in %d server(s)%s; invite: %s",
                self.user,
                len(self.guilds),
                self.shards_text(),
                invite_url(self.application_id),
            )
        interrupted, self._interrupted = self._interrupted, []
        await tell_interrupted(self, interrupted)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Read the server's quotas ahead of its first command (see ``bot.store.ledger``)."""
        try:
            await self.services.store.warm(guild.id, now=utcnow())
        except Exception:  # only a head start: the first reservation reads them anyway
            log.warning("could not read server %s's quotas ahead of time", guild.id, exc_info=True)

    on_guild_join = on_guild_available

    async def on_guild_role_delete(self, role: discord.Role) -> None:
        """A deleted role's limit goes with it (no member can have the role any more either way)."""
        await self.services.store.set_role_limit(role.guild.id, role.id, None)

    async def close(self) -> None:
        """Stop taking jobs, let running ones finish (SHUTDOWN_GRACE_SECONDS), refund the rest, close."""
        self.model_refresh.cancel()
        self.retention.cancel()
        if not self._shut_down:
            self._shut_down = True
            grace = self.services.config.shutdown_grace
            log.info("finishing running jobs (up to %ss)", grace)
            await self.services.runner.shutdown(grace)
            await self.leases.stop()
        try:
            await super().close()
        finally:
            await self.services.aclose()


class ShardedImageBot(ImageBot, commands.AutoShardedBot):
    """The same bot on the shards SHARD_IDS of SHARD_COUNT: one gateway connection per shard."""

    @staticmethod
    def connection_options(config: Config) -> dict[str, Any]:
        assert config.shard_count is not None
        ids = config.shard_ids if config.shard_ids is not None else range(config.shard_count)
        return {"shard_count": config.shard_count, "shard_ids": list(ids)}

    def connection_problem(self) -> str | None:
        if self.is_closed() or not self.is_ready():
            return "not connected to Discord"
        if not self.shards:
            return "no shard connected to Discord"
        down = sorted(shard_id for shard_id, shard in self.shards.items() if shard.is_closed())
        if down:
            return f"shard(s) {', '.join(map(str, down))} not connected to Discord"
        return None

    def shards_text(self) -> str:
        return f" on shard(s) {', '.join(map(str, sorted(self.shards)))} of {self.shard_count}"


def build_bot(services: Services) -> ImageBot:
    """The bot for the configuration: sharded when SHARD_COUNT is set, else one connection."""
    if services.config.shard_count is not None:
        return ShardedImageBot(services)
    return ImageBot(services)
