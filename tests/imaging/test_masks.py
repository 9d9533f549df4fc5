"""bot.imaging masks: both conventions users have, aligned with the fitted image pixel for pixel."""

from __future__ import annotations

import dataclasses
import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.imaging import (
    FileTooLarge,
    Fitted,
    InvalidMask,
    UnsupportedImageType,
    decode,
    fit_image,
    prepare_mask,
    target_side_for,
)
from bot.imaging import masks as masks_module
from tests.imaging.samples import BIG, DALLE2, GPT2, encoded, intake_of, noise, photo

Box = tuple[int, int, int, int]


def bw_mask(size: tuple[int, int], white: Box | None, mode: str = "L") -> Image.Image:
    """Black everywhere, white (= edit) in ``white``."""
    mask = Image.new(mode, size, "black")  # opaque black in every mode
    if white is not None:
        mask.paste(Image.new(mode, size, "white").crop(white), white[:2])
    return mask


def alpha_mask(size: tuple[int, int], hole: Box, hole_alpha: int = 0) -> Image.Image:
    """Opaque everywhere, ``hole_alpha`` (transparent = edit) in ``hole``."""
    mask = Image.new("RGBA", size, (30, 60, 90, 255))
    mask.paste((30, 60, 90, hole_alpha), hole)
    return mask


def alpha_of(fitted: Fitted) -> Image.Image:
    im = Image.open(io.BytesIO(fitted.data))
    im.load()
    assert (im.format, im.mode, im.size) == ("PNG", "RGBA", (fitted.width, fitted.height))
    return im.getchannel("A")


def extrema(alpha: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int]:
    return alpha.crop(box).getextrema()  # type: ignore[return-value]


def fitted_pair(image: Image.Image, spec=GPT2, fit: str = "crop"):
    intake = intake_of(image)
    return intake, fit_image(intake, spec, fit=fit)


# --------------------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------------------


def test_an_alpha_mask_is_used_as_is() -> None:
    intake, fitted = fitted_pair(photo((64, 48)))
    mask = alpha_mask((64, 48), (10, 10, 30, 20))
    mask.paste((0, 0, 0, 100), (40, 30, 50, 40))  # soft: kept as drawn
    result = prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG)
    assert (result.format, result.filename, result.content_type) == ("png", "mask.png", "image/png")
    assert (result.width, result.height) == (64, 48)
    assert result.placement == fitted.placement
    assert list(alpha_of(result).tobytes()) == list(mask.getchannel("A").tobytes())


def test_a_black_and_white_mask_is_converted_white_to_transparent() -> None:
    intake, fitted = fitted_pair(photo((64, 48)))
    result = prepare_mask(encoded(bw_mask((64, 48), (8, 4, 24, 20)), "PNG"), intake, fitted, max_bytes=BIG)
    alpha = alpha_of(result)
    assert extrema(alpha, (8, 4, 24, 20)) == (0, 0)
    outside = alpha.copy()
    outside.paste(255, (8, 4, 24, 20))
    assert outside.getextrema() == (255, 255)


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_a_noisy_jpeg_mask_is_binarised(mode: str) -> None:
    intake, fitted = fitted_pair(photo((96, 64)))
    mask = bw_mask((96, 64), (20, 16, 60, 48), mode)
    result = prepare_mask(encoded(mask, "JPEG", quality=40), intake, fitted, max_bytes=BIG)
    alpha = alpha_of(result)
    assert set(alpha.tobytes()) == {0, 255}  # no half-transparent specks
    assert extrema(alpha, (23, 19, 57, 45)) == (0, 0)
    assert extrema(alpha, (0, 0, 96, 14)) == (255, 255)


def test_colour_masks_use_luminance() -> None:
    intake, fitted = fitted_pair(photo((40, 40)))
    mask = Image.new("RGB", (40, 40), (0, 0, 90))  # dark blue: keep
    mask.paste((255, 255, 160), (0, 0, 20, 40))  # light yellow: edit
    alpha = alpha_of(prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG))
    assert extrema(alpha, (0, 0, 20, 40)) == (0, 0)
    assert extrema(alpha, (20, 0, 40, 40)) == (255, 255)


