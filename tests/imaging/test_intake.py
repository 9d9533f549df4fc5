"""bot.imaging: identifying uploads, decoding them safely, and re-encoding results for delivery.

Every fixture is generated here with Pillow (or written byte by byte where Pillow cannot make it).
Fitting and masks are in test_fitting.py and test_masks.py; how encode_to_fit picks a still's
quality and scale (encodes counted) in test_encoding.py, animated GIFs in test_animation.py; the
images they all use are made in samples.py.
"""

from __future__ import annotations

import io
import random
import struct

import pytest
from PIL import Image

from bot.errors import UserInputError
from bot.imaging import (
    ACCEPTED_FORMATS,
    MAX_PIXELS,
    MIN_BUDGET,
    SNIFFED_TYPES,
    CorruptImage,
    FileTooLarge,
    ImageRejected,
    TooManyPixels,
    UnsupportedImageType,
    decode,
    encode_to_fit,
    sniff,
)
from bot.imaging import intake as intake_module
from tests.imaging.samples import (
    BIG,
    BLUE,
    GREEN,
    RED,
    YELLOW,
    encoded,
    ftyp,
    near,
    noise,
    photo,
    png_header_only,
    quadrants,
    webp_header_only,
)

# --------------------------------------------------------------------------------------------------
# sniff
# --------------------------------------------------------------------------------------------------

SAMPLE = quadrants((32, 24))


@pytest.mark.parametrize(
    ("pil_format", "expected"),
    [
        ("PNG", "png"),
        ("JPEG", "jpeg"),
        ("WEBP", "webp"),
        ("GIF", "gif"),
        ("BMP", "bmp"),
        ("TIFF", "tiff"),
        ("PDF", "pdf"),
        ("ICO", "ico"),
        ("AVIF", "avif"),
    ],
)
def test_sniff_identifies_what_pillow_writes(pil_format: str, expected: str) -> None:
    assert sniff(encoded(SAMPLE, pil_format)) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (ftyp(b"heic", b"mif1", b"heic"), "heic"),
        (ftyp(b"mif1", b"mif1", b"heic"), "heic"),
        (ftyp(b"mif1", b"mif1", b"avif"), "avif"),
        (ftyp(b"avif", b"avif", b"mif1"), "avif"),
        (ftyp(b"isom", b"isom", b"mp41"), "mp4"),
        (ftyp(b"qt  ", b"qt  "), "mov"),
        (b"\x1a\x45\xdf\xa3" + b"\x00" * 40, "webm"),
        (b"8BPS\x00\x01" + b"\x00" * 40, "psd"),
        (b"\xff\x0a" + b"\x00" * 40, "jxl"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 40, "jpeg2000"),
        (b"hello, this is just a note\nwith two lines\n", "text"),
        ("naïve café ☕ — unicode text".encode(), "text"),
        ("utf-16 text".encode("utf-16"), "text"),
        (b"<!DOCTYPE html>\n<html><body>not an image</body></html>", "html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "svg"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "svg"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "pdf"),
        (b"", "unknown"),
        (random.Random(7).randbytes(2048), "unknown"),
        (b"BM but not a bitmap, just text", "text"),
    ],
)
def test_sniff_names_other_files(data: bytes, expected: str) -> None:
    assert sniff(data) == expected
    assert expected in ACCEPTED_FORMATS + SNIFFED_TYPES


def test_sniff_reads_bytes_not_names() -> None:
    # a PNG saved as "photo.jpg" is still a PNG: the content decides
    png = encoded(SAMPLE, "PNG")
    assert sniff(png) == "png"
    assert decode(png, max_bytes=BIG).source_format == "png"


def test_sniff_only_looks_at_the_start() -> None:
    # a signature anywhere but at the start means nothing
    assert sniff(b"notes:\n" + encoded(SAMPLE, "PNG")) != "png"
    assert sniff(b"see the attached GIF89a file") == "text"


# --------------------------------------------------------------------------------------------------
# decode: refusals
# --------------------------------------------------------------------------------------------------


def test_refusals_are_user_input_errors() -> None:
    for cls in (UnsupportedImageType, FileTooLarge, TooManyPixels, CorruptImage):
        assert issubclass(cls, ImageRejected)
    assert issubclass(ImageRejected, UserInputError)


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"just some text the user uploaded\n", "text"),
        (encoded(SAMPLE, "BMP"), "bmp"),
        (encoded(SAMPLE, "TIFF"), "tiff"),
        (encoded(SAMPLE, "PDF"), "pdf"),
        (encoded(SAMPLE, "AVIF"), "avif"),
        (ftyp(b"heic", b"mif1"), "heic"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
        (random.Random(3).randbytes(500), "unknown"),
    ],
)
def test_decode_refuses_types_it_does_not_accept(data: bytes, found: str) -> None:
    with pytest.raises(UnsupportedImageType) as caught:
        decode(data, max_bytes=BIG)
    assert caught.value.found == found
    assert caught.value.subject == "image"


