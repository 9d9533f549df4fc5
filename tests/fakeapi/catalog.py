"""The fake's own table of what the real Images API accepts, per model id.

Written from shared/reference/openai-images.md (revised 2026-12-02), deliberately NOT from the bot's
model table: the fake is the oracle the bot is tested against, so it must not share the bot's
mistakes. When the reference changes, change this file by reading the reference, never the bot.

The fake plays a gateway that still serves every retired id (dall-e-*, gpt-image-1*, 1.5), so each of
them keeps the request shape it had on OpenAI; ``retired_on_openai`` records OpenAI's shutdown date as
data only (tests may copy it into ``FakeImagesAPI.shutdown_dates``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType

__all__ = [
    "CATALOG",
    "CustomSizeRule",
    "EditLimits",
    "GifRule",
    "ModelCaps",
    "parse_wxh",
    "resolve",
]

MB = 1024 * 1024
_WXH_RE = re.compile(r"^(\d{1,6})x(\d{1,6})$")


def parse_wxh(value: str) -> tuple[int, int] | None:
    """(width, height) of an exact ``WxH`` string such as ``"1536x864"``, else None.

    No normalisation: the real API does not forgive ``"1024 X 1024"`` or ``" 1024x1024"``.
    """
    match = _WXH_RE.match(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class CustomSizeRule:
    """Arbitrary ``WxH`` sizes (gpt-image-2, 2.5, 2.6): both sides multiples of 16, aspect ratio
    within 1:3..3:1, longest edge <= 3840, at most 3840*2160 pixels ([O-spec]; the 2.5/2.6 numbers
    are [3P-comfy]). The [3P] minimum of 655,360 pixels is not enforced: OpenAI publishes none."""

    multiple: int = 16
    max_ratio: int = 3
    max_edge: int = 3840
    max_pixels: int = 3840 * 2160

    def accepts(self, width: int, height: int) -> bool:
        if width <= 0 or height <= 0 or width % self.multiple or height % self.multiple:
            return False
        longest, shortest = max(width, height), min(width, height)
        return (
            longest <= self.max_ratio * shortest
            and longest <= self.max_edge
            and width * height <= self.max_pixels
        )


@dataclass(frozen=True)
class GifRule:
    """Animated GIF output (2.6): ``frame_count`` 2..16 (default 9), ``frame_duration_ms`` >= 20
    (default 200) [O-edit]; the size must fit "the model's GIF size limits".

    The limits are not published. The sheet budget below is a THIRD-PARTY measurement
    ([3P-apiyi-gif], [3P-superlewis]): the frames are laid out on one sheet, in a 3x3 grid for 2-9
    frames, 4x3 (4 columns, 3 rows) for 10-12 and 4x4 for 13-16, and the sheet (columns*width x
    rows*height) must have its longest edge <= 3840 and at most 8,294,400 pixels. That gives the
    measured square caps: 960 (2-9 frames), 816 (10-12), 720 (13-16).
    """

    min_frames: int = 2
    max_frames: int = 16
    default_frames: int = 9
    min_duration_ms: int = 20
    default_duration_ms: int = 200
    #: (up to this many frames, columns, rows), smallest first
    grids: tuple[tuple[int, int, int], ...] = ((9, 3, 3), (12, 4, 3), (16, 4, 4))
    sheet_max_edge: int = 3840
    sheet_max_pixels: int = 8_294_400
    #: what ``size: "auto"`` (or no size) means for the budget check
    auto_size: tuple[int, int] = (1024, 1024)

    def grid(self, frames: int) -> tuple[int, int]:
        """(columns, rows) of the sheet for ``frames`` frames."""
        for up_to, columns, rows in self.grids:
            if frames <= up_to:
                return columns, rows
        return self.grids[-1][1], self.grids[-1][2]

    def fits(self, width: int, height: int, frames: int) -> bool:
        columns, rows = self.grid(frames)
        sheet_w, sheet_h = columns * width, rows * height
        return max(sheet_w, sheet_h) <= self.sheet_max_edge and sheet_w * sheet_h <= self.sheet_max_pixels


@dataclass(frozen=True)
class EditLimits:
    """What ``/images/edits`` (and, for dall-e-2, ``/images/variations``) takes as input."""

    max_images: int
    #: each input image must be strictly smaller than this many bytes
    max_bytes: int
    #: Pillow's lower-case format names
    formats: tuple[str, ...]
    square_png: bool = False
    #: JSON edits (``images: [{image_url|file_id}]``) are for GPT image models only [O-spec]
    json_body: bool = True
    #: the mask: a PNG strictly smaller than this, the first image's size, with an alpha channel
    mask_max_bytes: int = 4 * MB


@dataclass(frozen=True)
class ModelCaps:
    """What the real API accepts for one model id. Pure data; the checks live in ``rules``."""

    id: str
    endpoints: frozenset[str]
    #: listed sizes ("auto" where the model allows automatic sizing)
    sizes: tuple[str, ...]
    default_size: str
    custom_size: CustomSizeRule | None
    #: accepted values of ``quality``
    qualities: tuple[str, ...]
    styles: tuple[str, ...]
    max_n: int
    max_prompt_chars: int
    #: dall-e-*: ``url`` (default) or ``b64_json``; GPT image models refuse the parameter
    accepts_response_format: bool
    #: () for dall-e-*: they refuse output_format, background, moderation, stream, ...
    output_formats: tuple[str, ...]
    backgrounds: tuple[str, ...]
    moderation_levels: tuple[str, ...]
    #: values of ``complexity`` (2.6 only)
    complexities: tuple[str, ...]
    #: values of ``input_fidelity`` on edits (only the retired gpt-image-1 / 1.5 / 1-mini)
    input_fidelities: tuple[str, ...]
    streaming: bool
    returns_revised_prompt: bool
    edit: EditLimits | None
    gif: GifRule | None
    #: Unix time for ``GET /v1/models`` ("created"); release date where known, else plausible
    created: int
    owned_by: str = "system"
    #: OpenAI's shutdown date (YYYY-MM-DD), as data; the fake keeps serving the id regardless
    retired_on_openai: str | None = None
    #: the model id this one is a snapshot or alias of ("" when it is its own)
    same_as: str = ""

    @property
    def gpt_image(self) -> bool:
        return bool(self.output_formats)

    def supports(self, endpoint: str) -> bool:
        return endpoint in self.endpoints


def _day(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())


_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_QUALITIES = ("low", "medium", "high", "auto")
_GPT_EDIT = EditLimits(max_images=16, max_bytes=50 * MB, formats=("png", "jpeg", "webp"))


def _gpt(
    model_id: str,
    created: str,
    *,
    custom: bool = False,
    qualities: tuple[str, ...] = _GPT_QUALITIES,
    output_formats: tuple[str, ...] = ("png", "jpeg", "webp"),
    complexities: tuple[str, ...] = (),
    input_fidelities: tuple[str, ...] = (),
    gif: GifRule | None = None,
    retired: str | None = None,
) -> ModelCaps:
    return ModelCaps(
        id=model_id,
        endpoints=frozenset({"generations", "edits"}),
        sizes=_GPT_SIZES,
        default_size="auto",
        custom_size=CustomSizeRule() if custom else None,
        qualities=qualities,
        styles=(),
        max_n=10,
        max_prompt_chars=32000,
        accepts_response_format=False,
        output_formats=output_formats,
        backgrounds=("transparent", "opaque", "auto"),
        moderation_levels=("low", "auto"),
        complexities=complexities,
        input_fidelities=input_fidelities,
        streaming=True,
        returns_revised_prompt=False,
        edit=_GPT_EDIT,
        gif=gif,
        created=_day(created),
        retired_on_openai=retired,
    )


_DALL_E_2 = ModelCaps(
    id="dall-e-2",
    endpoints=frozenset({"generations", "edits", "variations"}),
    sizes=("256x256", "512x512", "1024x1024"),
    default_size="1024x1024",
    custom_size=None,
    qualities=("standard",),
    styles=(),
    max_n=10,
    max_prompt_chars=1000,
    accepts_response_format=True,
    output_formats=(),
    backgrounds=(),
    moderation_levels=(),
    complexities=(),
    input_fidelities=(),
    streaming=False,
    returns_revised_prompt=False,
    edit=EditLimits(max_images=1, max_bytes=4 * MB, formats=("png",), square_png=True, json_body=False),
    gif=None,
    created=_day("2023-11-01"),
    retired_on_openai="2026-05-12",
)
_DALL_E_3 = replace(
    _DALL_E_2,
    id="dall-e-3",
    endpoints=frozenset({"generations"}),
    sizes=("1024x1024", "1792x1024", "1024x1792"),
    qualities=("standard", "hd"),
    styles=("vivid", "natural"),
    max_n=1,  # a client fans out for more
    max_prompt_chars=4000,
    returns_revised_prompt=True,
    edit=None,
)

_XQ = (*_GPT_QUALITIES, "xhigh", "max")  # 2.5 and 2.6 add xhigh and max [3P-apidog25]
_V25 = {"custom": True, "qualities": _XQ}
_V26 = {
    **_V25,
    "output_formats": ("png", "jpeg", "webp", "gif"),  # svg: not in the schema, so not accepted
    "complexities": ("low", "medium", "high"),
    "gif": GifRule(),
}


def _alias(base: ModelCaps, model_id: str) -> ModelCaps:
    return replace(base, id=model_id, same_as=base.id)


_GPT_1_5 = _gpt("gpt-image-1.5", "2025-12-16", input_fidelities=("high", "low"), retired="2026-12-01")
_GPT_2 = _gpt("gpt-image-2", "2026-04-21", custom=True)
_FLARE_25 = _gpt("gpt-image-2.5-flare", "2026-09-08", **_V25)
_SUNBURST_25 = _gpt("gpt-image-2.5-sunburst", "2026-09-08", **_V25)

_ROWS: tuple[ModelCaps, ...] = (
    _DALL_E_2,
    _DALL_E_3,
    _gpt("gpt-image-1", "2025-04-23", input_fidelities=("high", "low"), retired="2026-10-23"),
    _gpt("gpt-image-1-mini", "2025-10-06", input_fidelities=("low",), retired="2026-12-01"),
    _GPT_1_5,
    _alias(_GPT_1_5, "gpt-image-1.5-2025-12-16"),
    replace(_alias(_GPT_1_5, "chatgpt-image-latest"), created=_day("2025-12-16")),
    _GPT_2,
    _alias(_GPT_2, "gpt-image-2-2026-04-21"),
    _FLARE_25,
    _alias(_FLARE_25, "gpt-image-2.5-flare-2026-09-08"),
    _SUNBURST_25,
    _alias(_SUNBURST_25, "gpt-image-2.5-sunburst-2026-09-08"),
    _gpt("gpt-image-2.6-flare", "2026-11-04", **_V26),
    _gpt("gpt-image-2.6-sunburst", "2026-11-04", **_V26),
)

#: model id -> what the real API accepts for it (every id OpenAI ever served for images)
CATALOG: Mapping[str, ModelCaps] = MappingProxyType({caps.id: caps for caps in _ROWS})


def resolve(name: str, aliases: Mapping[str, str] | None = None) -> ModelCaps | None:
    """The row for a model name as a client sends it: a catalog id, or a gateway alias of one.

    Exact match only (the real API is case-sensitive). An alias wins over a catalog id of the same
    name (a gateway may map ``gpt-image-2`` to something else); an alias of an alias is followed.
    """
    seen: set[str] = set()
    while aliases and name in aliases and name not in seen:
        seen.add(name)
        name = aliases[name]
    return CATALOG.get(name)