def test_an_rgba_mask_without_transparency_is_read_as_black_and_white() -> None:
    intake, fitted = fitted_pair(photo((40, 40)))
    mask = bw_mask((40, 40), (0, 0, 10, 10), "RGBA")  # all opaque: white marks the edit area
    alpha = alpha_of(prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG))
    assert extrema(alpha, (0, 0, 10, 10)) == (0, 0)
    assert extrema(alpha, (10, 10, 40, 40)) == (255, 255)


def test_a_mask_marking_everything_is_a_full_repaint() -> None:
    intake, fitted = fitted_pair(photo((40, 30)))
    alpha = alpha_of(
        prepare_mask(encoded(Image.new("L", (40, 30), 255), "PNG"), intake, fitted, max_bytes=BIG)
    )
    assert alpha.getextrema() == (0, 0)


# --------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------


def test_a_mask_of_another_size_is_scaled_to_the_original() -> None:
    intake, fitted = fitted_pair(photo((200, 100)))
    half = bw_mask((100, 50), (25, 10, 50, 30))  # drawn on a half-size thumbnail
    alpha = alpha_of(prepare_mask(encoded(half, "PNG"), intake, fitted, max_bytes=BIG))
    assert alpha.size == (200, 100)
    assert extrema(alpha, (52, 22, 98, 58)) == (0, 0)
    assert extrema(alpha, (0, 0, 200, 18)) == (255, 255)
    assert extrema(alpha, (104, 0, 200, 100)) == (255, 255)


def test_mask_follows_the_square_crop() -> None:
    intake, fitted = fitted_pair(photo((300, 200)), DALLE2, "crop")
    assert fitted.placement.crop_box == (50, 0, 250, 200)
    mask = bw_mask((300, 200), (100, 50, 150, 100))
    alpha = alpha_of(prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG))
    assert alpha.size == (200, 200)
    assert extrema(alpha, (50, 50, 100, 100)) == (0, 0)  # shifted left by the 50 cropped columns
    outside = alpha.copy()
    outside.paste(255, (50, 50, 100, 100))
    assert outside.getextrema() == (255, 255)


def test_mask_follows_the_square_pad_and_leaves_the_padding_editable() -> None:
    intake, fitted = fitted_pair(photo((300, 200)), DALLE2, "pad")
    assert fitted.placement.paste_box == (0, 50, 300, 250)
    mask = bw_mask((300, 200), (100, 50, 150, 100))
    alpha = alpha_of(prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG))
    assert alpha.size == (300, 300)
    assert extrema(alpha, (100, 100, 150, 150)) == (0, 0)  # moved down by the 50-row top margin
    assert extrema(alpha, (0, 0, 300, 50)) == (0, 0)  # padding: the model may paint it
    assert extrema(alpha, (0, 250, 300, 300)) == (0, 0)
    assert extrema(alpha, (0, 50, 300, 100)) == (255, 255)
    assert extrema(alpha, (160, 100, 300, 250)) == (255, 255)


def test_mask_follows_a_downscale_and_a_draft_decoded_image() -> None:
    data = encoded(photo((3000, 2400)), "JPEG", quality=85)
    intake = decode(data, max_bytes=BIG, target_side=target_side_for(DALLE2))
    assert intake.image.size == (1500, 1200)  # draft-decoded at 1/2
    fitted = fit_image(intake, DALLE2, fit="crop")
    assert fitted.placement.crop_box == (300, 0, 2700, 2400)
    mask = bw_mask((600, 480), (240, 60, 300, 120))  # a fifth of the original's size
    alpha = alpha_of(prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG))
    # the square (1200..1500, 300..600) of the original, cropped by 300 and scaled by 1024/2400
    left, top = fitted.placement.map_point(1200, 300)
    right, bottom = fitted.placement.map_point(1500, 600)
    assert (left, top, right, bottom) == pytest.approx((384, 128, 512, 256))
    assert extrema(alpha, (386, 130, 510, 254)) == (0, 0)
    assert extrema(alpha, (0, 0, 1024, 126)) == (255, 255)
    assert extrema(alpha, (514, 0, 1024, 1024)) == (255, 255)
    assert extrema(alpha, (0, 258, 1024, 1024)) == (255, 255)


