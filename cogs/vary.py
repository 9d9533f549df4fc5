"""/vary and the "Vary image" message menu: variations of an image.

Where VARY_MODEL has the variations endpoint (dall-e-2, on backends that still serve it) that is
used; otherwise a GPT image model makes the variation as an edit told to vary the image (guided by
``prompt`` when given). The recipe decides; the user sees the same result either way. The menu
works without the privileged Message Content intent: Discord always shows a bot the message a
menu was used on.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import NothingToVary
from bot.ui import attachments, autocomplete
from bot.ui.entry import JobEntry


class VaryCog(commands.Cog):
    def __init__(self, entry: JobEntry, tree: app_commands.CommandTree) -> None:
        self.entry = entry
        self.tree = tree
        self.options = autocomplete.ModelOptions(
            entry.models,
            endpoint="variations",
            default_model=entry.vary_model,
            rules=entry.runner.server_rules,
        )
        self.menu = app_commands.ContextMenu(name="Vary image", callback=self.vary_message)
        self.menu.guild_only = True

    async def cog_load(self) -> None:
        self.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="vary", description="Make variations of an image")
    @app_commands.guild_only()
    @app_commands.describe(
        image="The image to vary (PNG, JPEG, WebP or GIF)",
        n="How many variations (each counts against your quota)",
        size="Width x height of the results; the choices depend on the model",
        prompt="Optional: steer the variations (GPT image models)",
        fit="For models that need a square image (dall-e-2): crop or pad",
    )
    @app_commands.choices(fit=autocomplete.FIT_CHOICES)
    async def vary(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        n: app_commands.Range[int, 1, 10] = 1,
        size: str | None = None,
        prompt: str | None = None,
        fit: app_commands.Choice[str] | None = None,
    ) -> None:
        await self.entry.vary_attachment(
            interaction,
            image,
            n=n,
            size=size,
            guide=prompt,
            fit=autocomplete.fit_of(fit),
        )

    @vary.autocomplete("size")
    async def _choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return await self.options.choices(interaction, typed)

    async def vary_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        images = [a for a in message.attachments if attachments.looks_like_image(a)]
        if not images:
            raise NothingToVary(from_menu=True)  # the error handler answers, privately
        await self.entry.vary_attachment(interaction, images[0])