def test_decode_checks_the_size_first() -> None:
    data = encoded(SAMPLE, "PNG")
    with pytest.raises(FileTooLarge) as caught:
        decode(data, max_bytes=len(data) - 1)
    assert (caught.value.size, caught.value.limit) == (len(data), len(data) - 1)
    # over the limit AND not an image: the size is what's reported
    with pytest.raises(FileTooLarge):
        decode(b"x" * 100, max_bytes=99)
    assert decode(data, max_bytes=len(data)).original_size == (32, 24)


def test_decode_refuses_a_header_claiming_too_many_pixels_before_decoding() -> None:
    # 10^10 pixels would need 30 GB: refused from the header alone
    with pytest.raises(TooManyPixels) as caught:
        decode(png_header_only(100_000, 100_000), max_bytes=BIG)
    assert (caught.value.width, caught.value.height, caught.value.limit) == (100_000, 100_000, MAX_PIXELS)


def test_decode_refuses_a_huge_webp_canvas_before_libwebp_allocates_it() -> None:
    with pytest.raises(TooManyPixels) as caught:
        decode(webp_header_only(16_000, 16_000), max_bytes=BIG)
    assert (caught.value.width, caught.value.height) == (16_000, 16_000)


def test_decode_refuses_a_real_image_over_a_lowered_pixel_cap() -> None:
    data = encoded(Image.new("RGB", (2000, 1000), GREEN), "PNG")
    with pytest.raises(TooManyPixels) as caught:
        decode(data, max_bytes=BIG, max_pixels=1_000_000)
    assert (caught.value.width, caught.value.height, caught.value.limit) == (2000, 1000, 1_000_000)
    assert decode(data, max_bytes=BIG, max_pixels=2_000_000).original_size == (2000, 1000)


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG", "GIF"])
def test_decode_refuses_a_truncated_file(pil_format: str) -> None:
    data = encoded(noise((120, 90), seed=1), pil_format)
    with pytest.raises(CorruptImage) as caught:
        decode(data[: len(data) // 2], max_bytes=BIG)
    assert caught.value.detail == intake_module.TRUNCATED


def test_decode_refuses_a_truncated_webp() -> None:
    data = encoded(noise((120, 90), seed=1), "WEBP")
    with pytest.raises(CorruptImage):
        decode(data[: len(data) // 2], max_bytes=BIG)


@pytest.mark.parametrize(
    "magic", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x10\x00\x00WEBPVP8 "]
)
def test_decode_refuses_garbage_behind_a_valid_signature(magic: bytes) -> None:
    data = magic + random.Random(11).randbytes(4000)
    assert sniff(data) in ACCEPTED_FORMATS
    with pytest.raises(CorruptImage):
        decode(data, max_bytes=BIG)


def test_decode_refuses_an_empty_file_and_an_image_without_pixels() -> None:
    with pytest.raises(CorruptImage) as caught:
        decode(b"", max_bytes=BIG)
    assert caught.value.detail == intake_module.EMPTY
    with pytest.raises(CorruptImage):
        decode(png_header_only(0, 10), max_bytes=BIG)


def test_decode_lets_no_pillow_exception_escape_on_mangled_images() -> None:
    rng = random.Random(5)
    originals = [encoded(noise((40, 30), seed=2), fmt) for fmt in ("PNG", "JPEG", "GIF", "WEBP")]
    for original in originals:
        for _ in range(25):
            data = bytearray(original)
            for _ in range(rng.randint(1, 12)):
                data[rng.randrange(8, len(data))] = rng.randrange(256)
            try:
                result = decode(bytes(data), max_bytes=BIG)
            except ImageRejected:
                continue
            assert result.image.mode in ("RGB", "RGBA")


# --------------------------------------------------------------------------------------------------
# decode: what comes out
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pil_format", ["PNG", "JPEG", "WEBP", "GIF"])
def test_decode_accepted_formats(pil_format: str) -> None:
    result = decode(
        encoded(SAMPLE, pil_format, **({"lossless": True} if pil_format == "WEBP" else {})), max_bytes=BIG
    )
    assert result.source_format == sniff(encoded(SAMPLE, pil_format))
    assert result.image.mode == "RGB"
    assert result.original_size == result.image.size == (32, 24)
    assert result.animated is False
    assert near(result.image.getpixel((2, 2)), RED)
    assert near(result.image.getpixel((30, 22)), YELLOW)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    result = decode(encoded(cmyk, "JPEG", quality=95), max_bytes=BIG)
    assert result.image.mode == "RGB"
    assert near(result.image.getpixel((16, 16)), RED, tolerance=20)


def test_jpeg_with_an_srgb_profile_and_png_with_a_broken_profile_decode() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    result = decode(encoded(SAMPLE, "JPEG", quality=95, icc_profile=srgb), max_bytes=BIG)
    assert near(result.image.getpixel((2, 2)), RED)
    broken = decode(encoded(SAMPLE, "PNG", icc_profile=b"not a profile at all"), max_bytes=BIG)
    assert broken.image.getpixel((2, 2)) == RED


def test_16_bit_greyscale_png_is_scaled_to_8_bits_not_clipped() -> None:
    grey16 = Image.frombytes("I;16", (3, 1), struct.pack("<3H", 0, 32768, 65535))
    data = encoded(grey16, "PNG")
    result = decode(data, max_bytes=BIG)
    assert result.image.mode == "RGB"
    values = [result.image.getpixel((x, 0))[0] for x in range(3)]
    assert values[0] == 0 and abs(values[1] - 128) <= 1 and values[2] == 255


def test_palette_png_with_transparency_becomes_rgba() -> None:
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, *RED, *BLUE] + [0] * (256 * 3 - 9))
    palette.paste(2, (4, 0, 8, 8))
    palette.paste(0, (0, 0, 2, 2))
    result = decode(encoded(palette, "PNG", transparency=0), max_bytes=BIG)
    assert result.image.mode == "RGBA"
    assert result.image.getpixel((0, 0))[3] == 0
    assert result.image.getpixel((3, 3)) == (*RED, 255)
    assert result.image.getpixel((6, 6)) == (*BLUE, 255)
    opaque = decode(encoded(palette, "PNG"), max_bytes=BIG)
    assert opaque.image.mode == "RGB"
    assert opaque.image.getpixel((6, 6)) == BLUE


def test_la_png_keeps_its_transparency_and_opaque_alpha_is_dropped() -> None:
    la = Image.new("LA", (8, 8), (200, 255))
    la.paste((50, 0), (0, 0, 4, 8))
    result = decode(encoded(la, "PNG"), max_bytes=BIG)
    assert result.image.mode == "RGBA"
    assert result.image.getpixel((1, 1))[3] == 0
    assert result.image.getpixel((6, 6)) == (200, 200, 200, 255)
    # an alpha channel with every pixel opaque carries nothing: RGB
    opaque = Image.new("RGBA", (8, 8), (*GREEN, 255))
    assert decode(encoded(opaque, "PNG"), max_bytes=BIG).image.mode == "RGB"
    assert decode(encoded(Image.new("LA", (4, 4), (9, 255)), "PNG"), max_bytes=BIG).image.mode == "RGB"


def test_one_bit_png_becomes_rgb() -> None:
    bilevel = Image.new("1", (8, 8), 0)
    bilevel.paste(1, (4, 0, 8, 8))
    result = decode(encoded(bilevel, "PNG"), max_bytes=BIG)
    assert result.image.mode == "RGB"
    assert result.image.getpixel((1, 1)) == (0, 0, 0)
    assert result.image.getpixel((6, 1)) == (255, 255, 255)


def test_exif_orientation_is_applied() -> None:
    stored = quadrants((40, 20))  # TL red, TR blue, BL green, BR yellow
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    result = decode(encoded(stored, "JPEG", quality=95, exif=exif), max_bytes=BIG)
    assert result.image.size == (20, 40)
    assert result.original_size == (20, 40)
    # turned clockwise: TL <- BL, TR <- TL, BR <- TR, BL <- BR
    assert near(result.image.getpixel((4, 4)), GREEN)
    assert near(result.image.getpixel((15, 4)), RED)
    assert near(result.image.getpixel((15, 35)), BLUE)
    assert near(result.image.getpixel((4, 35)), YELLOW)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_broken_exif_block_is_ignored() -> None:
    data = encoded(SAMPLE, "JPEG", quality=95, exif=b"Exif\x00\x00MM\x00*garbage")
    assert decode(data, max_bytes=BIG).image.size == (32, 24)


def _frames() -> list[Image.Image]:
    return [Image.new("RGB", (16, 12), colour) for colour in (RED, GREEN, BLUE)]


@pytest.mark.parametrize(
    ("pil_format", "params"),
    [("GIF", {"duration": 100, "loop": 0}), ("WEBP", {"lossless": True, "duration": 100}), ("PNG", {})],
)
def test_animations_give_their_first_frame(pil_format: str, params: dict) -> None:
    first, *rest = _frames()
    data = encoded(first, pil_format, save_all=True, append_images=rest, **params)
    result = decode(data, max_bytes=BIG)
    assert result.animated is True
    assert result.image.mode == "RGB"
    assert result.image.getpixel((8, 6)) == RED
    single = decode(encoded(first, pil_format), max_bytes=BIG)
    assert single.animated is False


def test_gif_with_a_transparent_colour_becomes_rgba() -> None:
    frame = Image.new("P", (8, 8), 1)
    frame.putpalette([0, 0, 0, *RED] + [0] * (256 * 3 - 6))
    frame.paste(0, (0, 0, 4, 8))
    result = decode(encoded(frame, "GIF", transparency=0), max_bytes=BIG)
    assert result.image.mode == "RGBA"
    assert result.image.getpixel((1, 1))[3] == 0
    assert result.image.getpixel((6, 6)) == (*RED, 255)


def test_target_side_decodes_a_jpeg_at_a_reduced_scale() -> None:
    data = encoded(quadrants((1600, 1200)), "JPEG", quality=90)
    result = decode(data, max_bytes=BIG, target_side=256)
    # 1200 // 256 = 4: libjpeg decodes at 1/4, the shorter side (300) still >= 256
    assert result.image.size == (400, 300)
    assert result.original_size == (1600, 1200)
    assert near(result.image.getpixel((10, 10)), RED)
    assert decode(data, max_bytes=BIG, target_side=1200).image.size == (1600, 1200)
    assert decode(data, max_bytes=BIG, target_side=600).image.size == (800, 600)
    assert decode(data, max_bytes=BIG, target_side=601).image.size == (1600, 1200)
    # other formats ignore the hint
    png = encoded(quadrants((160, 120)), "PNG")
    assert decode(png, max_bytes=BIG, target_side=16).image.size == (160, 120)


def test_target_side_with_exif_rotation_reports_the_upright_full_size() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    data = encoded(quadrants((800, 400)), "JPEG", quality=90, exif=exif)
    result = decode(data, max_bytes=BIG, target_side=100)
    assert result.original_size == (400, 800)
    assert result.image.size == (100, 200)


@pytest.mark.parametrize(
    ("im", "expected"),
    [
        (Image.new("F", (2, 2), 0.5), (128, 128, 128)),
        (Image.new("I", (2, 2), 40000), (156, 156, 156)),
        (Image.new("I", (2, 2), 100), (100, 100, 100)),
        (Image.new("YCbCr", (2, 2), (128, 128, 128)), (128, 128, 128)),
        (Image.new("HSV", (2, 2), (0, 255, 255)), RED),
        (Image.new("LAB", (2, 2), (128, 128, 128)), (119, 119, 119)),  # L* 50, neutral
        (Image.new("CMYK", (2, 2), (0, 0, 0, 255)), (0, 0, 0)),
    ],
)
def test_exotic_modes_normalise_to_rgb(im: Image.Image, expected: tuple[int, int, int]) -> None:
    out = intake_module.normalise(im)
    assert out.mode == "RGB"
    assert near(out.getpixel((0, 0)), expected, tolerance=3)


# --------------------------------------------------------------------------------------------------
# encode_to_fit
# --------------------------------------------------------------------------------------------------


def test_encode_to_fit_leaves_what_fits_untouched() -> None:
    data = encoded(SAMPLE, "PNG")
    out, fmt = encode_to_fit(data, "png", len(data))
    assert out is data and fmt == "png"


def test_encode_to_fit_brings_a_large_png_under_budget() -> None:
    data = encoded(photo((700, 500), seed=4), "PNG")
    budget = 60_000
    out, fmt = encode_to_fit(data, "png", budget)
    assert fmt == "webp" and len(out) <= budget < len(data)
    result = Image.open(io.BytesIO(out))
    assert result.format == "WEBP"
    assert result.size == (700, 500)  # quality alone was enough


def test_encode_to_fit_downscales_when_quality_alone_is_not_enough() -> None:
    data = encoded(noise((600, 600), seed=6), "PNG")
    out, fmt = encode_to_fit(data, "png", 12_000)
    assert fmt == "webp" and len(out) <= 12_000
    result = Image.open(io.BytesIO(out))
    assert result.width == result.height < 600


def test_encode_to_fit_keeps_transparency() -> None:
    im = noise((400, 300), seed=8).convert("RGBA")
    im.putalpha(Image.new("L", (400, 300), 255))
    im.paste((0, 0, 0, 0), (0, 0, 200, 300))
    data = encoded(im, "PNG")
    out, fmt = encode_to_fit(data, "png", 60_000)
    assert fmt == "webp" and len(out) <= 60_000
    result = Image.open(io.BytesIO(out))
    result.load()
    assert result.mode == "RGBA"
    assert result.getpixel((20, 20))[3] <= 5
    assert result.getpixel((result.width - 20, 20))[3] >= 250


def test_encode_to_fit_refuses_absurd_budgets_and_undecodable_data() -> None:
    data = encoded(noise((200, 200), seed=9), "PNG")
    with pytest.raises(ValueError, match="too small"):
        encode_to_fit(data, "png", MIN_BUDGET - 1)
    with pytest.raises(ValueError):
        encode_to_fit(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50_000, "png", MIN_BUDGET)