# --------------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mask",
    [
        Image.new("L", (40, 30), 0),
        Image.new("RGB", (40, 30), (100, 100, 100)),  # grey below 50 %: nothing marked
        Image.new("RGBA", (40, 30), (255, 255, 255, 200)),  # barely transparent: nothing marked
    ],
)
def test_a_mask_that_marks_nothing_is_refused(mask: Image.Image) -> None:
    intake, fitted = fitted_pair(photo((40, 30)))
    with pytest.raises(InvalidMask) as caught:
        prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG)
    assert caught.value.reason == masks_module.NOTHING_MARKED
    assert caught.value.subject == "mask"


def test_a_mask_marking_only_what_the_crop_removes_is_refused() -> None:
    intake, fitted = fitted_pair(photo((300, 200)), DALLE2, "crop")
    mask = bw_mask((300, 200), (0, 0, 40, 200))
    with pytest.raises(InvalidMask) as caught:
        prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG)
    assert caught.value.reason == masks_module.OUTSIDE_CROP
    # the same mask is fine when the image is padded instead
    _, padded = fitted_pair(photo((300, 200)), DALLE2, "pad")
    assert prepare_mask(encoded(mask, "PNG"), intake, padded, max_bytes=BIG).width == 300


def test_a_marked_area_lost_in_the_downscale_is_refused() -> None:
    intake, fitted = fitted_pair(photo((2000, 500)), GPT2)
    fitted = fit_image(intake, GPT2, max_side=200)
    mask = bw_mask((2000, 500), (1000, 250, 1001, 251))  # one pixel, shrunk ten times
    with pytest.raises(InvalidMask) as caught:
        prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG)
    assert caught.value.reason == masks_module.TOO_SMALL


def test_a_mask_of_another_shape_is_refused() -> None:
    intake, fitted = fitted_pair(photo((200, 100)))
    with pytest.raises(InvalidMask) as caught:
        prepare_mask(encoded(bw_mask((100, 100), (0, 0, 50, 50)), "PNG"), intake, fitted, max_bytes=BIG)
    assert "100x100" in caught.value.reason and "200x100" in caught.value.reason
    # rounding of a thumbnail is tolerated
    ok = prepare_mask(encoded(bw_mask((67, 33), (0, 0, 30, 30)), "PNG"), intake, fitted, max_bytes=BIG)
    assert ok.width == 200


def test_mask_decode_refusals_name_the_mask() -> None:
    intake, fitted = fitted_pair(photo((40, 30)))
    with pytest.raises(UnsupportedImageType) as caught:
        prepare_mask(b"this is not a mask", intake, fitted, max_bytes=BIG)
    assert (caught.value.found, caught.value.subject) == ("text", "mask")
    data = encoded(bw_mask((40, 30), (0, 0, 5, 5)), "PNG")
    with pytest.raises(FileTooLarge) as too_large:
        prepare_mask(data, intake, fitted, max_bytes=len(data) - 1)
    assert too_large.value.subject == "mask"


def test_a_fitted_image_of_another_image_is_a_programming_error() -> None:
    intake, _ = fitted_pair(photo((40, 30)))
    _, other = fitted_pair(photo((30, 40)))
    with pytest.raises(ValueError):
        prepare_mask(encoded(bw_mask((40, 30), None), "PNG"), intake, other, max_bytes=BIG)


def test_the_mask_stays_under_the_models_mask_limit() -> None:
    tight = dataclasses.replace(GPT2, mask_max_bytes=40_000)
    intake = intake_of(photo((300, 300)))
    fitted = fit_image(intake, tight)
    assert fitted.mask_max_bytes == 40_000
    # soft, noisy alpha: too big as drawn, so it is binarised to fit
    soft = noise((300, 300), "RGBA", seed=12)
    result = prepare_mask(encoded(soft, "PNG"), intake, fitted, max_bytes=BIG)
    assert len(result.data) < 40_000
    assert set(alpha_of(result).tobytes()) <= {0, 255}
    normal = prepare_mask(encoded(soft, "PNG"), intake, fit_image(intake, GPT2), max_bytes=BIG)
    assert len(normal.data) < GPT2.mask_max_bytes
    assert len(set(alpha_of(normal).tobytes())) > 2  # kept as drawn when it fits


