"""Users' images on their way in: cheap checks before the acknowledgement, the rest after it.

Before: the attachment's declared size against what the model can take (nothing is downloaded) and
Discord's content-type hint. After (inside the job, so any refusal is refunded): download, identify
the type from the bytes, decode defensively and fit to the model's rules — in a worker thread, so
the event loop keeps heartbeating.
"""

from __future__ import annotations

import asyncio

import discord

from bot.core.pipeline import Prepare
from bot.core.recipes import Inputs, Recipe
from bot.errors import SourceUnavailable
from bot.images import InputImage, ModelSpec
from bot.imaging import (
    FileTooLarge,
    Fitted,
    Intake,
    UnsupportedImageType,
    decode,
    fit_image,
    prepare_mask,
    target_side_for,
)

CONVERTED_INTAKE_LIMIT = 25 * 1024 * 1024
"""Models that need a converted input (dall-e-2's square PNG under 4 MB) accept any upload up to
this size: the bot makes it fit. Other models take up to their own input limit."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")

# Discord's content-type hint, named the way bot.imaging.sniff names what it finds in the bytes.
_HINT_NAMES = {
    "application/pdf": "pdf",
    "image/svg+xml": "svg",
    "text/html": "html",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
    "image/heic": "heic",
    "image/avif": "avif",
}


def intake_limit(spec: ModelSpec) -> int:
    return CONVERTED_INTAKE_LIMIT if spec.edit_requires_square_png else spec.edit_max_input_bytes


def looks_like_image(attachment: discord.Attachment) -> bool:
    """Discord's hint (content type or name), used only to pick images out of a message."""
    kind = (attachment.content_type or "").lower()
    return kind.startswith("image/") or attachment.filename.lower().endswith(IMAGE_SUFFIXES)


def check_attachment(attachment: discord.Attachment, spec: ModelSpec) -> None:
    """Refuse what is certainly unusable before anything is downloaded or charged."""
    limit = intake_limit(spec)
    if attachment.size > limit:
        raise FileTooLarge(size=attachment.size, limit=limit)
    kind = (attachment.content_type or "").split(";")[0].strip().lower()
    if kind and not kind.startswith("image/"):
        raise UnsupportedImageType(found=_HINT_NAMES.get(kind, "text" if kind.startswith("text/") else kind))


def prepare(
    recipe: Recipe, spec: ModelSpec, images: list[discord.Attachment], mask: discord.Attachment | None = None
) -> Prepare:
    """The job's prepare step: download and fit ``images`` (and the mask) for ``recipe``'s model."""

    async def run() -> Inputs:
        limit = intake_limit(spec)
        side = target_side_for(spec)  # lets JPEGs decode at a fraction of their size: much faster
        intakes: list[Intake] = []
        fitted: list[Fitted] = []
        for attachment in images:
            data = await _download(attachment)
            intake = await asyncio.to_thread(decode, data, max_bytes=limit, target_side=side)
            intakes.append(intake)
            fitted.append(await asyncio.to_thread(fit_image, intake, spec, fit=recipe.fit))
        fitted_mask = None
        if mask is not None:
            data = await _download(mask)
            fitted_mask = await asyncio.to_thread(
                prepare_mask, data, intakes[0], fitted[0], max_bytes=CONVERTED_INTAKE_LIMIT
            )
        return Inputs(
            images=tuple(_input(f) for f in fitted),
            mask=_input(fitted_mask) if fitted_mask is not None else None,
        )

    return run


async def _download(attachment: discord.Attachment) -> bytes:
    try:
        return await attachment.read()
    except (discord.HTTPException, discord.DiscordException) as error:
        raise SourceUnavailable(attachment.filename, str(error)) from error


def _input(fitted: Fitted) -> InputImage:
    return InputImage(data=fitted.data, filename=fitted.filename, content_type=fitted.content_type)
