"""What a job makes, as data: enough to build its upstream request now, or again later (Redo).

A ``Recipe`` is JSON-serialisable and stored with the job; the fitted input images travel beside
it as ``Inputs``. ``to_request`` is the one place that turns the two into an Images API request,
including the choice between the variations endpoint and an edit that asks for a variation.
Nothing here imports discord.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, Literal

from bot.images import (
    NO_OPTIONS,
    EditRequest,
    Endpoint,
    Fit,
    GenerateRequest,
    ImageOptions,
    InputImage,
    ModelRegistry,
    ModelSpec,
    VariationRequest,
    parse_wxh,
    validate,
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
    prompt: str | None = None  # for a variation: the member's guide, if any
    options: ImageOptions = NO_OPTIONS
    fit: Fit = "crop"
    image_count: int = 0  # how many input images an edit or variation takes

    def to_details(self) -> dict[str, Any]:
        """Flat and JSON-ready, as stored with the job (and as stored before options had a type)."""
        details = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "options"}
        return details | {f.name: getattr(self.options, f.name) for f in fields(self.options)}

    @classmethod
    def from_details(cls, details: dict[str, Any]) -> Recipe:
        names = {f.name for f in fields(cls)} - {"options"}
        own = {key: value for key, value in details.items() if key in names}
        return cls(**own, options=ImageOptions.from_dict(details))


def endpoint_for(recipe: Recipe, spec: ModelSpec) -> Endpoint:
    """The endpoint a recipe goes to: a variation uses the variations endpoint where the model has
    it, else it is an edit told to vary the image."""
    if recipe.kind == "imagine":
        return "generations"
    return "variations" if recipe.kind == "vary" and "variations" in spec.endpoints else "edits"


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


def upstream_prompt(recipe: Recipe) -> str:
    """The prompt sent upstream: the member's, or for a variation the instruction with their guide."""
    return vary_prompt(recipe.prompt) if recipe.kind == "vary" else recipe.prompt or ""


def cost_key(recipe: Recipe) -> tuple[str, str, str]:
    """(model, size, quality): what a cost per image is remembered by (``checked`` recipes)."""
    return recipe.model, recipe.options.size or "auto", recipe.options.quality or "auto"


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
    endpoint = endpoint_for(recipe, spec)
    result = validate(
        spec,
        endpoint,
        n=recipe.n,
        prompt=vary_prompt(recipe.prompt) if recipe.kind == "vary" else recipe.prompt,
        options=recipe.options,
        image_count=max(1, recipe.image_count),
        supporting=models.supporting(endpoint, today=day),
    )
    options = result.options
    if recipe.options.output_format is None:  # sent only when asked for: the default needs no field
        options = options.changed(output_format=None)
    return Recipe(
        recipe.kind,
        spec.name,
        result.n,
        prompt=_stored_prompt(recipe, endpoint, result.prompt),
        options=options,
        fit=recipe.fit,
        image_count=0 if recipe.kind == "imagine" else max(1, recipe.image_count),
    )


def _stored_prompt(recipe: Recipe, endpoint: Endpoint, cleaned: str | None) -> str | None:
    """A variation made as an edit keeps the member's guide (the instruction is added when the request
    is made); the variations endpoint takes no prompt, so none is kept."""
    if recipe.kind != "vary":
        return cleaned
    return recipe.prompt if endpoint == "edits" else None


#: bytes per pixel of a PNG the Images API returns, on the large side (photo-like images: ~2; noise: 3)
PNG_BYTES_PER_PIXEL = {False: 2.0, True: 2.7}  # opaque, transparent
#: the WebP quality asked for when a PNG would not fit the channel's upload limit
COMPACT_COMPRESSION = 90


def compact_output(recipe: Recipe, spec: ModelSpec, file_budget: int | None) -> tuple[str | None, int | None]:
    """(output_format, output_compression) to ask upstream for: the member's choice, or — when they
    chose none and a PNG of this size would likely exceed the channel's upload limit per file —
    WebP at COMPACT_COMPRESSION, so the result needn't be decoded and re-encoded before posting."""
    chosen = recipe.options
    if chosen.output_format is not None or file_budget is None or "webp" not in spec.output_formats:
        return chosen.output_format, None
    size = chosen.size or spec.default_size
    width, height = parse_wxh(size) or (1536, 1024)  # "auto": the larger standard size
    transparent = chosen.background == "transparent"
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
    options = recipe.options.changed(output_format=output_format, output_compression=compression)
    endpoint = endpoint_for(recipe, spec)
    if endpoint == "generations":
        return GenerateRequest(
            model=recipe.model, prompt=upstream_prompt(recipe), n=recipe.n, options=options
        )
    if not inputs.images:
        raise ValueError(f"a {recipe.kind} job needs its input image")
    if endpoint == "variations":
        return VariationRequest(model=recipe.model, image=inputs.images[0], n=recipe.n, options=options)
    return EditRequest(
        model=recipe.model,
        prompt=upstream_prompt(recipe),
        images=inputs.images,
        mask=inputs.mask,
        n=recipe.n,
        options=options,
    )
