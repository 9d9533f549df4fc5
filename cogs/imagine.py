"""/imagine: text to image (and, on models that make them, animated GIFs)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.recipes import Inputs, Recipe, checked
from bot.images import ImageOptions, ModelRegistry
from bot.ui import autocomplete
from bot.ui.entry import JobEntry, job_for


class ImagineCog(commands.Cog):
    def __init__(self, entry: JobEntry, models: ModelRegistry, *, default_model: str) -> None:
        self.entry = entry
        self.models = models
        self.default_model = default_model
        self.options = autocomplete.ModelOptions(
            models, endpoint="generations", default_model=default_model, rules=entry.runner.server_rules
        )

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
        format="File type: png, jpeg, webp, or gif for an animation (gif: 2.6 models)",
        frames="Frames of an animated GIF, 2 to 16 (with format gif; default 9)",
        complexity="How much detail the model plans: low, medium or high (2.6 models)",
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
        format: str | None = None,
        frames: app_commands.Range[int, 2, 16] | None = None,
        complexity: str | None = None,
    ) -> None:
        recipe = checked(
            Recipe(
                "imagine",
                model or self.default_model,
                n,
                prompt=prompt,
                options=ImageOptions(
                    size=size,
                    quality=quality,
                    style=style,
                    background=background,
                    output_format=format,
                    complexity=complexity,
                    frames=frames,
                ),
            ),
            self.models,
        )
        await self.entry.run(interaction, job_for(interaction, recipe, inputs=Inputs()))

    @imagine.autocomplete("model")
    @imagine.autocomplete("size")
    @imagine.autocomplete("quality")
    @imagine.autocomplete("style")
    @imagine.autocomplete("background")
    @imagine.autocomplete("format")
    @imagine.autocomplete("complexity")
    async def _choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return await self.options.choices(interaction, typed)
