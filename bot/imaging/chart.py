"""The usage chart of ``/admin usage show``: images made per day as bars, spend per day as a line,
drawn with Pillow (already the bot's imaging library) into a PNG an embed can show."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

__all__ = ["ChartDay", "usage_chart"]

WIDTH, HEIGHT = 960, 400
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 80, 40, 56
BACKGROUND = (43, 45, 49)  # Discord's dark theme, so the chart sits well in an embed
AXIS = (148, 155, 164)
BARS = (88, 101, 242)  # blurple
LINE = (254, 231, 92)
TEXT = (219, 222, 225)


@dataclass(frozen=True)
class ChartDay:
    label: str  # e.g. "05-14"
    images: int
    spend_usd: float


def _nice_top(value: float) -> float:
    """A round number at least ``value`` for an axis's top (1, 2, 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10 if value >= 1 else 0.01
    while True:
        for step in (1, 2, 5, 10):
            if step * power >= value:
                return step * power
        power *= 10


def usage_chart(days: Sequence[ChartDay], *, title: str, images_label: str, spend_label: str) -> bytes:
    """A PNG: one bar per day (images, left axis) and a line over them (spend in USD, right axis)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
    draw.text((left, 10), title, fill=TEXT, font=font)
    draw.line([(left, bottom), (right, bottom)], fill=AXIS, width=1)
    draw.line([(left, top), (left, bottom)], fill=AXIS, width=1)
    draw.line([(right, top), (right, bottom)], fill=AXIS, width=1)
    most_images = _nice_top(max((day.images for day in days), default=0))
    most_spend = _nice_top(max((day.spend_usd for day in days), default=0.0))
    for tick in range(5):
        share = tick / 4
        y = bottom - share * (bottom - top)
        draw.line([(left - 4, y), (left, y)], fill=AXIS)
        draw.text((left - 8, y), f"{most_images * share:g}", fill=AXIS, font=small, anchor="rm")
        draw.text((right + 8, y), f"${most_spend * share:.2f}", fill=AXIS, font=small, anchor="lm")
    draw.text((left, bottom + 30), f"■ {images_label}", fill=BARS, font=small)
    draw.text((left + 160, bottom + 30), f"● {spend_label}", fill=LINE, font=small)
    if not days:
        return _png(image)
    slot = (right - left) / len(days)
    points = []
    every = max(1, round(len(days) / 10))  # at most about ten date labels
    for index, day in enumerate(days):
        x0 = left + index * slot + slot * 0.15
        x1 = left + (index + 1) * slot - slot * 0.15
        height = day.images / most_images * (bottom - top)
        if day.images:
            draw.rectangle([(x0, bottom - height), (x1, bottom - 1)], fill=BARS)
        centre = (x0 + x1) / 2
        points.append((centre, bottom - day.spend_usd / most_spend * (bottom - top)))
        if index % every == 0:
            draw.text((centre, bottom + 6), day.label, fill=AXIS, font=small, anchor="mt")
    if len(points) > 1:
        draw.line(points, fill=LINE, width=3)
    for x, y in points:
        draw.ellipse([(x - 3, y - 3), (x + 3, y + 3)], fill=LINE)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
