"""A server's own rules on models and options (``/admin models deny|allow|limit``), applied to a
checked recipe before anything is held or charged, and to what autocomplete proposes.

- A denied model can't be used in the server (``allow`` lifts the denial).
- A quality ceiling refuses qualities above it; ``auto`` (the model's choice) is sent as the highest
  quality the model has at or under the ceiling, so the model can't choose more.
- A size ceiling is a pixel count: sizes over it are refused; ``auto`` counts as the largest size the
  model may choose, and is sent as the largest standard size under the ceiling when that is lower.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.core.recipes import Recipe
from bot.errors import ServerRuleRefused
from bot.images import ModelSpec, parse_wxh
from bot.images.costing import largest_pixels

__all__ = ["QUALITY_ORDER", "ServerRules"]

#: qualities from cheapest to dearest, across the model families (dall-e-3's "hd" above "standard")
QUALITY_ORDER = ("low", "standard", "medium", "high", "hd", "xhigh", "max")


def quality_rank(quality: str) -> int:
    return QUALITY_ORDER.index(quality) if quality in QUALITY_ORDER else len(QUALITY_ORDER)


@dataclass(frozen=True)
class ServerRules:
    denied: frozenset[str] = field(default_factory=frozenset)
    max_quality: str | None = None
    max_pixels: int | None = None

    @property
    def empty(self) -> bool:
        return not self.denied and self.max_quality is None and self.max_pixels is None

    def allows_model(self, model: str) -> bool:
        return model not in self.denied

    def allows_quality(self, quality: str) -> bool:
        """Whether a member may ask for ``quality`` (``auto`` always: it is capped when applied)."""
        if quality == "auto" or self.max_quality is None:
            return True
        return quality_rank(quality) <= quality_rank(self.max_quality)

    def allows_size(self, spec: ModelSpec, size: str) -> bool:
        if self.max_pixels is None or size == "auto":
            return True
        parsed = parse_wxh(size)
        return parsed is None or parsed[0] * parsed[1] <= self.max_pixels

    def apply(self, recipe: Recipe, spec: ModelSpec) -> Recipe:
        """``recipe`` (checked) within the rules, ``auto`` capped; ``ServerRuleRefused`` otherwise."""
        if not self.allows_model(recipe.model):
            raise ServerRuleRefused("model", recipe.model)
        options = recipe.options
        quality = options.quality
        if quality is not None and not self.allows_quality(quality):
            raise ServerRuleRefused("quality", quality, limit=self.max_quality)
        if quality == "auto" and self.max_quality is not None:
            capped = [q for q in spec.qualities if q != "auto" and self.allows_quality(q)]
            if not capped:
                raise ServerRuleRefused("quality", quality, limit=self.max_quality)
            options = options.changed(quality=max(capped, key=quality_rank))
        size = options.size
        if size is not None and not self.allows_size(spec, size):
            raise ServerRuleRefused("size", size, limit=_limit_text(self.max_pixels))
        if size == "auto" and self.max_pixels is not None and largest_pixels(spec, "auto") > self.max_pixels:
            fitting = [s for s in spec.sizes if s != "auto" and self.allows_size(spec, s)]
            if not fitting:
                raise ServerRuleRefused("size", size, limit=_limit_text(self.max_pixels))
            options = options.changed(size=max(fitting, key=lambda s: _pixels(s)))
        return recipe if options == recipe.options else replace(recipe, options=options)


def _pixels(size: str) -> int:
    parsed = parse_wxh(size)
    return parsed[0] * parsed[1] if parsed else 0


def _limit_text(pixels: int | None) -> str | None:
    return None if pixels is None else f"{pixels / 1_000_000:.1f} megapixels"
