"""What a request cost: exact from the backend's usage (text and image input priced apart), else
estimated from the table."""

from __future__ import annotations

import dataclasses

import pytest

from bot.images import BUILTIN_MODELS, GeneratedImage, ImageResult, TokenPricing, Usage, request_cost
from bot.images.pricing import Cost, add_costs

V26 = BUILTIN_MODELS["gpt-image-2.6-sunburst"]
PNG = GeneratedImage(b"\x89PNG\r\n\x1a\n", "png")


def result(usage: Usage | None, *, images: int = 1, size: str | None = None, quality: str | None = None):
    return ImageResult(images=(PNG,) * images, usage=usage, size=size, quality=quality)


def test_26_prices_text_and_image_input_apart() -> None:
    assert V26.pricing == TokenPricing(5.0, 8.0, 30.0, V26.pricing.output_tokens_estimate)
    usage = Usage(1_500, 4_000, 5_500, input_text_tokens=500, input_image_tokens=1_000)
    cost = request_cost(V26, result(usage), size="1024x1024", quality="high", had_input_images=True)
    assert cost == Cost(pytest.approx((500 * 5 + 1_000 * 8 + 4_000 * 30) / 1e6), exact=True)


def test_an_edit_without_the_split_is_priced_at_the_image_rate_and_marked_estimated() -> None:
    usage = Usage(1_000, 0, 1_000)
    cost = request_cost(V26, result(usage), size=None, quality=None, had_input_images=True)
    assert cost == Cost(pytest.approx(1_000 * 8 / 1e6), exact=False)
    text_only = request_cost(V26, result(usage), size=None, quality=None, had_input_images=False)
    assert text_only == Cost(pytest.approx(1_000 * 5 / 1e6), exact=True)


def test_without_usage_a_token_model_is_estimated_from_size_quality_and_images() -> None:
    low = request_cost(V26, result(None, images=2), size="1536x1024", quality="low", had_input_images=False)
    high = request_cost(V26, result(None, images=2), size="1536x1024", quality="high", had_input_images=False)
    big = request_cost(V26, result(None, images=2), size="3072x2048", quality="high", had_input_images=False)
    assert low is not None and high is not None and big is not None
    assert not (low.exact or high.exact or big.exact)
    assert low.usd == pytest.approx(2 * 664 * 30 / 1e6)
    assert low.usd < high.usd < big.usd
    assert big.usd == pytest.approx(4 * high.usd)


def test_the_size_and_quality_the_response_reports_win() -> None:
    spec = BUILTIN_MODELS["gpt-image-1"]
    cost = request_cost(
        spec,
        result(None, size="1024x1024", quality="low"),
        size="auto",
        quality="auto",
        had_input_images=False,
    )
    assert cost == Cost(pytest.approx(0.011), exact=False)


def test_per_image_prices_count_the_images_that_came_back() -> None:
    spec = BUILTIN_MODELS["dall-e-3"]
    cost = request_cost(spec, result(None, images=1), size="1792x1024", quality="hd", had_input_images=False)
    assert cost == Cost(pytest.approx(0.12), exact=False)


def test_a_token_model_without_estimates_has_no_cost_without_usage() -> None:
    spec = dataclasses.replace(V26, pricing=TokenPricing(1.0, 2.0, 3.0))
    assert request_cost(spec, result(None), size=None, quality=None, had_input_images=False) is None


def test_costs_add_up_and_are_exact_only_when_every_part_is() -> None:
    assert add_costs([]) is None
    assert add_costs([Cost(0.1, True), Cost(0.2, True)]) == Cost(pytest.approx(0.3), True)
    assert add_costs([Cost(0.1, True), Cost(0.2, False)]).exact is False


def test_the_worst_case_is_an_upper_bound_of_what_a_job_can_be_billed():
    from bot.images import BUILTIN_MODELS, Usage, worst_case_cost

    dalle3 = BUILTIN_MODELS.get_model("dall-e-3")
    exact = dalle3.pricing.price("hd", "1792x1024")
    assert worst_case_cost(dalle3, size="1792x1024", quality="hd", images=3) == pytest.approx(3 * exact)

    v26 = BUILTIN_MODELS.get_model("gpt-image-2.6-flare")
    high_4k = worst_case_cost(v26, size="3840x2160", quality="high", images=1)
    assert worst_case_cost(v26, size="auto", quality="auto", images=1) >= high_4k  # auto may pick both
    assert worst_case_cost(v26, size="1024x1024", quality="low", images=1) < high_4k
    # twice the table's tokens: a 4K high image billed at the table's count is well inside
    billed = v26.pricing.cost(Usage(0, 3_337, 3_337, 0, 0), had_input_images=False).usd
    assert billed < high_4k
    with_inputs = worst_case_cost(v26, size="1024x1024", quality="low", images=1, input_images=2)
    assert with_inputs > worst_case_cost(v26, size="1024x1024", quality="low", images=1)
    assert worst_case_cost(v26, size="1024x1024", quality="low", images=2, ceiling_per_image=5.0) == 10.0
