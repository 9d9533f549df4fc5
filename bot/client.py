"""The bot: wiring of services, start-up, command sync, the error handler, clean shutdown."""

from __future__ import annotations

import hashlib
import json
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import Config, load_config
from bot.flow import JobFlow
from bot.images import ImagesClient
from bot.jobs import JobRunner, utcnow
from bot.replies import report_error
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
        self.images = ImagesClient(
            api_key=config.openai_api_key,
            base_url=config.openai_base_url,
            max_retries=config.openai_max_retries,
        )

    async def setup_hook(self) -> None:
        config = self.config
        self.store = await Store.open(
            config.database_path,
            default_policy=QuotaPolicy(limit=config.default_quota, period=config.quota_period),  # type: ignore[arg-type]
        )
        refunded = await self.store.refund_unfinished(now=utcnow())
        if refunded:
            log.warning("refunded %d job(s) left unfinished by the previous run", len(refunded))
        self.jobs = JobRunner(self.store, self.images, user_key=await self.store.secret("user-hash"))
        self.flow = JobFlow(self.jobs, vary_model=config.vary_model)
        self.add_dynamic_items(*DYNAMIC_ITEMS)  # result buttons keep working after a restart
        await self.add_cog(ImagineCog(self.flow, default_model=config.image_model))
        await self.add_cog(EditCog(self.flow, default_model=config.image_model))
        await self.add_cog(VaryCog(self.flow, self.tree))
        await self.add_cog(ReplyVaryCog(self, self.flow))
        await self.add_cog(QuotaCog(self.store))
        await self.add_cog(AdminCog(self.store))
        await self.sync_commands()

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

    async def close(self) -> None:
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
