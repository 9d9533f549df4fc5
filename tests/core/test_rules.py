"""A server's rules applied to checked recipes: denials, ceilings, and auto capped to them."""

from __future__ import annotations

import pytest

from bot.core.recipes import Recipe, checked
from bot.core.rules import ServerRules
from bot.errors import ServerRuleRefused
from bot.images import BUILTIN_MODELS, ImageOptions, ModelRegistry

MODELS = ModelRegistry(BUILTIN_MODELS, official_backend=False, default_model="gpt-image-2")


def recipe(model: str = "gpt-image-2", **options) -> Recipe:
    return checked(Recipe("imagine", model, 1, prompt="x", options=ImageOptions(**options)), MODELS)


def test_no_rules_change_nothing():
    made = recipe(quality="high")
    assert ServerRules().apply(made, MODELS.get("gpt-image-2")) is made


def test_auto_is_capped_to_the_best_quality_under_the_ceiling():
    rules = ServerRules(max_quality="medium")
    assert rules.apply(recipe(), MODELS.get("gpt-image-2")).options.quality == "medium"
    assert rules.apply(recipe(quality="low"), MODELS.get("gpt-image-2")).options.quality == "low"
    with pytest.raises(ServerRuleRefused) as refused:
        rules.apply(recipe(quality="high"), MODELS.get("gpt-image-2"))
    assert (refused.value.what, refused.value.value, refused.value.limit) == ("quality", "high", "medium")


def test_hd_is_above_standard_for_dall_e_3():
    rules = ServerRules(max_quality="standard")
    spec = MODELS.get("dall-e-3")
    assert rules.apply(recipe("dall-e-3", quality="standard"), spec).options.quality == "standard"
    with pytest.raises(ServerRuleRefused):
        rules.apply(recipe("dall-e-3", quality="hd"), spec)


def test_auto_size_is_capped_and_larger_sizes_refused():
    rules = ServerRules(max_pixels=1024 * 1024)
    spec = MODELS.get("gpt-image-2")
    assert rules.apply(recipe(), spec).options.size == "1024x1024"
    with pytest.raises(ServerRuleRefused):
        rules.apply(recipe(size="2048x2048"), spec)
    assert rules.apply(recipe(size="1024x1024"), spec).options.size == "1024x1024"


def test_a_denied_model_is_refused():
    with pytest.raises(ServerRuleRefused) as refused:
        ServerRules(denied=frozenset({"gpt-image-2"})).apply(recipe(), MODELS.get("gpt-image-2"))
    assert refused.value.what == "model"
