"""bot.imaging fitting: an upload made to meet a model's edit-input rules, read from its ModelSpec row."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.imaging import (
    Fitted,
    Placement,
    decode,
    fit_image,
    square_sizes,
    target_side_for,
)
from tests.imaging.samples import (
    BIG,
    BLUE,
    DALLE2,
    GPT2,
    GREEN,
    MB,
    RED,
    YELLOW,
    encoded,
    get_model,
    intake_of,
    near,
    noise,
    photo,
    quadrants,
)


def opened(fitted: Fitted) -> Image.Image:
    im = Image.open(io.BytesIO(fitted.data))
    im.load()
    return im


def test_imaging_does_not_import_discord() -> None:
    code = "import sys, bot.imaging; sys.exit('discord' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_square_sizes_and_decode_hint_come_from_the_spec() -> None:
    assert square_sizes(DALLE2) == (1024, 512, 256)
    assert target_side_for(DALLE2) == 1024
    assert target_side_for(DALLE2, max_side=300) == 300
    assert target_side_for(GPT2) == 2048
    assert target_side_for(GPT2, max_side=1536) == 1536


# --------------------------------------------------------------------------------------------------
# Square-PNG models (dall-e-2)
# --------------------------------------------------------------------------------------------------


def test_square_crop_keeps_the_centre() -> None:
    im = Image.new("RGB", (600, 400), GREEN)
    im.paste(RED, (0, 0, 100, 400))  # cut away by the crop
    im.paste(BLUE, (500, 0, 600, 400))  # cut away by the crop
    fitted = fit_image(intake_of(im), DALLE2, fit="crop")
    assert (fitted.format, fitted.width, fitted.height) == ("png", 400, 400)
    assert (fitted.filename, fitted.content_type) == ("image.png", "image/png")
    assert fitted.placement.crop_box == (100, 0, 500, 400)
    assert not fitted.placement.padded
    out = opened(fitted)
    assert out.format == "PNG" and out.mode == "RGBA" and out.size == (400, 400)
    assert out.getextrema() == ((0, 0), (255, 255), (0, 0), (255, 255))  # all green, all opaque


def test_square_pad_adds_transparent_margins() -> None:
    im = Image.new("RGB", (600, 400), RED)
    fitted = fit_image(intake_of(im), DALLE2, fit="pad")
    assert (fitted.width, fitted.height) == (600, 600)
    assert fitted.placement.paste_box == (0, 100, 600, 500)
    assert fitted.placement.padding == (0, 100, 0, 100)
    out = opened(fitted)
    assert out.mode == "RGBA"
    assert out.getpixel((300, 50)) == (0, 0, 0, 0)
    assert out.getpixel((300, 550)) == (0, 0, 0, 0)
    assert out.getpixel((300, 300)) == (*RED, 255)
    assert out.getpixel((5, 101)) == (*RED, 255)


def test_square_models_get_at_most_the_largest_square_size() -> None:
    im = quadrants((2000, 1500))
    crop = fit_image(intake_of(im), DALLE2, fit="crop")
    pad = fit_image(intake_of(im), DALLE2, fit="pad")
    assert (crop.width, crop.height) == (pad.width, pad.height) == (1024, 1024)
    out = opened(pad)
    # the picture is 1024 x 768, centred: 128 transparent rows above and below
    assert pad.placement.paste_box == (0, 128, 1024, 896)
    assert out.getpixel((10, 130)) == (*RED, 255)
    assert out.getpixel((1000, 890)) == (*YELLOW, 255)
    assert out.getpixel((500, 120))[3] == 0


def test_a_noisy_3000x2000_photo_is_under_4_mb() -> None:
    fitted = fit_image(intake_of(noise((3000, 2000), seed=21)), DALLE2, fit="crop")
    assert len(fitted.data) < 4 * 1024 * 1024
    assert opened(fitted).size == (fitted.width, fitted.height)


def test_an_incompressible_square_steps_down_to_512() -> None:
    # Downscaling smooths noise enough for 1024x1024 to fit under 4 MB; the 512 step is needed when
    # the 1024 crop holds incompressible RGBA pixels as they are (here: random colour AND alpha).
    im = noise((1536, 1024), "RGBA", seed=22)
    too_big = encoded(im.crop((256, 0, 1280, 1024)), "PNG", optimize=True)
    assert len(too_big) >= DALLE2.edit_max_input_bytes  # so stepping down was necessary
    fitted = fit_image(intake_of(im), DALLE2, fit="crop")
    assert len(fitted.data) < 4 * 1024 * 1024
    assert (fitted.width, fitted.height) == (512, 512)
    assert opened(fitted).size == (512, 512)


def test_square_fit_honours_a_smaller_byte_limit_from_the_spec() -> None:
    tight = dataclasses.replace(DALLE2, edit_max_input_bytes=100_000)
    fitted = fit_image(intake_of(noise((700, 700), seed=3)), tight, fit="pad")
    assert len(fitted.data) < 100_000
    assert fitted.width == fitted.height < 256  # below the last listed size: halved again


def test_fitted_files_carry_no_metadata_from_the_upload() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make: nothing personal goes upstream
    for pil_format in ("JPEG", "PNG"):
        intake = intake_of(photo((64, 48)), pil_format, icc_profile=srgb, exif=exif)
        for spec in (DALLE2, GPT2):
            out = opened(fit_image(intake, spec))
            assert "icc_profile" not in out.info and "exif" not in out.info
            assert not out.getexif()


def test_square_fit_keeps_transparency_of_the_upload() -> None:
    im = Image.new("RGBA", (300, 300), (*BLUE, 255))
    im.paste((0, 0, 0, 0), (0, 0, 150, 300))
    out = opened(fit_image(intake_of(im), DALLE2))
    assert out.getpixel((10, 10))[3] == 0
    assert out.getpixel((290, 10)) == (*BLUE, 255)


def test_a_12_megapixel_jpeg_decoded_with_the_hint_fits_at_full_quality_size() -> None:
    data = encoded(photo((4000, 3000)), "JPEG", quality=90)
    intake = decode(data, max_bytes=BIG, target_side=target_side_for(DALLE2))
    assert intake.image.size == (2000, 1500)  # libjpeg decoded at 1/2
    assert intake.original_size == (4000, 3000)
    fitted = fit_image(intake, DALLE2)
    assert (fitted.width, fitted.height) == (1024, 1024)
    assert fitted.placement.crop_box == (500, 0, 3500, 3000)
    assert len(fitted.data) < DALLE2.edit_max_input_bytes


def test_fit_never_scales_up_beyond_the_decoded_pixels() -> None:
    data = encoded(quadrants((1600, 1200)), "JPEG", quality=90)
    intake = decode(data, max_bytes=BIG, target_side=256)  # the caller's hint was too low: 400x300
    fitted = fit_image(intake, DALLE2)
    assert (fitted.width, fitted.height) == (300, 300)
    assert fitted.placement.crop_box == (200, 0, 1400, 1200)  # still in original coordinates


# --------------------------------------------------------------------------------------------------
# GPT image models
# --------------------------------------------------------------------------------------------------


def test_gpt_keeps_the_aspect_ratio_and_caps_the_longest_side() -> None:
    fitted = fit_image(intake_of(photo((3000, 1000))), GPT2)
    assert (fitted.format, fitted.width, fitted.height) == ("jpeg", 2048, 683)
    assert (fitted.filename, fitted.content_type) == ("image.jpg", "image/jpeg")
    assert len(fitted.data) < 50 * MB
    out = opened(fitted)
    assert out.format == "JPEG" and out.size == (2048, 683)


def test_gpt_small_images_are_not_scaled_up_and_fit_mode_does_not_apply() -> None:
    for fit in ("crop", "pad"):
        fitted = fit_image(intake_of(quadrants((300, 200))), GPT2, fit=fit)
        assert (fitted.width, fitted.height) == (300, 200)
        assert not fitted.placement.cropped and not fitted.placement.padded
        assert near(opened(fitted).getpixel((10, 10)), RED)


def test_gpt_uses_png_when_the_image_has_transparency() -> None:
    im = Image.new("RGBA", (400, 100), (*GREEN, 255))
    im.paste((0, 0, 0, 0), (0, 0, 50, 100))
    fitted = fit_image(intake_of(im), GPT2, max_side=200)
    assert (fitted.format, fitted.width, fitted.height) == ("png", 200, 50)
    out = opened(fitted)
    assert out.mode == "RGBA"
    assert out.getpixel((5, 25))[3] == 0
    assert out.getpixel((150, 25)) == (*GREEN, 255)


def test_gpt_format_comes_from_the_spec() -> None:
    webp_only = dataclasses.replace(GPT2, edit_input_formats=("webp",))
    fitted = fit_image(intake_of(photo((320, 240))), webp_only)
    assert (fitted.format, fitted.filename, fitted.content_type) == ("webp", "image.webp", "image/webp")
    assert opened(fitted).format == "WEBP"
    png_only = dataclasses.replace(GPT2, edit_input_formats=("png",))
    assert fit_image(intake_of(photo((320, 240))), png_only).format == "png"


def test_gpt_fit_guarantees_the_byte_limit() -> None:
    tight = dataclasses.replace(GPT2, edit_max_input_bytes=30_000)
    fitted = fit_image(intake_of(noise((600, 400), seed=5)), tight)
    assert len(fitted.data) < 30_000
    assert fitted.width / fitted.height == pytest.approx(1.5, rel=0.02)


def test_models_without_edit_inputs_and_bad_arguments_are_refused() -> None:
    intake = intake_of(quadrants((20, 20)))
    with pytest.raises(ValueError):
        fit_image(intake, get_model("dall-e-3"))
    with pytest.raises(ValueError):
        fit_image(intake, GPT2, fit="stretch")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        fit_image(intake, GPT2, max_side=0)


def test_decode_and_fit_are_safe_to_run_in_parallel_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    jobs = [
        (
            encoded(photo((400, 300), seed=i), "JPEG", quality=90),
            DALLE2 if i % 2 else GPT2,
            ("crop", "pad")[i % 3 % 2],
        )
        for i in range(8)
    ]

    def run(job):
        data, spec, fit = job
        return fit_image(decode(data, max_bytes=BIG, target_side=target_side_for(spec)), spec, fit=fit).data

    serial = [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(run, jobs)) == serial


# --------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------

sizes = st.tuples(st.integers(1, 60_000), st.integers(1, 60_000))


@given(original=sizes, side=st.integers(1, 4096), fit=st.sampled_from(["crop", "pad"]))
def test_square_placement_geometry(original: tuple[int, int], side: int, fit: str) -> None:
    placement = Placement.square(original, side, fit)
    width, height = original
    left, top, right, bottom = placement.crop_box
    p_left, p_top, p_right, p_bottom = placement.paste_box
    assert placement.canvas_size == (side, side)
    if fit == "crop":
        assert right - left == bottom - top == min(width, height)
        assert abs(left - (width - right)) <= 1 and abs(top - (height - bottom)) <= 1
        assert placement.paste_box == (0, 0, side, side)
    else:
        assert placement.crop_box == (0, 0, width, height)
        assert max(p_right - p_left, p_bottom - p_top) == side
        pad_l, pad_t, pad_r, pad_b = placement.padding
        assert abs(pad_l - pad_r) <= 1 and abs(pad_t - pad_b) <= 1
        # the aspect ratio survives up to the rounding of one pixel
        assert abs((p_bottom - p_top) - height * side / max(original)) <= 1
        assert abs((p_right - p_left) - width * side / max(original)) <= 1
    # corners of the kept region land on the corners of the paste box
    assert placement.map_point(left, top) == pytest.approx((p_left, p_top))
    assert placement.map_point(right, bottom) == pytest.approx((p_right, p_bottom))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    fit=st.sampled_from(["crop", "pad"]),
    max_side=st.integers(16, 400),
)
def test_fitted_images_meet_the_model_rules(width: int, height: int, fit: str, max_side: int) -> None:
    intake = intake_of(quadrants((width, height)))
    square = fit_image(intake, DALLE2, fit=fit)
    span = min(width, height) if fit == "crop" else max(width, height)
    assert square.width == square.height == min(span, 1024)
    assert len(square.data) < DALLE2.edit_max_input_bytes
    out = opened(square)
    assert (out.format, out.mode, out.size) == ("PNG", "RGBA", (square.width, square.height))

    keep = fit_image(intake, GPT2, fit=fit, max_side=max_side)
    assert max(keep.width, keep.height) == min(max(width, height), max_side)
    scale = max(keep.width, keep.height) / max(width, height)
    assert abs(keep.width - width * scale) <= 1 and abs(keep.height - height * scale) <= 1
    assert len(keep.data) < GPT2.edit_max_input_bytes
    assert opened(keep).size == (keep.width, keep.height)