# --------------------------------------------------------------------------------------------------
# Property: the mask lands exactly where the image does
# --------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(24, 400),
    height=st.integers(24, 400),
    spec_and_fit=st.sampled_from([(DALLE2, "crop"), (DALLE2, "pad"), (GPT2, "crop")]),
    max_side=st.integers(40, 500),
    rect=st.tuples(st.floats(0, 0.6), st.floats(0, 0.6), st.floats(0.3, 0.4), st.floats(0.3, 0.4)),
    mask_scale=st.sampled_from([1.0, 0.5, 2.0]),
)
def test_mask_geometry_equals_image_geometry(width, height, spec_and_fit, max_side, rect, mask_scale) -> None:
    spec, fit = spec_and_fit
    intake = intake_of(Image.new("RGB", (width, height), (9, 9, 9)))
    fitted = fit_image(intake, spec, fit=fit, max_side=max_side)
    placement = fitted.placement
    # a rectangle inside the kept part of the original, in original pixels
    c_left, c_top, c_right, c_bottom = placement.crop_box
    span_w, span_h = c_right - c_left, c_bottom - c_top
    x0 = c_left + round(rect[0] * span_w)
    y0 = c_top + round(rect[1] * span_h)
    x1 = min(c_right, x0 + max(1, round(rect[2] * span_w)))
    y1 = min(c_bottom, y0 + max(1, round(rect[3] * span_h)))
    # drawn on a mask of another scale (exact multiples, so the rectangle is representable)
    mask_size = (max(1, round(width * mask_scale)), max(1, round(height * mask_scale)))
    sx, sy = mask_size[0] / width, mask_size[1] / height
    mask = bw_mask(mask_size, (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)))
    mx0, my0, mx1, my1 = (round(x0 * sx) / sx, round(y0 * sy) / sy, round(x1 * sx) / sx, round(y1 * sy) / sy)
    left, top = placement.map_point(mx0, my0)
    right, bottom = placement.map_point(mx1, my1)
    try:
        result = prepare_mask(encoded(mask, "PNG"), intake, fitted, max_bytes=BIG)
    except InvalidMask as refused:
        # only a rectangle too thin to survive the downscale may be lost
        assert refused.reason == masks_module.TOO_SMALL
        assert min(right - left, bottom - top) < 3
        return
    assert (result.width, result.height, result.placement) == (fitted.width, fitted.height, placement)
    alpha = alpha_of(result)
    margin = 2
    inner = (
        math.ceil(left) + margin,
        math.ceil(top) + margin,
        math.floor(right) - margin,
        math.floor(bottom) - margin,
    )
    if inner[0] < inner[2] and inner[1] < inner[3]:
        assert extrema(alpha, inner) == (0, 0)
    outer = (
        math.floor(left) - margin,
        math.floor(top) - margin,
        math.ceil(right) + margin,
        math.ceil(bottom) + margin,
    )
    image_area = alpha.crop(placement.paste_box)
    p_left, p_top = placement.paste_box[:2]
    image_area.paste(255, (outer[0] - p_left, outer[1] - p_top, outer[2] - p_left, outer[3] - p_top))
    assert image_area.getextrema() == (255, 255)
    pad_l, pad_t, pad_r, pad_b = placement.padding
    strips = [
        (0, 0, pad_l, fitted.height),
        (0, 0, fitted.width, pad_t),
        (fitted.width - pad_r, 0, fitted.width, fitted.height),
        (0, fitted.height - pad_b, fitted.width, fitted.height),
    ]
    for strip in strips:
        if strip[0] < strip[2] and strip[1] < strip[3]:
            assert extrema(alpha, strip) == (0, 0)  # padding is editable
