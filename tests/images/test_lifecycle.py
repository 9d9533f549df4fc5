"""The model lifecycle: which models can be used today, and what replaces the ones that can't."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from bot.images import BUILTIN_MODELS, ModelCatalogue, ModelRegistry, ModelRetired, Retirement, UnknownModel

TODAY = date(2026, 12, 2)


def registry(
    *, official: bool, default: str = "gpt-image-2.6-flare", catalogue=BUILTIN_MODELS
) -> ModelRegistry:
    return ModelRegistry(catalogue, official_backend=official, default_model=default)


def test_on_openais_own_api_the_shut_down_models_are_refused_with_their_replacement() -> None:
    models = registry(official=True)
    with pytest.raises(ModelRetired) as info:
        models.usable("gpt-image-1", today=TODAY)
    assert (info.value.shutdown, info.value.replacement) == (date(2026, 10, 23), "gpt-image-2.5-sunburst")
    with pytest.raises(ModelRetired) as info:
        models.usable("gpt-image-1-mini", today=TODAY)
    assert info.value.replacement == "gpt-image-2.6-flare"
    assert models.usable("gpt-image-2.6-sunburst", today=TODAY).name == "gpt-image-2.6-sunburst"
    # the day before its shutdown gpt-image-1-mini was still served, and shown as retiring
    state = models.state("gpt-image-1-mini", today=date(2026, 11, 30))
    assert (state.state, state.usable) == ("retiring", True)


def test_through_a_gateway_openais_dates_do_not_apply() -> None:
    models = registry(official=False)
    assert models.usable("dall-e-3", today=TODAY).name == "dall-e-3"
    assert models.state("gpt-image-1", today=TODAY).state == "active"


def test_the_backends_own_dates_apply_anywhere_and_a_refresh_replaces_them() -> None:
    models = registry(official=False)
    models.update_from_backend(
        {"gpt-image-2": TODAY - timedelta(days=1), "gpt-image-2.5-flare": TODAY + timedelta(days=10)}
    )
    assert models.state("gpt-image-2", today=TODAY).state == "retired"
    retiring = models.state("gpt-image-2.5-flare", today=TODAY)
    assert (retiring.state, retiring.shutdown, retiring.source) == (
        "retiring",
        TODAY + timedelta(days=10),
        "backend",
    )
    assert models.state("gpt-image-2.6-flare", today=TODAY).state == "active"
    far = {"gpt-image-2.5-flare": TODAY + timedelta(days=31)}
    models.update_from_backend(far)
    assert models.state("gpt-image-2.5-flare", today=TODAY).state == "active"
    assert models.state("gpt-image-2", today=TODAY).state == "active"
    models.update_from_backend(None)  # a backend without GET /models changes nothing
    assert models.state("gpt-image-2.5-flare", today=TODAY).shutdown == TODAY + timedelta(days=31)


def test_a_model_seen_gone_is_refused_until_the_next_refresh() -> None:
    models = registry(official=False)
    models.mark_gone("gpt-image-2")
    with pytest.raises(ModelRetired) as info:
        models.usable("gpt-image-2", today=TODAY)
    assert (info.value.shutdown, info.value.replacement) == (None, "gpt-image-2.6-flare")
    assert "gpt-image-2" not in models.supporting("generations", today=TODAY)
    models.update_from_backend({})
    assert models.usable("gpt-image-2", today=TODAY).name == "gpt-image-2"


def test_replacements_are_followed_past_retired_ones_to_a_usable_model() -> None:
    models = registry(official=True)
    assert models.replacement_for("dall-e-2", today=TODAY) == "gpt-image-2.6-flare"
    models.mark_gone("gpt-image-2.5-sunburst")
    assert models.replacement_for("gpt-image-1", today=TODAY) == "gpt-image-2.6-flare"  # the default
    models.mark_gone("gpt-image-2.6-flare")  # the default and the fallback: nothing usable is named
    assert models.replacement_for("gpt-image-1", today=TODAY) is None


def test_an_operators_retirement_applies_on_any_backend() -> None:
    own = dataclasses.replace(
        BUILTIN_MODELS["gpt-image-2"],
        name="house",
        retirement=Retirement(TODAY, "gpt-image-2.6-sunburst", "operator"),
    )
    models = registry(official=False, catalogue=ModelCatalogue({"house": own, **BUILTIN_MODELS}))
    with pytest.raises(ModelRetired) as info:
        models.usable("house", today=TODAY)
    assert info.value.replacement == "gpt-image-2.6-sunburst"


def test_offered_models_leave_the_retired_out() -> None:
    models = registry(official=True)
    offered = models.supporting("edits", today=TODAY)
    assert "gpt-image-1.5" not in offered and "dall-e-2" not in offered
    assert offered[:2] == ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst")
    assert models.supporting("variations", today=TODAY) == ()
    with pytest.raises(UnknownModel):
        models.usable("gpt-image-9", today=TODAY)
