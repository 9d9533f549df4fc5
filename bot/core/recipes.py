"""What a job makes, as data: enough to build its upstream request now, or again later (Redo).

A ``Recipe`` is JSON-serialisable and stored with the job; the fitted input images travel beside
it as ``Inputs``. ``to_request`` is the one place that turns the two into an Images API request,
including the choice between the variations endpoint and an edit that asks for a variation.
Nothing here imports discord.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, Literal

from bot.images import (
    EditRequest,
    Fit,
    GenerateRequest,
    InputImage,
    ModelRegistry,
    ModelSpec,
    VariationRequest,
    parse_wxh,
    validate_edit,
    validate_generation,
    validate_variation,
)

Kind = Literal["imagine", "edit", "vary"]
UpstreamRequest = GenerateRequest | EditRequest | VariationRequest

VARY_INSTRUCTION = (
    "Create a variation of this image: keep its subject, composition, colours and style, "
    "and vary the details as a new take on the same picture."
)


@dataclass(frozen=True)
class Recipe:
    kind: Kind
    model: str
    n: int
    prompt: str | None = None
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    background: str | None = None
    fit: Fit = "crop"
    image_count: int = 0  # how many input images an edit or variation takes
    output_format: str | None = None
    complexity: str | None = None
    frames: int | None = None  # an animated GIF's frame count

    def to_details(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> Recipe:
        names = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in details.items() if key in names})


def uses_variations_endpoint(recipe: Recipe, spec: ModelSpec) -> bool:
    return recipe.kind == "vary" and "variations" in spec.endpoints


@dataclass(frozen=True)
class Inputs:
    images: tuple[InputImage, ...] = ()
    mask: InputImage | None = None

    def as_rows(self) -> list[tuple[str, str, str, bytes]]:
        rows = [("image", i.filename, i.content_type, i.data) for i in self.images]
        if self.mask is not None:
            rows.append(("mask", self.mask.filename, self.mask.content_type, self.mask.data))
        return rows

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str, str, bytes]]) -> Inputs:
        images = tuple(InputImage(data, name, kind) for role, name, kind, data in rows if role == "image")
        masks = [InputImage(data, name, kind) for role, name, kind, data in rows if role == "mask"]
        return cls(images=images, mask=masks[0] if masks else None)


def vary_prompt(guide: str | None) -> str:
    return f"{VARY_INSTRUCTION} {guide.strip()}" if guide and guide.strip() else VARY_INSTRUCTION


def today() -> date:
    return datetime.now(UTC).date()


def checked(recipe: Recipe, models: ModelRegistry, *, on: date | None = None) -> Recipe:
    """The recipe with every option resolved to the model's default; refuses what the model can't do.

    Runs before anything is charged: raises the registry's user-input errors (unknown or retired
    model, unsupported size, too long a prompt, an endpoint the model lacks…).
    """
    day = on or today()
    spec = models.usable(recipe.model, today=day)
    if recipe.kind == "imagine":
        options = validate_generation(
            spec,
            prompt=recipe.prompt or "",
            n=recipe.n,
            size=recipe.size,
            quality=recipe.quality,
            style=recipe.style,
            background=recipe.background,
            output_format=recipe.output_format,
            complexity=recipe.complexity,
            frames=recipe.frames,
            supporting=models.supporting("generations", today=day),
        )
        return Recipe(
            "imagine",
            spec.name,
            recipe.n,
            prompt=options.prompt,
            size=options.size,
            quality=options.quality,
            style=options.style,
            background=options.background,
            # sent only when asked for: the model's default needs no field
            output_format=options.output_format if recipe.output_format else None,
            complexity=options.complexity,
            frames=options.frames,
        )
    if uses_variations_endpoint(recipe, spec):
        supporting = models.supporting("variations", today=day)
        variation = validate_variation(spec, n=recipe.n, size=recipe.size, supporting=supporting)
        return Recipe("vary", spec.name, recipe.n, size=variation.size, fit=recipe.fit, image_count=1)
    prompt = vary_prompt(recipe.prompt) if recipe.kind == "vary" else recipe.prompt or ""
    edit = validate_edit(
        spec,
        prompt=prompt,
        n=recipe.n,
        size=recipe.size,
        quality=recipe.quality,
        background=recipe.background,
        complexity=recipe.complexity,
        image_count=max(1, recipe.image_count),
        supporting=models.supporting("edits", today=day),
    )
    return Recipe(
        recipe.kind,
        spec.name,
        recipe.n,
        prompt=recipe.prompt if recipe.kind == "vary" else edit.prompt,
        size=edit.size,
        quality=edit.quality,
        background=edit.background,
        fit=recipe.fit,
        image_count=max(1, recipe.image_count),
        complexity=edit.complexity,
    )


#: bytes per pixel of a PNG the Images API returns, on the large side (photo-like images: ~2; noise: 3)
PNG_BYTES_PER_PIXEL = {False: 2.0, True: 2.7}  # opaque, transparent
#: the WebP quality asked for when a PNG would not fit the channel's upload limit
COMPACT_COMPRESSION = 90


def compact_output(recipe: Recipe, spec: ModelSpec, file_budget: int | None) -> tuple[str | None, int | None]:
    """(output_format, output_compression) to ask upstream for: the member's choice, or — when they
    chose none and a PNG of this size would likely exceed the channel's upload limit per file —
    WebP at COMPACT_COMPRESSION, so the result needn't be decoded and re-encoded before posting."""
    if recipe.output_format is not None or file_budget is None or "webp" not in spec.output_formats:
        return recipe.output_format, None
    size = recipe.size or spec.default_size
    width, height = parse_wxh(size) or (1536, 1024)  # "auto": the larger standard size
    transparent = recipe.background == "transparent"
    if width * height * PNG_BYTES_PER_PIXEL[transparent] <= file_budget:
        return None, None
    return "webp", COMPACT_COMPRESSION


def to_request(
    recipe: Recipe, inputs: Inputs, spec: ModelSpec, *, file_budget: int | None = None
) -> UpstreamRequest:
    """The Images API request for a checked recipe, its fitted inputs and its model's row.

    ``file_budget``: the bytes one file may have in the channel the result goes to (see
    ``compact_output``); None: whatever the model returns by default.
    """
    output_format, compression = compact_output(recipe, spec, file_budget)
    if recipe.kind == "imagine":
        return GenerateRequest(
            model=recipe.model,
            prompt=recipe.prompt or "",
            n=recipe.n,
            size=recipe.size,
            quality=recipe.quality,
            style=recipe.style,
            background=recipe.background,
            output_format=output_format,
            output_compression=compression,
            complexity=recipe.complexity,
            frame_count=recipe.frames,
        )
    if not inputs.images:
        raise ValueError(f"a {recipe.kind} job needs its input image")
    if uses_variations_endpoint(recipe, spec):
        return VariationRequest(model=recipe.model, image=inputs.images[0], n=recipe.n, size=recipe.size)
    prompt = vary_prompt(recipe.prompt) if recipe.kind == "vary" else recipe.prompt or ""
    return EditRequest(
        model=recipe.model,
        prompt=prompt,
        images=inputs.images,
        mask=inputs.mask,
        n=recipe.n,
        size=recipe.size,
        quality=recipe.quality,
        background=recipe.background,
        output_format=output_format,
        output_compression=compression,
        complexity=recipe.complexity,
    )
