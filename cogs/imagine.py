"""/imagine: text to image."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import choices
from bot.flow import JobFlow, job_for
from bot.recipes import Inputs, Recipe, checked


class ImagineCog(commands.Cog):
    def __init__(self, flow: JobFlow, *, default_model: str) -> None:
        self.flow = flow
        self.default_model = default_model

    @app_commands.command(name="imagine", description="Make images from a text description")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What the image should show",
        model="Which image model to use (default: the server's configured model)",
        size="Width x height, e.g. 1024x1024; the choices depend on the model",
        quality="Rendering quality; the choices depend on the model",
        style="vivid or natural (dall-e-3 only)",
        n="How many images (each counts against your quota)",
        background="transparent, opaque or auto (GPT image models only)",
    )
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: str,
        model: str | None = None,
        size: str | None = None,
        quality: str | None = None,
        style: str | None = None,
        n: app_commands.Range[int, 1, 10] = 1,
        background: str | None = None,
    ) -> None:
        recipe = checked(
            Recipe(
                "imagine",
                model or self.default_model,
                n,
                prompt=prompt,
                size=size,
                quality=quality,
                style=style,
                background=background,
            )
        )
        await self.flow.run(interaction, job_for(interaction, recipe, inputs=Inputs()))

    @imagine.autocomplete("model")
    async def _model(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return choices.model_choices(typed, endpoint="generations", default=self.default_model)

    @imagine.autocomplete("size")
    async def _size(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return choices.size_choices(choices.chosen_model(interaction, self.default_model), typed)

    @imagine.autocomplete("quality")
    async def _quality(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return choices.option_choices(interaction, self.default_model, "qualities", typed)

    @imagine.autocomplete("style")
    async def _style(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return choices.option_choices(interaction, self.default_model, "styles", typed)

    @imagine.autocomplete("background")
    async def _background(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        return choices.option_choices(interaction, self.default_model, "backgrounds", typed)
