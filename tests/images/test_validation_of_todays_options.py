"""Today's options on today's models: xhigh/max quality, complexity, animated GIF and its size budget."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.images import BUILTIN_MODELS, OptionNotSupported, suggest_sizes
from tests.helpers import edit, generation

get_model = BUILTIN_MODELS.get_model
V26 = get_model("gpt-image-2.6-flare")
V25 = get_model("gpt-image-2.5-sunburst")
V2 = get_model("gpt-image-2")


def sheet_fits(width: int, height: int, frames: int) -> bool:
    """The [3P] GIF budget, written independently: a 3x3 / 4x3 / 4x4 sheet within 3840 px, 8.29 MP."""
    columns, rows = (3, 3) if frames <= 9 else (4, 3) if frames <= 12 else (4, 4)
    return max(columns * width, rows * height) <= 3840 and columns * width * rows * height <= 8_294_400


@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_higher_qualities_exist_on_25_and_26_only(quality: str) -> None:
    assert generation(V26, prompt="x", n=1, quality=quality).options.quality == quality
    assert generation(V25, prompt="x", n=1, quality=quality.upper()).options.quality == quality
    with pytest.raises(OptionNotSupported) as info:
        generation(V2, prompt="x", n=1, quality=quality)
    assert info.value.allowed == ("low", "medium", "high", "auto")


def test_complexity_is_26_only_and_left_out_by_default() -> None:
    assert generation(V26, prompt="x", n=1).options.complexity is None
    assert generation(V26, prompt="x", n=1, complexity="High").options.complexity == "high"
    assert edit(V26, prompt="x", n=1, complexity="low").options.complexity == "low"
    for spec in (V25, V2):
        with pytest.raises(OptionNotSupported) as info:
            generation(spec, prompt="x", n=1, complexity="low")
        assert (info.value.option, info.value.allowed) == ("complexity", ())
    with pytest.raises(OptionNotSupported) as info:
        generation(V26, prompt="x", n=1, complexity="extreme")
    assert info.value.allowed == ("low", "medium", "high")


def test_a_gif_defaults_to_nine_frames_at_the_largest_square_that_fits() -> None:
    options = generation(V26, prompt="x", n=1, output_format="gif").options
    assert (options.output_format, options.frames, options.size) == ("gif", 9, "960x960")
    assert generation(V26, prompt="x", n=1, output_format="gif", frames=12).options.size == "816x816"
    assert generation(V26, prompt="x", n=1, output_format="gif", frames=16).options.size == "720x720"
    assert generation(V26, prompt="x", n=1, output_format="gif", frames=2).options.size == "960x960"


def test_gif_is_refused_where_the_model_has_none() -> None:
    with pytest.raises(OptionNotSupported) as info:
        generation(V25, prompt="x", n=1, output_format="gif")
    assert (info.value.option, info.value.allowed) == ("format", ("png", "jpeg", "webp"))
    with pytest.raises(OptionNotSupported) as info:
        edit(V26, prompt="x", n=1, output_format="gif")
    assert info.value.option == "format"


def test_frames_without_a_gif_are_refused() -> None:
    for spec in (V26, V2):
        with pytest.raises(OptionNotSupported) as info:
            generation(spec, prompt="x", n=1, frames=4)
        assert (info.value.option, info.value.allowed) == ("frames", ())
    with pytest.raises(OptionNotSupported) as info:
        generation(V26, prompt="x", n=1, output_format="png", frames=4)
    assert info.value.option == "frames"


@pytest.mark.parametrize("frames", [0, 1, 17, 99])
def test_frame_counts_outside_two_to_sixteen_are_refused(frames: int) -> None:
    with pytest.raises(OptionNotSupported) as info:
        generation(V26, prompt="x", n=1, output_format="gif", frames=frames)
    assert info.value.allowed_text == "2 to 16"


@pytest.mark.parametrize(
    ("size", "frames"), [("1024x1024", 9), ("auto", 9), ("832x832", 12), ("736x736", 16)]
)
def test_gif_sizes_over_the_budget_are_refused(size: str, frames: int) -> None:
    with pytest.raises(OptionNotSupported) as info:
        generation(V26, prompt="x", n=1, output_format="gif", frames=frames, size=size)
    assert info.value.option == "size"
    assert "frames" in info.value.allowed_text


def test_transparent_gifs_are_refused_because_openai_documents_png_and_webp_only() -> None:
    with pytest.raises(OptionNotSupported) as info:
        generation(V26, prompt="x", n=1, output_format="gif", background="transparent")
    assert (info.value.option, info.value.allowed) == ("format", ("png", "webp"))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 100), st.integers(1, 100), st.integers(2, 16))
def test_gif_size_accepted_iff_the_sheet_fits(w16: int, h16: int, frames: int) -> None:
    width, height = w16 * 16, h16 * 16
    expected = sheet_fits(width, height, frames) and 3 * min(width, height) >= max(width, height)
    try:
        generation(V26, prompt="x", n=1, output_format="gif", frames=frames, size=f"{width}x{height}")
        accepted = True
    except OptionNotSupported:
        accepted = False
    assert accepted == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 16), st.text(alphabet="0123456789x", max_size=9))
def test_every_gif_size_suggestion_fits(frames: int, typed: str) -> None:
    suggestions = suggest_sizes(V26, typed, gif_frames=frames)
    if not typed:
        assert suggestions, "something is always proposed for a GIF"
    for size in suggestions:
        assert (
            generation(V26, prompt="x", n=1, output_format="gif", frames=frames, size=size).options.size
            == size
        )
