"""/edit end to end: uploads, masks of both kinds, fitting to the model, and every intake refusal."""

from __future__ import annotations

import pytest

from tests.helpers import (
    alpha_mask_bytes,
    answer_text,
    answered_privately,
    decode,
    image_bytes,
    images_of,
    mask_bytes,
    quota_of,
)


async def test_edit_sends_the_image_and_prompt_and_posts_the_result(world, api):
    photo = image_bytes(1200, 800, fmt="JPEG")

    await world.alice.slash(world.channel, "edit", image=("photo.jpg", photo), prompt="add a red hat", n=2)

    (request,) = api.requests
    assert request.endpoint == "edits" and request.form["model"] == "gpt-image-2"
    assert request.form["prompt"] == "add a red hat" and request.form["n"] == "2"
    (sent,) = request.files["image"]
    assert decode(sent[2]).size == (1200, 800)  # GPT image models keep the aspect ratio
    message = world.channel.last_message
    assert len(await images_of(message)) == 2
    assert "add a red hat" in message.embeds[0].description
    assert (await quota_of(world.bot, world.guild, world.alice)).used == 2


async def test_a_black_and_white_mask_becomes_an_alpha_mask_aligned_with_the_image(world, api):
    photo = image_bytes(400, 400)
    mask = mask_bytes(400, 400, (100, 100, 200, 200))  # white square: the area to change

    await world.alice.slash(
        world.channel, "edit", image=("p.png", photo), prompt="a window", mask=("m.png", mask)
    )

    sent = decode(api.requests[0].files["mask"][0][2])
    assert sent.mode == "RGBA" and sent.size == (400, 400)
    alpha = sent.getchannel("A")
    assert alpha.getpixel((150, 150)) == 0  # white in the user's mask: transparent, i.e. edit here
    assert alpha.getpixel((20, 20)) == 255  # black: kept


async def test_a_transparent_mask_is_used_as_the_api_expects_and_a_smaller_one_is_scaled(world, api):
    photo = image_bytes(400, 400)
    mask = alpha_mask_bytes(100, 100, (0, 0, 50, 100))  # drawn at a quarter of the size: left half

    await world.alice.slash(world.channel, "edit", image=("p.png", photo), prompt="sky", mask=("m.png", mask))

    sent = decode(api.requests[0].files["mask"][0][2])
    assert sent.size == (400, 400)
    assert sent.getchannel("A").getpixel((100, 200)) == 0
    assert sent.getchannel("A").getpixel((300, 200)) == 255


@pytest.mark.parametrize(("fit", "expect_transparent_corner"), [("crop", False), ("pad", True)])
async def test_dall_e_2_gets_a_square_png_under_4_mb(world, api, fit, expect_transparent_corner):
    photo = image_bytes(1600, 900, fmt="JPEG")

    await world.alice.slash(
        world.channel,
        "edit",
        image=("photo.jpg", photo),
        prompt="a boat",
        model="dall-e-2",
        size="512x512",
        fit=fit,
    )

    data = api.requests[0].files["image"][0][2]
    sent = decode(data)
    assert sent.format == "PNG" and sent.width == sent.height and len(data) < 4 * 1024 * 1024
    corner_alpha = sent.convert("RGBA").getchannel("A").getpixel((0, 0))
    assert (corner_alpha == 0) is expect_transparent_corner


async def test_gpt_image_models_take_two_images(world, api):
    await world.alice.slash(
        world.channel,
        "edit",
        image=("a.png", image_bytes(300, 300)),
        image2=("b.png", image_bytes(200, 300, colour=(10, 10, 200))),
        prompt="put the blue thing next to the orange thing",
    )
    assert len(api.requests[0].files["image[]"]) == 2


async def test_a_model_that_cannot_edit_is_refused_privately(world, api):
    result = await world.alice.slash(
        world.channel, "edit", image=("p.png", image_bytes()), prompt="x", model="dall-e-3"
    )
    assert answered_privately(result)
    assert "dall-e-3 can't edit images" in answer_text(result) and "gpt-image-2" in answer_text(result)
    assert api.requests == []


async def test_two_images_on_dall_e_2_are_refused(world, api):
    result = await world.alice.slash(
        world.channel,
        "edit",
        image=("a.png", image_bytes()),
        image2=("b.png", image_bytes()),
        prompt="x",
        model="dall-e-2",
    )
    assert answered_privately(result) and "images" in answer_text(result)
    assert api.requests == []


def _bomb() -> bytes:
    """A valid PNG header claiming 50,000 x 50,000 pixels (2.5 gigapixels) with almost no data."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


REFUSED_UPLOADS = [
    ("notes.png", b"these are my notes, not a picture\n" * 20, "text file"),  # named .png: the bytes decide
    ("bomb.png", _bomb(), "50,000x50,000 pixels"),
    ("broken.png", image_bytes(300, 300)[:200], "damaged or incomplete"),
    ("scan.pdf", b"%PDF-1.7\n" + b"0" * 500, "PDF"),
]


@pytest.mark.parametrize(("name", "data", "words"), REFUSED_UPLOADS)
async def test_unusable_uploads_are_refused_clearly_cost_nothing_and_the_bot_keeps_serving(
    world, api, name, data, words
):
    result = await world.alice.slash(world.channel, "edit", image=(name, data), prompt="make it nicer")

    text = answer_text(result)
    assert words in text and "Nothing was charged" in text
    assert "Traceback" not in text
    assert api.requests == []
    status = await quota_of(world.bot, world.guild, world.alice)
    assert (status.used, status.reserved) == (0, 0)

    await world.alice.slash(world.channel, "edit", image=("ok.png", image_bytes()), prompt="make it nicer")
    assert len(await images_of(world.channel.last_message)) == 1


async def test_an_upload_over_the_models_limit_is_refused_before_downloading(world, api):
    big = b"\x89PNG\r\n\x1a\n" + bytes(26 * 1024 * 1024)

    result = await world.alice.slash(
        world.channel, "edit", image=("huge.png", big), prompt="x", model="dall-e-2"
    )

    assert answered_privately(result)  # refused before the acknowledgement: nothing downloaded
    assert "26.0 MB" in answer_text(result) and "25.0 MB" in answer_text(result)
    assert api.requests == []
