"""/edit: change an uploaded image as a prompt describes, optionally only where a mask says."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.recipes import Recipe, checked
from bot.images import ImageOptions, ModelRegistry
from bot.ui import attachments, autocomplete
from bot.ui.entry import JobEntry, job_for


class EditCog(commands.Cog):
    def __init__(self, entry: JobEntry, models: ModelRegistry, *, default_model: str) -> None:
        self.entry = entry
        self.models = models
        self.default_model = default_model
        self.options = autocomplete.ModelOptions(
            models, endpoint="edits", default_model=default_model, rules=entry.runner.server_rules
        )

    @app_commands.command(name="edit", description="Change an image the way a prompt describes")
    @app_commands.guild_only()
    @app_commands.describe(
        image="The image to edit (PNG, JPEG, WebP or GIF)",
        prompt="What the edited image should show",
        mask="Where to edit: white (or transparent) areas change, the rest is kept",
        image2="A second image to combine or take elements from (GPT image models)",
        model="Which image model to use",
        size="Width x height of the result; the choices depend on the model",
        quality="Rendering quality; the choices depend on the model",
        n="How many results (each counts against your quota)",
        fit="For models that need a square image (dall-e-2): crop or pad",
        complexity="How much detail the model plans: low, medium or high (2.6 models)",
    )
    @app_commands.choices(fit=autocomplete.FIT_CHOICES)
    async def edit(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: str,
        mask: discord.Attachment | None = None,
        image2: discord.Attachment | None = None,
        model: str | None = None,
        size: str | None = None,
        quality: str | None = None,
        n: app_commands.Range[int, 1, 10] = 1,
        fit: app_commands.Choice[str] | None = None,
        complexity: str | None = None,
    ) -> None:
        images = [image] if image2 is None else [image, image2]
        recipe = checked(
            Recipe(
                "edit",
                model or self.default_model,
                n,
                prompt=prompt,
                options=ImageOptions(size=size, quality=quality, complexity=complexity),
                fit=autocomplete.fit_of(fit),
                image_count=len(images),
            ),
            self.models,
        )
        spec = self.models.get(recipe.model)
        for attachment in [*images, *([mask] if mask else [])]:
            attachments.check_attachment(attachment, spec)
        prepare = attachments.prepare(recipe, spec, images, mask)
        await self.entry.run(interaction, job_for(interaction, recipe), prepare)

    @edit.autocomplete("model")
    @edit.autocomplete("size")
    @edit.autocomplete("quality")
    @edit.autocomplete("complexity")
    async def _choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        return await self.options.choices(interaction, typed)
