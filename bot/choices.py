"""Autocomplete for model options, read from the one model table.

Only values the chosen model accepts are proposed; what a user types freely is still validated by
the registry before anything is charged or sent.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord
from discord import app_commands

from bot.images import MODELS, ModelSpec, suggest_sizes
from bot.recipes import Fit

MAX_CHOICES = 25  # Discord's limit per autocomplete answer

FIT_CHOICES = [
    app_commands.Choice(name="crop to square (centre)", value="crop"),
    app_commands.Choice(name="pad to square (keeps everything)", value="pad"),
]


def fit_of(choice: app_commands.Choice[str] | None) -> Fit:
    """How to square an image for models that need it; centre-crop unless padding was chosen."""
    return "pad" if choice is not None and choice.value == "pad" else "crop"


_SIZE_HINTS = {"auto": "model decides"}


def chosen_model(interaction: discord.Interaction, default: str) -> ModelSpec | None:
    """The model named in the options typed so far (or the default); None if it is not one we know."""
    name = getattr(interaction.namespace, "model", None) or default
    return MODELS.get(name)


def model_choices(typed: str, *, endpoint: str, default: str) -> list[app_commands.Choice[str]]:
    typed = typed.strip().lower()
    return [
        app_commands.Choice(name=f"{name} (default)" if name == default else name, value=name)
        for name, spec in MODELS.items()
        if endpoint in spec.endpoints and typed in name
    ][:MAX_CHOICES]


def size_choices(spec: ModelSpec | None, typed: str) -> list[app_commands.Choice[str]]:
    if spec is None:
        return []
    return [app_commands.Choice(name=_size_label(size), value=size) for size in suggest_sizes(spec, typed)][
        :MAX_CHOICES
    ]


def option_choices(
    interaction: discord.Interaction, default_model: str, attribute: str, typed: str
) -> list[app_commands.Choice[str]]:
    """The values of ``attribute`` (qualities, styles, backgrounds…) the chosen model accepts."""
    spec = chosen_model(interaction, default_model)
    return value_choices(getattr(spec, attribute) if spec else (), typed)


def value_choices(values: Iterable[str], typed: str) -> list[app_commands.Choice[str]]:
    typed = typed.strip().lower()
    return [app_commands.Choice(name=v, value=v) for v in values if typed in v.lower()][:MAX_CHOICES]


def _size_label(size: str) -> str:
    if size in _SIZE_HINTS:
        return f"{size} ({_SIZE_HINTS[size]})"
    width, _, height = size.partition("x")
    if not (width.isdigit() and height.isdigit()):
        return size
    w, h = int(width), int(height)
    shape = "square" if w == h else "landscape" if w > h else "portrait"
    return f"{size} ({shape})"
