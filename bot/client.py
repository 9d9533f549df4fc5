"""The bot: wiring of services, start-up, command sync, the error handler, clean shutdown."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections import Counter

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.config import Config, load_config
from bot.flow import JobFlow
from bot.images import ImagesClient, ModelRegistry
from bot.jobs import JobRunner, utcnow
from bot.messages import NOTHING_CHARGED, lifecycle_log_lines
from bot.replies import report_error
from bot.scheduling import Scheduler
from bot.store import QuotaPolicy, Store
from bot.views import DYNAMIC_ITEMS
from cogs.admin import AdminCog
from cogs.edit import EditCog
from cogs.imagine import ImagineCog
from cogs.quota import QuotaCog
from cogs.reply_vary import ReplyVaryCog
from cogs.vary import VaryCog

log = logging.getLogger(__name__)


class CommandTree(app_commands.CommandTree):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)


class ImageBot(commands.Bot):
    """A ``commands.Bot`` that owns the bot's services; cogs receive them in their constructors."""

    store: Store
    jobs: JobRunner
    flow: JobFlow

    def __init__(self, config: Config) -> None:
        # The bot never joins voice: don't warn operators about missing voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        intents.message_content = config.message_content_intent
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=CommandTree,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, replied_user=False),
        )
        self.config = config
        self.models = ModelRegistry(
            config.models, official_backend=config.official_backend, default_model=config.image_model
        )
        self.images = ImagesClient(
            api_key=config.openai_api_key,
            base_url=config.openai_base_url,
            max_retries=config.openai_max_retries,
            timeout=config.openai_timeout,
            catalogue=config.models,
            api_type="azure" if config.openai_api_type == "azure" else "openai",
            azure_api_version=config.azure_api_version,
            max_held_bytes=config.openai_max_inflight_mb * 1024 * 1024,
        )
        self.scheduler = Scheduler(
            images_per_minute=config.openai_images_per_minute,
            max_concurrency=config.openai_max_concurrency,
            max_jobs_per_user=config.max_jobs_per_user,
            window=config.openai_rate_window,
        )
        self._interrupted: list[tuple[int | None, int]] = []  # (channel, user) owed a notice
        self._shut_down = False

    async def setup_hook(self) -> None:
        config = self.config
        self.store = await Store.open(
            config.database_path,
            default_policy=QuotaPolicy(limit=config.default_quota, period=config.quota_period),  # type: ignore[arg-type]
        )
        unfinished = await self.store.refund_unfinished(now=utcnow())
        if unfinished:
            log.warning("refunded %d job(s) left unfinished by the previous run", len(unfinished))
        self._interrupted = [(job.channel_id, job.user_id) for job in unfinished]
        self._interrupted += [
            (notice.channel_id, notice.user_id) for notice in await self.store.owed_notices()
        ]
        self.jobs = JobRunner(
            self.store,
            self.images,
            models=self.models,
            scheduler=self.scheduler,
            user_key=await self.store.secret("user-hash"),
        )
        self.flow = JobFlow(self.jobs, self.models, vary_model=config.vary_model)
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # result buttons keep working after a restart
        await self.add_cog(ImagineCog(self.flow, self.models, default_model=config.image_model))
        await self.add_cog(EditCog(self.flow, self.models, default_model=config.image_model))
        await self.add_cog(VaryCog(self.flow, self.tree))
        await self.add_cog(ReplyVaryCog(self, self.flow))
        await self.add_cog(QuotaCog(self.store))
        await self.add_cog(AdminCog(self.store, self.models))
        await self.refresh_models()
        self.model_refresh.start()
        await self.sync_commands()

    async def refresh_models(self) -> None:
        """Read the backend's model lifecycle (``GET /models``) and log what members will meet."""
        listed = await self.images.list_models()
        self.models.update_from_backend(listed)
        for level, line in lifecycle_log_lines(self.models, listed, today=utcnow().date()):
            log.log(level, "%s", line)

    @tasks.loop(hours=24)
    async def model_refresh(self) -> None:
        """Once a day (setup_hook did the first refresh; the loop's first run is right away)."""
        if self.model_refresh.current_loop > 0:
            await self.refresh_models()

    async def sync_commands(self) -> None:
        """Sync slash commands, but only when they changed: Discord rate-limits syncs.

        With DEV_GUILD_ID the commands go to that server (instant); otherwise globally (Discord
        may take up to an hour to show new global commands).
        """
        guild = discord.Object(self.config.dev_guild_id) if self.config.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        scope = f"commands:{guild.id if guild else 'global'}:{self.application_id}"
        if await self.store.get_meta(scope) == digest:
            log.info("slash commands unchanged; not syncing")
            return
        synced = await self.tree.sync(guild=guild)
        await self.store.set_meta(scope, digest)
        log.info(
            "synced %d slash command(s) %s", len(synced), f"to server {guild.id}" if guild else "globally"
        )

    async def on_ready(self) -> None:
        """Tell the owners of jobs a crash or restart cut off that nothing was charged (once)."""
        interrupted, self._interrupted = self._interrupted, []
        for (channel_id, user_id), count in Counter(interrupted).items():
            channel = self.get_channel(channel_id) if channel_id else None
            if not isinstance(channel, discord.abc.Messageable):
                continue
            what = "your request" if count == 1 else f"your {count} requests"
            with contextlib.suppress(discord.HTTPException):
                await channel.send(
                    f"<@{user_id}> the bot restarted before {what} could finish. {NOTHING_CHARGED} "
                    "Please run it again.",
                    allowed_mentions=discord.AllowedMentions(users=[discord.Object(user_id)]),
                )

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Read the server's quotas ahead of its first command (see ``bot.store.ledger``)."""
        try:
            await self.store.warm(guild.id, now=utcnow())
        except Exception:  # only a head start: the first reservation reads them anyway
            log.warning("could not read server %s's quotas ahead of time", guild.id, exc_info=True)

    on_guild_join = on_guild_available

    async def close(self) -> None:
        """Stop taking jobs, let running ones finish (SHUTDOWN_GRACE_SECONDS), refund the rest, close."""
        self.model_refresh.cancel()
        if not self._shut_down and hasattr(self, "jobs"):
            self._shut_down = True
            log.info("finishing running jobs (up to %ss)", self.config.shutdown_grace)
            await self.jobs.shutdown(self.config.shutdown_grace)
        try:
            await super().close()
        finally:
            await self.images.aclose()
            store = getattr(self, "store", None)
            if store is not None:
                await store.close()


def create_bot(config: Config | None = None) -> ImageBot:
    """The fully wired bot from the environment (or ``config``), not yet connected."""
    return ImageBot(config or load_config())
