"""encode_to_fit on stills (bot/imaging/encoding.py): the WebP quality, or the scale, is predicted
from a first encode and corrected once, not searched for; never over the budget, never needlessly
far under it. (The contract's basics, alpha and refusals, are in test_intake.py.)

Nothing is timed: WebP encodes are counted instead, by wrapping ``encoding.encode``. A large image's
first encodes are of a sample (a few bands of its rows, ``_sample``), told apart here by their size.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.imaging import MIN_BUDGET, StillFit, encode_to_fit, encoding
from bot.imaging.encoding import DELIVERY_QUALITY_MAX, DELIVERY_QUALITY_MIN, FIT_FLOOR, WEBP_MAX_SIDE
from tests.imaging.samples import encoded, noise, photo

#: large enough to be sampled (SAMPLE_MIN_BANDS bands of SAMPLE_BAND rows in an eighth of its rows)
LARGE = (1024, 768)
SMALL = (320, 240)


class Encode(NamedTuple):
    size: tuple[int, int]
    quality: int | None
    data: bytes


@pytest.fixture
def encodes(monkeypatch: pytest.MonkeyPatch) -> list[Encode]:
    """Every WebP encode encode_to_fit makes, in order."""
    made: list[Encode] = []
    real = encoding.encode

    def counted(im: Image.Image, fmt: str, **params) -> bytes:
        assert len(made) < 40, f"encode_to_fit does not converge: {[(e.size, e.quality) for e in made]}"
        out = real(im, fmt, **params)
        made.append(Encode(im.size, params.get("quality"), out))
        return out

    monkeypatch.setattr(encoding, "encode", counted)
    return made


def webp_size(im: Image.Image, quality: int) -> int:
    return len(encoding.encode(im, "webp", quality=quality))


def at_size(made: list[Encode], size: tuple[int, int]) -> list[Encode]:
    return [e for e in made if e.size == size]


def samples(made: list[Encode], width: int) -> list[Encode]:
    """The sample encodes: the image's width, a few bands of rows."""
    return [e for e in made if e.size[0] == width and e.size[1] <= LARGE[1] // 8 + 32]


def fitted(out: bytes) -> Image.Image:
    result = Image.open(io.BytesIO(out))
    assert result.format == "WEBP"
    result.load()
    return result


def quality_of(made: list[Encode], out: bytes) -> int:
    (chosen,) = [e for e in made if e.data is out]
    assert chosen.quality is not None
    return chosen.quality


def is_best_that_fits(made: list[Encode], out: bytes, budget: int) -> bool:
    """At least FIT_FLOOR of the budget, or the top quality, or one quality below one that was tried at
    the same size and did not fit: nothing better was left on the table."""
    (chosen,) = [e for e in made if e.data is out]
    if len(out) >= FIT_FLOOR * budget or chosen.quality == DELIVERY_QUALITY_MAX:
        return True
    assert chosen.quality is not None
    return any(
        e.size == chosen.size and e.quality == chosen.quality + 1 and len(e.data) > budget for e in made
    )


# --------------------------------------------------------------------------------------------------
# A large photo: a sample first, then one or two encodes in full
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_photo() -> tuple[Image.Image, bytes, int]:
    """The photo, its PNG, and its WebP size at the top quality."""
    im = photo(LARGE, seed=11)
    return im, encoded(im, "PNG"), webp_size(im, DELIVERY_QUALITY_MAX)


@pytest.mark.parametrize("share", [0.3, 0.5, 0.8])
def test_a_large_photo_over_budget_is_encoded_in_full_once_or_twice(large_photo, encodes, share) -> None:
    _, data, top = large_photo
    budget = int(top * share)
    out, fmt = encode_to_fit(data, "png", budget)
    assert fmt == "webp" and FIT_FLOOR * budget <= len(out) <= budget
    assert fitted(out).size == LARGE  # quality alone was enough
    assert 1 <= len(at_size(encodes, LARGE)) <= 2
    assert len(samples(encodes, LARGE[0])) <= encoding.SAMPLE_PROBES
    assert len(encodes) == len(at_size(encodes, LARGE)) + len(samples(encodes, LARGE[0]))


def test_a_large_photo_that_fits_at_the_top_quality_is_encoded_in_full_once(large_photo, encodes) -> None:
    _, data, top = large_photo
    budget = int(top * 1.2)
    out, _ = encode_to_fit(data, "png", budget)
    assert len(out) == top <= budget
    assert [e.quality for e in at_size(encodes, LARGE)] == [DELIVERY_QUALITY_MAX]


def test_a_large_image_with_alpha_keeps_it_in_one_or_two_full_encodes(encodes) -> None:
    im = photo(LARGE, seed=12).convert("RGBA")
    im.paste((0, 0, 0, 0), (0, 0, LARGE[0] // 2, LARGE[1]))
    budget = webp_size(im, DELIVERY_QUALITY_MAX) // 2
    encodes.clear()
    out, _ = encode_to_fit(encoded(im, "PNG"), "png", budget)
    result = fitted(out)
    assert result.mode == "RGBA" and FIT_FLOOR * budget <= len(out) <= budget
    assert result.getpixel((20, 20))[3] <= 5 and result.getpixel((LARGE[0] - 20, 20))[3] >= 250
    assert 1 <= len(at_size(encodes, LARGE)) <= 2


def test_wrong_predictions_cost_encodes_never_bytes(large_photo, encodes) -> None:
    # A sample taken to be twice what it is and a prior three times too flat: the first guesses
    # are far over the budget, and the fallback still ends within it, near it.
    wrong = StillFit(sample_overestimate=2.0, prior_slopes=((40, 0.6), (85, 0.7), (90, 1.0)))
    _, data, top = large_photo
    budget = int(top * 0.4)
    out, _ = encode_to_fit(data, "png", budget, still=wrong)
    assert len(out) <= budget and is_best_that_fits(encodes, out, budget)
    assert fitted(out).size == LARGE
    assert any(len(e.data) > budget for e in at_size(encodes, LARGE))  # the guesses did miss
    assert len(at_size(encodes, LARGE)) <= 6


def test_without_a_tolerance_the_fallback_finds_the_best_quality_that_fits(encodes) -> None:
    im = photo((640, 480), seed=16)  # not sampled: every encode is in full
    budget = webp_size(im, 80) + 1  # quality 80 fits, a byte under
    encodes.clear()
    out, _ = encode_to_fit(
        encoded(im, "PNG"), "png", budget, still=StillFit(fit_floor=1.0)
    )  # never good enough
    assert len(out) <= budget
    best = quality_of(encodes, out)
    assert best == 80
    above = [e for e in encodes if e.quality == best + 1]
    assert above and len(above[0].data) > budget  # the next quality up was tried: it does not fit
    assert len(encodes) <= 8


# --------------------------------------------------------------------------------------------------
# Shrinking: only when the lowest quality is over the budget, to the predicted size
# --------------------------------------------------------------------------------------------------


def test_an_image_hopeless_at_full_size_is_shrunk_without_encoding_it_in_full(encodes) -> None:
    im = noise(LARGE, seed=13)
    budget = webp_size(im, DELIVERY_QUALITY_MIN) // 3
    encodes.clear()
    out, _ = encode_to_fit(encoded(im, "PNG"), "png", budget)
    result = fitted(out)
    assert FIT_FLOOR * budget <= len(out) <= budget
    assert result.width < LARGE[0] and abs(result.width / result.height - 4 / 3) < 0.01
    assert at_size(encodes, LARGE) == []  # the sample said it: no full encode at a size that cannot fit
    assert len([e for e in encodes if e.size == result.size]) <= 3


def test_a_small_image_is_shrunk_only_when_the_lowest_quality_is_over(encodes) -> None:
    im = noise(SMALL, seed=14)
    lowest = webp_size(im, DELIVERY_QUALITY_MIN)
    encodes.clear()
    out, _ = encode_to_fit(encoded(im, "PNG"), "png", int(lowest * 1.05))
    assert fitted(out).size == SMALL and quality_of(encodes, out) >= DELIVERY_QUALITY_MIN

    encodes.clear()
    budget = int(lowest * 0.6)
    out, _ = encode_to_fit(encoded(im, "PNG"), "png", budget)
    assert FIT_FLOOR * budget <= len(out) <= budget
    assert fitted(out).width < SMALL[0]
    tried = at_size(encodes, SMALL)
    assert [e.quality for e in tried if len(e.data) > budget][-1] == DELIVERY_QUALITY_MIN
    assert len(encodes) <= 6  # two sizes, a prediction and at most a correction at each


def test_a_still_wider_than_webp_allows_is_narrowed_first() -> None:
    im = noise((WEBP_MAX_SIDE + 600, 24), seed=15)
    data = encoded(im, "PNG")
    out, _ = encode_to_fit(data, "png", len(data) // 2)
    result = fitted(out)
    assert result.width <= WEBP_MAX_SIDE and len(out) <= len(data) // 2


# --------------------------------------------------------------------------------------------------
# Any budget: never over it, never needlessly far under it
# --------------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["photo", "noise", "alpha"]),
    seed=st.integers(0, 3),
    share=st.floats(0.05, 0.99),
)
def test_any_budget_gets_the_best_webp_that_fits(encodes, kind, seed, share) -> None:
    im = noise(SMALL, seed=seed) if kind == "noise" else photo(SMALL, seed=seed)
    if kind == "alpha":
        im = im.convert("RGBA")
        im.paste((0, 0, 0, 0), (0, 0, SMALL[0] // 3, SMALL[1]))
    data = encoded(im, "PNG")
    budget = max(MIN_BUDGET, int(len(data) * share))
    encodes.clear()
    out, fmt = encode_to_fit(data, "png", budget)
    if len(data) <= budget:
        assert out is data
        return
    assert fmt == "webp" and len(out) <= budget
    result = fitted(out)
    assert result.mode == im.mode
    assert is_best_that_fits(encodes, out, budget)
    for size in {e.size for e in encodes if e.size[0] > result.width}:
        # shrunk further only after the lowest quality at that size was measured over the budget
        lowest = [e for e in encodes if e.size == size and e.quality == DELIVERY_QUALITY_MIN]
        assert lowest and len(lowest[-1].data) > budget
    assert len(encodes) <= 8
