"""encode_to_fit on animated GIFs (bot/imaging/animation.py): still animated, never over budget.

The GIFs are made here with Pillow, of seeded noise so that they are large and every frame differs.
Nothing is timed: the number of GIF encodes is counted instead.
"""

from __future__ import annotations

import functools
import io
import random
import struct

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import GifImagePlugin, Image, ImageSequence

from bot.imaging import MIN_BUDGET, GifFit, animation, encode_to_fit, fit_animation

SIDE = 512
FRAMES = 9
DURATIONS = [80 + 20 * index for index in range(FRAMES)]  # all different, multiples of 10 ms


def noisy_frame(
    size: tuple[int, int], seed: int, tint: tuple[int, int, int] = (255, 255, 255)
) -> Image.Image:
    """Blobs of colour (upscaled random pixels) with grain on top, scaled per channel by ``tint``."""
    rnd = random.Random(seed)
    width, height = size
    small = (max(1, width // 8), max(1, height // 8))
    blobs = Image.frombytes("RGB", small, rnd.randbytes(small[0] * small[1] * 3))
    blobs = blobs.resize(size, Image.Resampling.BILINEAR)
    grain = Image.frombytes("RGB", size, rnd.randbytes(width * height * 3))
    frame = Image.blend(blobs, grain, 0.25)
    bands = [band.point(lambda v, t=t: v * t // 255) for band, t in zip(frame.split(), tint, strict=True)]
    return Image.merge("RGB", bands)


def gif_of(frames: list[Image.Image], **params: object) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], **params)
    return out.getvalue()


@functools.cache
def big_gif(loop: int | None = 0) -> bytes:
    frames = [noisy_frame((SIDE, SIDE), seed) for seed in range(FRAMES)]
    return gif_of(frames, duration=DURATIONS, **({} if loop is None else {"loop": loop}))


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "GIF"
    return im


def durations_of(im: Image.Image) -> list[int]:
    return [frame.info.get("duration", 0) for frame in ImageSequence.Iterator(im)]


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[int, int], int]]:
    """Every GIF encode fit_animation makes, as (size, bytes)."""
    made: list[tuple[tuple[int, int], int]] = []
    real = animation.encode_gif

    def counted(anim: animation.Animation, size: tuple[int, int]) -> bytes:
        assert len(made) < 40, f"fit_animation does not converge: {made}"
        out = real(anim, size)
        made.append((size, len(out)))
        return out

    monkeypatch.setattr(animation, "encode_gif", counted)
    return made


def test_the_test_gif_is_large_and_animated() -> None:
    data = big_gif()
    im = opened(data)
    assert len(data) > 1_500_000
    assert im.is_animated and im.n_frames == FRAMES
    assert durations_of(im) == DURATIONS


def test_an_animation_that_fits_is_returned_unchanged(encodes: list) -> None:
    data = big_gif()
    out, fmt = encode_to_fit(data, "gif", len(data))
    assert out is data and fmt == "gif"
    assert encodes == []


@pytest.mark.parametrize("loop", [0, 3, None])
def test_an_animation_over_budget_stays_an_animation(loop: int | None) -> None:
    data = big_gif(loop)
    budget = len(data) // 3
    out, fmt = encode_to_fit(data, "gif", budget)
    assert fmt == "gif" and len(out) <= budget
    im = opened(out)
    assert im.is_animated and im.n_frames == FRAMES
    assert durations_of(im) == DURATIONS
    assert im.info.get("loop") == loop  # None: no loop block, played once, as the source
    assert im.width == im.height < SIDE


