"""Autocomplete for model options, read from the one model table (``ModelOptions``).

Only values the chosen model accepts are proposed; what a user types freely is still validated by
the registry before anything is charged or sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar

import discord
from discord import app_commands

from bot.core.recipes import Fit, today
from bot.core.rules import ServerRules
from bot.images import ModelRegistry, ModelSpec, parse_wxh, suggest_sizes

MAX_CHOICES = 25  # Discord's limit per autocomplete answer

FIT_CHOICES = [
    app_commands.Choice(name="crop to square (centre)", value="crop"),
    app_commands.Choice(name="pad to square (keeps everything)", value="pad"),
]


def fit_of(choice: app_commands.Choice[str] | None) -> Fit:
    """How to square an image for models that need it; centre-crop unless padding was chosen."""
    return "pad" if choice is not None and choice.value == "pad" else "crop"


_SIZE_HINTS = {"auto": "model decides"}


def chosen_model(interaction: discord.Interaction, models: ModelRegistry, default: str) -> ModelSpec | None:
    """The model named in the options typed so far (or the default); None if it is not one we know."""
    name = getattr(interaction.namespace, "model", None) or default
    return models.catalogue.find(name)


def model_choices(
    models: ModelRegistry, typed: str, *, endpoint: str, default: str
) -> list[app_commands.Choice[str]]:
    """The usable models that can do ``endpoint``; retired ones are left out, retiring ones say so."""
    typed = typed.strip().lower()
    out: list[app_commands.Choice[str]] = []
    for state in models.offered(endpoint, today=today()):
        if typed not in state.model.lower():
            continue
        notes = ["default"] if state.model == default else []
        if state.state == "retiring" and state.shutdown is not None:
            notes.append(f"retiring {state.shutdown.isoformat()}")
        label = f"{state.model} ({', '.join(notes)})" if notes else state.model
        out.append(app_commands.Choice(name=label[:100], value=state.model))
    return out[:MAX_CHOICES]


def size_choices(
    spec: ModelSpec | None, typed: str, *, gif_frames: int | None = None
) -> list[app_commands.Choice[str]]:
    if spec is None:
        return []
    sizes = suggest_sizes(spec, typed, gif_frames=gif_frames if spec.gif is not None else None)
    return [app_commands.Choice(name=_size_label(size), value=size) for size in sizes][:MAX_CHOICES]


def gif_frames(interaction: discord.Interaction, spec: ModelSpec | None) -> int | None:
    """The frame count of the GIF being asked for (its default when not typed yet); None: no GIF."""
    if spec is None or spec.gif is None or getattr(interaction.namespace, "format", None) != "gif":
        return None
    frames = getattr(interaction.namespace, "frames", None)
    return frames if isinstance(frames, int) else spec.gif.default_frames


class ModelOptions:
    """Autocomplete for every model option of one command: a cog points each option's
    autocomplete at ``choices``, which answers for whichever option the member is typing in."""

    #: the option a member types in -> the model table's column of values it accepts
    COLUMNS: ClassVar[dict[str, str]] = {
        "quality": "qualities",
        "style": "styles",
        "background": "backgrounds",
        "format": "output_formats",
        "complexity": "complexities",
    }

    def __init__(
        self,
        models: ModelRegistry,
        *,
        endpoint: str,
        default_model: str,
        rules: Callable[[int | None], Awaitable[ServerRules]],
    ) -> None:
        self.models = models
        self.endpoint = endpoint
        self.default_model = default_model
        self.rules = rules  # the server's rules on models and options: what they forbid isn't offered

    async def choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        option = focused_option(interaction)
        rules = await self.rules(interaction.guild_id)
        if option == "model":
            offered = model_choices(self.models, typed, endpoint=self.endpoint, default=self.default_model)
            return [choice for choice in offered if rules.allows_model(choice.value)]
        spec = chosen_model(interaction, self.models, self.default_model)
        if option == "size":
            sizes = size_choices(spec, typed, gif_frames=gif_frames(interaction, spec))
            return [c for c in sizes if spec is None or rules.allows_size(spec, c.value)]
        column = self.COLUMNS.get(option or "")
        values = getattr(spec, column) if spec is not None and column else ()
        if option == "quality":
            values = [quality for quality in values if rules.allows_quality(quality)]
        return value_choices(values, typed)


def focused_option(interaction: discord.Interaction) -> str | None:
    """The name of the option the member is typing in (Discord marks it ``focused``)."""
    data: Mapping[str, Any] = interaction.data or {}
    pending: list[Mapping[str, Any]] = list(data.get("options", []))
    while pending:
        option = pending.pop()
        if option.get("focused"):
            return option["name"]
        pending += option.get("options", [])  # subcommands nest theirs
    return None


def value_choices(values: Iterable[str], typed: str) -> list[app_commands.Choice[str]]:
    typed = typed.strip().lower()
    return [app_commands.Choice(name=v, value=v) for v in values if typed in v.lower()][:MAX_CHOICES]


def _size_label(size: str) -> str:
    if size in _SIZE_HINTS:
        return f"{size} ({_SIZE_HINTS[size]})"
    parsed = parse_wxh(size)
    if parsed is None:
        return size
    w, h = parsed
    shape = "square" if w == h else "landscape" if w > h else "portrait"
    return f"{size} ({shape})"