def test_frames_keep_their_order_and_content() -> None:
    data = big_gif()
    out, _ = encode_to_fit(data, "gif", len(data) // 3)
    pairs = zip(ImageSequence.Iterator(opened(data)), ImageSequence.Iterator(opened(out)), strict=True)
    for index, (before, after) in enumerate(pairs):
        expected = before.convert("RGB").resize((8, 8), Image.Resampling.BOX)
        actual = after.convert("RGB").resize((8, 8), Image.Resampling.BOX)
        worst = max(abs(a - b) for a, b in zip(expected.tobytes(), actual.tobytes(), strict=True))
        assert worst <= 24, f"frame {index} differs by {worst}"


def test_fitting_takes_one_or_two_encodes_and_uses_the_budget(encodes: list) -> None:
    data = big_gif()
    budget = len(data) // 2
    out, _ = encode_to_fit(data, "gif", budget)
    assert 1 <= len(encodes) <= 2, encodes
    assert 0.8 * budget <= encodes[0][1] <= 1.1 * budget  # the first scale was predicted
    assert len(out) >= 0.8 * budget  # not shrunk far below what fits


def test_a_first_encode_far_under_budget_is_corrected_upwards(
    encodes: list,
) -> None:
    # as when the source's encoder packs pixels much less tightly than ours
    data = big_gif()
    budget = len(data) // 2
    out, _ = encode_to_fit(data, "gif", budget, gif=GifFit(fit_margin=0.6))
    assert len(encodes) == 2
    (first_size, first_bytes), (second_size, second_bytes) = encodes
    assert first_bytes < animation.FULL_ENOUGH * budget
    assert second_size[0] > first_size[0]
    assert len(out) == (second_bytes if second_bytes <= budget else first_bytes) <= budget


def test_when_both_predictions_are_too_large_it_keeps_shrinking(
    encodes: list,
) -> None:
    # margins that make both predictions land a little over, and small fallback steps
    fit = GifFit(fit_margin=1.3, refit_margin=1.04, fallback_step=0.99)
    data = big_gif()
    budget = len(data) // 3
    out, fmt = encode_to_fit(data, "gif", budget, gif=fit)
    assert fmt == "gif" and len(out) <= budget and opened(out).n_frames == FRAMES
    assert len(encodes) >= 4  # two predictions, then at least two fallback steps
    assert all(size > budget for _, size in encodes[:-1]) and encodes[-1][1] == len(out)
    sides = [width for (width, _), _ in encodes]
    assert sides == sorted(sides, reverse=True) and len(set(sides)) == len(sides)


def test_an_animation_that_cannot_fit_at_the_smallest_size_is_refused(
    encodes: list,
) -> None:
    data = big_gif()
    with pytest.raises(ValueError, match="cannot fit"):
        encode_to_fit(data, "gif", len(data) // 3, gif=GifFit(min_side=450))
    assert encodes[-1][0] == (450, 450)


def test_a_transparent_animation_keeps_its_transparency() -> None:
    # an opaque black border, a transparent hole, noisy content between that differs per frame.
    # Pillow's writer, given per-frame palettes and disposal 2, turns such a border transparent in
    # every frame but the first; so the source is written with one palette, and so must the result be
    rgb = [noisy_frame((320, 320), seed + 40) for seed in range(6)]
    for frame in rgb:
        frame.paste((0, 0, 0), (0, 0, 320, 24))
        frame.paste((0, 0, 0), (0, 296, 320, 320))
    palette = rgb[0].quantize(255)
    table = (palette.getpalette() or []) + [0] * 3
    frames = []
    for frame in rgb:
        indexed = frame.quantize(palette=palette)
        indexed.putpalette(table)
        indexed.paste(255, (110, 110, 210, 210))  # index 255: transparent
        indexed.info["transparency"] = 255
        frames.append(indexed)
    data = gif_of(frames, duration=100, loop=0, disposal=2, palette=table)
    for frame in ImageSequence.Iterator(opened(data)):
        rgba = frame.convert("RGBA")
        assert rgba.getpixel((160, 160))[3] == 0 and rgba.getpixel((160, 4)) == (0, 0, 0, 255)
    budget = len(data) // 2
    out, fmt = encode_to_fit(data, "gif", budget)
    assert fmt == "gif" and len(out) <= budget
    im = opened(out)
    assert im.n_frames == 6
    scale = im.width / 320
    hole = (round(160 * scale), round(160 * scale))
    border = (round(160 * scale), round(4 * scale))
    content = (round(60 * scale), round(60 * scale))
    for index, frame in enumerate(ImageSequence.Iterator(im)):
        rgba = frame.convert("RGBA")
        assert rgba.getpixel(hole)[3] == 0, f"frame {index}: the hole is not transparent"
        assert rgba.getpixel(border)[3] == 255, f"frame {index}: the black border is not opaque"
        assert max(rgba.getpixel(border)[:3]) <= 40
        assert rgba.getpixel(content)[3] == 255


def test_frames_with_palettes_of_their_own_keep_their_colours() -> None:
    tints = [(255, 40, 40), (40, 255, 40), (40, 40, 255), (255, 255, 40)]
    frames = [noisy_frame((400, 400), seed + 60, tint) for seed, tint in enumerate(tints)]
    data = gif_of(frames, duration=150, loop=0)
    source = opened(data)
    palettes = []
    for index in range(len(tints)):  # Pillow wrote each frame with a colour table of its own
        source.seek(index)
        palettes.append(bytes(source._frame_palette.palette))  # type: ignore[attr-defined]
    assert len(set(palettes)) == len(tints)
    out, _ = encode_to_fit(data, "gif", len(data) // 2)
    pairs = zip(ImageSequence.Iterator(source), ImageSequence.Iterator(opened(out)), strict=True)
    for index, (before, after) in enumerate(pairs):
        expected = before.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        actual = after.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        assert max(abs(a - b) for a, b in zip(expected, actual, strict=True)) <= 12, (index, expected, actual)


def test_a_single_frame_gif_over_budget_becomes_a_webp(encodes: list) -> None:
    data = gif_of([noisy_frame((400, 400), 7)])
    assert not opened(data).is_animated
    out, fmt = encode_to_fit(data, "gif", len(data) // 2)
    assert fmt == "webp" and len(out) <= len(data) // 2
    assert Image.open(io.BytesIO(out)).format == "WEBP"
    assert encodes == []
    assert fit_animation(data, len(data) // 2) is None


def test_a_budget_too_small_for_an_image_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        encode_to_fit(big_gif(), "gif", MIN_BUDGET - 1)


def test_a_damaged_animation_is_refused() -> None:
    data = big_gif()
    with pytest.raises(ValueError):
        encode_to_fit(data[: len(data) // 2], "gif", len(data) // 4)
    with pytest.raises(ValueError):
        encode_to_fit(b"GIF89a" + b"\xff" * 50_000, "gif", MIN_BUDGET)


def test_frames_times_canvas_is_capped_before_any_pixel_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real_load = GifImagePlugin.GifImageFile.load

    def load(self):  # type: ignore[no-untyped-def]
        decoded.append(self.tell())
        return real_load(self)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "load", load)
    data = big_gif()
    with pytest.raises(ValueError, match="pixels in all"):  # one frame fits, nine don't
        encode_to_fit(data, "gif", len(data) // 2, gif=GifFit(max_pixels=2 * SIDE * SIDE))
    assert decoded == []


def test_the_number_of_frames_is_capped() -> None:
    data = big_gif()
    with pytest.raises(ValueError, match="frames"):
        encode_to_fit(data, "gif", len(data) // 2, gif=GifFit(max_frames=FRAMES - 1))


def test_a_frame_that_enlarges_the_canvas_is_checked_before_it_is_decoded() -> None:
    # a 16x16 GIF whose second frame claims 5000x5000: 2 x 25 MP is over the 40 MP cap
    one = gif_of([Image.new("P", (16, 16), 1)])
    descriptor = one.index(b",\x00\x00\x00\x00\x10\x00\x10\x00")
    image_data = one[descriptor + 10 : -1]
    huge = b"," + struct.pack("<4H", 0, 0, 5000, 5000) + b"\x00" + image_data
    data = one[:-1] + huge + b";"
    assert GifImagePlugin.GifImageFile(io.BytesIO(data)).n_frames == 2
    with pytest.raises(ValueError, match="pixels in all"):
        fit_animation(data, MIN_BUDGET)


@settings(max_examples=20, deadline=None)
@given(
    side=st.integers(min_value=48, max_value=128),
    aspect=st.sampled_from([1.0, 0.5, 1.7]),
    count=st.integers(min_value=2, max_value=8),
    smooth=st.integers(min_value=1, max_value=8),
    transparent=st.booleans(),
    fraction=st.floats(min_value=0.0, max_value=0.99),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_the_result_is_never_over_budget(
    side: int, aspect: float, count: int, smooth: int, transparent: bool, fraction: float, seed: int
) -> None:
    size = (side, round(side * aspect))
    frames = []
    for index in range(count):
        frame = noisy_frame(size, seed + index)
        if smooth > 1:  # from pure noise to blobs: the source's and the result's bytes per pixel vary
            frame = frame.reduce(smooth).resize(size, Image.Resampling.BILINEAR)
        if transparent:
            frame = frame.convert("RGBA")
            frame.paste((0, 0, 0, 0), (0, 0, size[0] // 3, size[1]))
        frames.append(frame)
    data = gif_of(frames, duration=50, loop=0, disposal=2)
    assume(len(data) > MIN_BUDGET + 1)
    budget = MIN_BUDGET + int((len(data) - MIN_BUDGET - 1) * fraction)  # always over budget
    out, fmt = encode_to_fit(data, "gif", budget)
    assert len(out) <= budget
    im = opened(out)
    assert fmt == "gif" and im.n_frames == count
