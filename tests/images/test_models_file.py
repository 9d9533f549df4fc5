"""MODELS_FILE: operator rows added to or overriding the built-in catalogue, from real TOML files."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.images.builtin_models import BUILTIN_MODELS
from bot.images.catalogue import GifRule, ModelCatalogue, ModelSpec, Retirement
from bot.images.costing import request_cost
from bot.images.datatypes import GeneratedImage, ImageResult, Usage
from bot.images.models_file import ModelsFileError, load_models_file, parse_models
from bot.images.pricing import ImagePrice, PerImagePricing, TokenPricing
from bot.images.sizes import CustomSizeRule
from tests.helpers import REPO

MB = 1024 * 1024
GPT2 = BUILTIN_MODELS["gpt-image-2"]
FLARE = BUILTIN_MODELS["gpt-image-2.6-flare"]
BUILTIN_NAMES = list(BUILTIN_MODELS)


def load(tmp_path: Path, text: str, base: ModelCatalogue = BUILTIN_MODELS) -> ModelCatalogue:
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    return load_models_file(path, base)


def row(tmp_path: Path, body: str, like: str = "gpt-image-2", name: str = "house-model") -> ModelSpec:
    """The one row ``body`` describes, made like ``like``."""
    return load(tmp_path, f'[models."{name}"]\nlike = "{like}"\n{body}\n')[name]


def broken(tmp_path: Path, text: str) -> ModelsFileError:
    with pytest.raises(ModelsFileError) as caught:
        load(tmp_path, text)
    return caught.value


def unchanged_except(spec: ModelSpec, like: ModelSpec, *fields: str) -> None:
    """``spec`` is ``like`` apart from ``fields`` (and, for a new row, its name, upstream and retirement)."""
    if spec.name != like.name:
        like = dataclasses.replace(like, name=spec.name, upstream="", retirement=None)
    assert dataclasses.replace(spec, **{field: getattr(like, field) for field in fields}) == like


# -- inheriting, overriding, order -----------------------------------------------------------------


def test_an_alias_row_inherits_everything_but_its_name_and_upstream(tmp_path: Path) -> None:
    catalogue = load(
        tmp_path, '[models."house-model"]\nlike = "gpt-image-2"\nupstream = "my-gateway/gpt-image-2"\n'
    )
    spec = catalogue["house-model"]
    assert spec == dataclasses.replace(GPT2, name="house-model", upstream="my-gateway/gpt-image-2")
    assert spec.upstream_id == "my-gateway/gpt-image-2"
    assert catalogue.find("HOUSE-MODEL") is spec
    assert list(catalogue) == ["house-model", *BUILTIN_NAMES]
    assert all(catalogue[name] is BUILTIN_MODELS[name] for name in BUILTIN_NAMES)


def test_upstream_defaults_to_the_rows_own_name(tmp_path: Path) -> None:
    spec = row(tmp_path, "", name="openai/gpt-image-2.6-sunburst", like="gpt-image-2.6-sunburst")
    assert spec.upstream == ""
    assert spec.upstream_id == "openai/gpt-image-2.6-sunburst"


def test_a_row_named_like_a_builtin_overrides_it_in_place(tmp_path: Path) -> None:
    catalogue = load(tmp_path, '[models."gpt-image-2"]\nmax_n = 4\nsummary = "our gateway"\n')
    assert list(catalogue) == BUILTIN_NAMES
    spec = catalogue["gpt-image-2"]
    assert (spec.images_per_request, spec.summary) == (4, "our gateway")
    unchanged_except(spec, GPT2, "images_per_request", "summary")


def test_builtins_false_keeps_only_the_files_rows(tmp_path: Path) -> None:
    text = (
        "builtins = false\n"
        '[models."dall-e-2"]\nmax_n = 2\n'
        '[models."house-model"]\nlike = "gpt-image-2"\n'
        '[models."gpt-image-2.6-flare"]\n'
    )
    catalogue = load(tmp_path, text)
    assert list(catalogue) == ["house-model", "gpt-image-2.6-flare", "dall-e-2"]
    assert catalogue["dall-e-2"].images_per_request == 2


def test_builtins_true_is_the_default(tmp_path: Path) -> None:
    assert list(load(tmp_path, "builtins = true\n")) == BUILTIN_NAMES
    assert list(load(tmp_path, "")) == BUILTIN_NAMES


def test_new_rows_come_first_in_file_order_then_the_base_rows_in_theirs(tmp_path: Path) -> None:
    text = (
        '[models."zeta"]\nlike = "gpt-image-2"\n'
        '[models."dall-e-2"]\nsummary = "still here"\n'
        '[models."alpha"]\nlike = "dall-e-3"\n'
        '[models."gpt-image-2.6-flare"]\nmax_n = 3\n'
    )
    catalogue = load(tmp_path, text)
    assert list(catalogue) == ["zeta", "alpha", *BUILTIN_NAMES]
    assert catalogue["dall-e-2"].summary == "still here"
    assert catalogue["gpt-image-2.6-flare"].images_per_request == 3


def test_like_may_name_a_row_defined_above_and_sees_overrides(tmp_path: Path) -> None:
    text = (
        '[models."gpt-image-2"]\nmax_n = 2\n'
        '[models."base-house"]\nlike = "GPT-Image-2"\nprompt_max = 900\n'
        '[models."second-house"]\nlike = "base-house"\nupstream = "second"\n'
    )
    catalogue = load(tmp_path, text)
    second = catalogue["second-house"]
    assert (second.images_per_request, second.max_prompt_chars, second.upstream) == (2, 900, "second")
    unchanged_except(second, GPT2, "images_per_request", "max_prompt_chars", "upstream")


def test_names_are_stored_as_written(tmp_path: Path) -> None:
    catalogue = load(tmp_path, '[models."House.Model_2"]\nlike = "gpt-image-2"\n')
    assert next(iter(catalogue)) == "House.Model_2"
    assert catalogue.find("House.Model_2") is catalogue["House.Model_2"]


def test_parse_models_takes_parsed_toml_and_any_base() -> None:
    base = ModelCatalogue({"solo": dataclasses.replace(GPT2, name="solo", upstream="solo-upstream")})
    catalogue = parse_models({"models": {"solo": {"max_n": 1}, "duo": {"like": "solo"}}}, base)
    assert list(catalogue) == ["duo", "solo"]
    assert catalogue["solo"].upstream == "solo-upstream"  # in place: the row keeps its upstream
    assert catalogue["duo"].upstream == ""  # a new row: its own name
    assert catalogue["duo"].images_per_request == 1


def test_every_builtin_row_survives_an_empty_override() -> None:
    for name in BUILTIN_NAMES:
        assert parse_models({"models": {name: {}}})[name] == BUILTIN_MODELS[name]
        assert parse_models({"models": {"copy": {"like": name}}})["copy"] == dataclasses.replace(
            BUILTIN_MODELS[name], name="copy", retirement=None
        )


# -- fields ----------------------------------------------------------------------------------------

SIMPLE_FIELDS = [
    ('summary = "house style"', "gpt-image-2", {"summary": "house style"}),
    ('endpoints = ["generations"]', "gpt-image-2", {"endpoints": frozenset({"generations"})}),
    (
        'sizes = ["1024x1024", " 1536 X 1024 ", "AUTO"]',
        "gpt-image-2",
        {"sizes": ("1024x1024", "1536x1024", "auto")},
    ),
    ('default_size = "2048x1152"', "gpt-image-2", {"default_size": "2048x1152"}),
    ('default_size = "1792x1024"', "dall-e-3", {"default_size": "1792x1024"}),
    (
        'qualities = ["low", "high"]\ndefault_quality = "high"',
        "gpt-image-2",
        {"qualities": ("low", "high"), "default_quality": "high"},
    ),
    ('default_quality = "low"', "gpt-image-2", {"default_quality": "low"}),
    (
        'styles = ["natural", "vivid", "noir"]\ndefault_style = "noir"',
        "dall-e-3",
        {"styles": ("natural", "vivid", "noir"), "default_style": "noir"},
    ),
    (
        'output_formats = ["png", "webp"]\ndefault_output_format = "webp"',
        "gpt-image-2",
        {"output_formats": ("png", "webp"), "default_output_format": "webp"},
    ),
    (
        'backgrounds = ["opaque"]\ndefault_background = "opaque"',
        "gpt-image-2",
        {"backgrounds": ("opaque",), "default_background": "opaque"},
    ),
    ('transparent_formats = ["png"]', "gpt-image-2", {"transparent_formats": ("png",)}),
    ('complexities = ["low", "high"]', "gpt-image-2", {"complexities": ("low", "high")}),
    ('moderation = ["auto"]', "gpt-image-2", {"moderation_levels": ("auto",)}),
    ("max_n = 4", "gpt-image-2", {"images_per_request": 4}),
    ("prompt_max = 1000000", "gpt-image-2", {"max_prompt_chars": 1_000_000}),
    ("response_format = true", "gpt-image-2", {"accepts_response_format": True}),
    ("revised_prompt = true", "gpt-image-2", {"returns_revised_prompt": True}),
    ("edit_max_images = 1", "gpt-image-2", {"edit_max_images": 1}),
    ("edit_max_input_mb = 20", "gpt-image-2", {"edit_max_input_bytes": 20 * MB}),
    ("edit_max_input_mb = 0.5", "gpt-image-2", {"edit_max_input_bytes": MB // 2}),
    ('edit_input_formats = ["png"]', "gpt-image-2", {"edit_input_formats": ("png",)}),
    ("edit_square_png = true", "gpt-image-2", {"edit_requires_square_png": True}),
    ("mask_max_mb = 2", "gpt-image-2", {"mask_max_bytes": 2 * MB}),
    ("mask_max_mb = 0", "gpt-image-2", {"mask_max_bytes": 0}),
    ('upstream = "azure-deployment-7"', "gpt-image-2", {"upstream": "azure-deployment-7"}),
]


@pytest.mark.parametrize(("body", "like", "expected"), SIMPLE_FIELDS)
def test_a_field_sets_its_modelspec_field_and_nothing_else(
    tmp_path: Path, body: str, like: str, expected: dict[str, Any]
) -> None:
    spec = row(tmp_path, body, like=like)
    assert {field: getattr(spec, field) for field in expected} == expected
    unchanged_except(spec, BUILTIN_MODELS[like], *expected)


def test_endpoints_can_add_edits_with_what_edits_need(tmp_path: Path) -> None:
    body = 'endpoints = ["generations", "edits"]\nedit_max_images = 2\nedit_max_input_mb = 4\n'
    spec = row(tmp_path, body + 'edit_input_formats = ["png", "webp"]', like="dall-e-3")
    assert spec.supports("edits")
    assert (spec.edit_max_images, spec.edit_max_input_bytes, spec.edit_input_formats) == (
        2,
        4 * MB,
        ("png", "webp"),
    )


def test_custom_sizes_false_turns_free_sizes_and_their_suggestions_off(tmp_path: Path) -> None:
    spec = row(tmp_path, "custom_sizes = false")
    assert spec.custom_size_rule is None
    assert not spec.custom_sizes
    assert spec.suggested_sizes == ()
    unchanged_except(spec, GPT2, "custom_size_rule", "suggested_sizes")


def test_custom_sizes_true_is_the_default_rule(tmp_path: Path) -> None:
    spec = row(tmp_path, "custom_sizes = true", like="dall-e-2")
    assert spec.custom_size_rule == CustomSizeRule()
    assert spec.custom_sizes
    narrow = dataclasses.replace(GPT2, name="narrow", custom_size_rule=CustomSizeRule(max_edge=2048))
    catalogue = parse_models(
        {"models": {"narrow": {"custom_sizes": True}}}, ModelCatalogue({"narrow": narrow})
    )
    assert catalogue["narrow"].custom_size_rule == CustomSizeRule()


def test_a_custom_sizes_table_changes_the_rule_and_drops_suggestions_it_refuses(tmp_path: Path) -> None:
    spec = row(
        tmp_path, "custom_sizes = {max_edge = 2048, max_pixels = 4194304, multiple = 8, max_ratio = 2}"
    )
    assert spec.custom_size_rule == CustomSizeRule(
        multiple=8, max_ratio=2, max_edge=2048, max_pixels=2048 * 2048
    )
    assert "2048x1152" in spec.suggested_sizes
    assert "3840x2160" not in spec.suggested_sizes
    assert "1536x864" in spec.suggested_sizes


def test_a_gif_table_sets_the_rule_and_adds_gif_output(tmp_path: Path) -> None:
    frames = "min_frames = 3, default_frames = 6, max_frames = 12"
    spec = row(tmp_path, f"gif = {{{frames}, sheet_max_edge = 2048, sheet_max_pixels = 4000000}}")
    assert spec.gif == GifRule(
        min_frames=3, default_frames=6, max_frames=12, sheet_max_edge=2048, sheet_max_pixels=4_000_000
    )
    assert spec.output_formats == ("png", "jpeg", "webp", "gif")


def test_a_gif_table_starts_from_the_inherited_rule(tmp_path: Path) -> None:
    custom = dataclasses.replace(FLARE, gif=GifRule(sheet_max_edge=3000))
    base = ModelCatalogue({"flare": custom})
    catalogue = parse_models({"models": {"flare": {"gif": {"default_frames": 4}}}}, base)
    assert catalogue["flare"].gif == GifRule(sheet_max_edge=3000, default_frames=4)


def test_gif_false_removes_the_rule_and_gif_output(tmp_path: Path) -> None:
    spec = row(tmp_path, "gif = false", like="gpt-image-2.6-flare")
    assert spec.gif is None
    assert spec.output_formats == ("png", "jpeg", "webp")


def test_gif_in_output_formats_brings_a_rule(tmp_path: Path) -> None:
    assert row(tmp_path, 'output_formats = ["png", "gif"]').gif == GifRule()
    flare = dataclasses.replace(FLARE, gif=GifRule(max_frames=12))
    base = ModelCatalogue({"flare": flare})
    spec = parse_models({"models": {"flare": {"output_formats": ["gif", "png"]}}}, base)["flare"]
    assert (spec.gif, spec.output_formats) == (flare.gif, ("gif", "png"))  # the order as written


def test_output_formats_without_gif_remove_the_rule(tmp_path: Path) -> None:
    spec = row(tmp_path, 'output_formats = ["png"]', like="gpt-image-2.6-sunburst")
    assert (spec.gif, spec.output_formats, spec.default_output_format) == (None, ("png",), "png")


def test_an_emptied_list_clears_its_inherited_default(tmp_path: Path) -> None:
    spec = row(tmp_path, "styles = []", like="dall-e-3")
    assert (spec.styles, spec.default_style) == ((), None)
    spec = row(tmp_path, "output_formats = []\nbackgrounds = []\nqualities = []")
    assert (spec.default_output_format, spec.default_background, spec.default_quality) == (None, None, None)


# -- prices ----------------------------------------------------------------------------------------


def result(size: str | None = None, quality: str | None = None, usage: Usage | None = None) -> ImageResult:
    return ImageResult(images=(GeneratedImage(b"x", "png"),), usage=usage, size=size, quality=quality)


def test_token_prices_inherit_the_rates_left_out(tmp_path: Path) -> None:
    spec = row(tmp_path, "prices = {output = 40, text_input = 4.5}")
    assert isinstance(GPT2.pricing, TokenPricing)
    assert spec.pricing == TokenPricing(4.5, 8.0, 40.0, GPT2.pricing.output_tokens_estimate)
    reported = result(usage=Usage(100, 1000, 1100, 100, 0))
    cost = request_cost(spec, reported, size=None, quality=None, had_input_images=False)
    assert cost is not None and cost.exact
    assert cost.usd == pytest.approx((100 * 4.5 + 1000 * 40) / 1_000_000)


def test_token_prices_on_a_per_image_row_need_all_three_rates(tmp_path: Path) -> None:
    estimate = "output_tokens_estimate = {high = 2000, low = 500}"
    spec = row(
        tmp_path, f"prices = {{text_input = 1, image_input = 2, output = 3, {estimate}}}", like="gpt-image-1"
    )
    assert spec.pricing == TokenPricing(1.0, 2.0, 3.0, {"high": 2000, "low": 500})
    estimate = request_cost(spec, result(), size="1536x1024", quality="high", had_input_images=False)
    assert estimate is not None and not estimate.exact
    assert estimate.usd == pytest.approx(2000 * 3 / 1_000_000)


def test_one_per_image_price_prices_every_image(tmp_path: Path) -> None:
    spec = row(tmp_path, "prices = {per_image = 0.05}", name="openai/gpt-image-2.6-sunburst")
    assert spec.pricing == PerImagePricing((ImagePrice("*", "*", 0.05),))
    assert spec.pricing.price("high", "1024x1024") == 0.05
    assert spec.pricing.price("auto", "auto") == 0.05
    reported = result(size="3840x2160", quality="max")
    cost = request_cost(spec, reported, size=None, quality=None, had_input_images=False)
    assert cost is not None and (cost.usd, cost.exact) == (0.05, False)


def test_per_image_prices_by_quality_and_size(tmp_path: Path) -> None:
    spec = row(
        tmp_path, 'prices = {per_image = {"low" = 0.01, "high 1536X1024" = 0.25, "* 1024x1024" = 0.1}}'
    )
    assert spec.pricing == PerImagePricing(
        (
            ImagePrice("low", "*", 0.01),
            ImagePrice("high", "1536x1024", 0.25),
            ImagePrice("*", "1024x1024", 0.1),
        )
    )
    assert spec.pricing.price("low", "2048x2048") == 0.01
    assert spec.pricing.price("high", "1536x1024") == 0.25
    assert spec.pricing.price("high", "1024x1024") == 0.1
    assert spec.pricing.price("medium", "1536x1024") is None


def test_per_image_qualities_are_checked_against_the_rows_new_qualities(tmp_path: Path) -> None:
    body = 'qualities = ["draft", "final"]\ndefault_quality = "final"\nprices = {per_image = {draft = 0.01}}'
    assert row(tmp_path, body).pricing.price("draft", "1024x1024") == 0.01


# -- retirement ------------------------------------------------------------------------------------


def test_an_operator_retirement_with_a_toml_date(tmp_path: Path) -> None:
    spec = row(tmp_path, 'shutdown_date = 2027-03-01\nreplacement = "gpt-image-2.6-flare"')
    assert spec.retirement == Retirement(date(2027, 3, 1), "gpt-image-2.6-flare", scope="operator")


def test_an_operator_retirement_with_a_string_date_and_no_replacement(tmp_path: Path) -> None:
    spec = row(tmp_path, 'shutdown_date = "2027-03-01"')
    assert spec.retirement == Retirement(date(2027, 3, 1), None, scope="operator")


def test_a_replacement_is_stored_as_the_rows_exact_name_and_may_come_later(tmp_path: Path) -> None:
    text = (
        '[models."old"]\nlike = "gpt-image-2"\nshutdown_date = 2027-01-01\nreplacement = "NEW"\n'
        '[models."new"]\nlike = "gpt-image-2"\n'
    )
    assert load(tmp_path, text)["old"].retirement == Retirement(date(2027, 1, 1), "new", "operator")


def test_an_in_place_override_keeps_openais_retirement(tmp_path: Path) -> None:
    spec = load(tmp_path, '[models."gpt-image-1"]\nmax_n = 2\n')["gpt-image-1"]
    assert spec.retirement == BUILTIN_MODELS["gpt-image-1"].retirement
    assert spec.retirement is not None and spec.retirement.scope == "openai"


def test_a_new_row_like_a_retired_builtin_drops_the_retirement(tmp_path: Path) -> None:
    spec = row(tmp_path, "", like="gpt-image-1", name="legacy-gateway")
    assert spec.retirement is None
    unchanged_except(spec, BUILTIN_MODELS["gpt-image-1"], "retirement")


def test_the_retirement_belongs_to_the_name_even_when_like_is_another_row(tmp_path: Path) -> None:
    spec = load(tmp_path, '[models."gpt-image-1"]\nlike = "gpt-image-2"\n')["gpt-image-1"]
    assert spec.retirement == BUILTIN_MODELS["gpt-image-1"].retirement
    assert spec.pricing == GPT2.pricing


def test_shutdown_date_false_clears_an_inherited_retirement(tmp_path: Path) -> None:
    spec = load(tmp_path, '[models."dall-e-3"]\nshutdown_date = false\n')["dall-e-3"]
    assert spec.retirement is None
    unchanged_except(spec, BUILTIN_MODELS["dall-e-3"], "retirement")


def test_an_operator_date_replaces_openais(tmp_path: Path) -> None:
    spec = load(tmp_path, '[models."gpt-image-1"]\nshutdown_date = 2027-06-30\n')["gpt-image-1"]
    assert spec.retirement == Retirement(date(2027, 6, 30), None, "operator")


# -- broken files ----------------------------------------------------------------------------------


def test_the_documented_error_text(tmp_path: Path) -> None:
    error = broken(tmp_path, '[models."house-model"]\nlike = "gpt-image-2"\nsizes = 3\n')
    assert (error.row, error.field) == ("house-model", "sizes")
    assert error.problem == 'must be a list of sizes such as "1024x1024" or "auto" (got 3)'
    assert (
        str(error)
        == 'models."house-model".sizes: must be a list of sizes such as "1024x1024" or "auto" (got 3)'
    )


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelsFileError) as caught:
        load_models_file(tmp_path / "nowhere.toml")
    assert (caught.value.row, caught.value.field) == (None, None)
    assert str(caught.value) == "file: cannot be read (No such file or directory)"


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ModelsFileError) as caught:
        load_models_file(tmp_path)
    assert str(caught.value).startswith("file: cannot be read")


def test_invalid_toml_says_where(tmp_path: Path) -> None:
    error = broken(tmp_path, '[models."house-model"]\nlike = \n')
    assert (error.row, error.field) == (None, None)
    assert str(error) == "file: is not valid TOML: Invalid value (at line 2, column 8)"


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_bytes(b'summary = "\xff"\n')
    with pytest.raises(ModelsFileError) as caught:
        load_models_file(path)
    assert str(caught.value).startswith("file: is not UTF-8 text")


def raw(text: str, row_name: str | None, field: str | None, problem: str) -> Any:
    return pytest.param(text, row_name, field, problem, id=f"{field or row_name or 'file'}: {problem[:40]}")


def bad(field: str, body: str, problem: str, like: str = "gpt-image-2") -> Any:
    """A new row "x" like ``like`` whose ``body`` is wrong at ``field``."""
    return raw(f'[models."x"]\nlike = "{like}"\n{body}\n', "x", field, problem)


RANGE = "must be a whole number from"
DE2, DE3, EST, PER = "dall-e-2", "dall-e-3", "prices.output_tokens_estimate", "prices.per_image"
DAY = "shutdown_date = 2027-01-01\n"
LX = '[models."x"]\nlike = "gpt-image-2"\n'
UNKNOWN_ROW = "names no built-in row or row defined above"
BROKEN = [
    # the file's top level
    raw("model = 1\n", None, "model", 'is not a top-level key; use [models."<name>"] and builtins'),
    raw('[model."x"]\nlike = "gpt-image-2"\n', None, "model", "is not a top-level key"),
    raw('"my models" = 1\n', None, '"my models"', "is not a top-level key"),
    raw('models = "gpt-image-2"\n', None, "models", 'must be a table of rows such as [models."house-model"]'),
    raw('builtins = "no"\n', None, "builtins", 'must be true or false (got "no")'),
    raw("builtins = false\n", None, "builtins", "is false, but the file defines no rows"),
    # rows and their names
    raw("[models]\nx = 3\n", "x", None, 'must be a table of fields, such as [models."x"] (got 3)'),
    raw('[models."x"]\nmax_n = 2\n', "x", "like", "is required for a new row"),
    bad("like", "", f'{UNKNOWN_ROW} (got "gpt-image-9")', like="gpt-image-9"),
    raw('[models."x"]\nlike = "y"\n[models."y"]\nlike = "gpt-image-2"\n', "x", "like", UNKNOWN_ROW),
    raw('[models."x"]\nlike = 2\n', "x", "like", "must be a name of 1 to 100 characters"),
    raw('[models."my model"]\nlike = "dall-e-2"\n', "my model", None, "a row name must be 1 to 100"),
    raw('[models.""]\nlike = "gpt-image-2"\n', "", None, "without spaces"),
    raw(f'[models."{"m" * 101}"]\nlike = "gpt-image-2"\n', "m" * 101, None, "a row name must be 1 to 100"),
    raw('[models."GPT-Image-2"]\n', "GPT-Image-2", None, 'differs from the row "gpt-image-2" only in case'),
    raw('[models."x"]\nlike = "dall-e-2"\n[models."X"]\nlike = "x"\n', "X", None, 'row "x" only in case'),
    bad("sizse", "sizse = []", 'is not a field (did you mean "sizes"?)'),
    bad("colour", "colour = 1", "is not a field; see docs/models-file.md"),
    # strings, numbers, flags
    bad("upstream", 'upstream = ""', 'a name of 1 to 200 characters, without surrounding spaces (got "")'),
    bad("upstream", 'upstream = " gw"', "without surrounding spaces"),
    bad("upstream", f'upstream = "{"u" * 201}"', "must be a name of 1 to 200 characters"),
    bad("summary", "summary = 3", "must be a string (got 3)"),
    bad("max_n", 'max_n = "4"', 'must be a whole number from 1 to 10 (got "4")'),
    bad("max_n", "max_n = 11", f"{RANGE} 1 to 10 (got 11)"),
    bad("max_n", "max_n = 0", f"{RANGE} 1 to 10 (got 0)"),
    bad("max_n", "max_n = true", f"{RANGE} 1 to 10 (got true)"),
    bad("max_n", "max_n = 4.0", f"{RANGE} 1 to 10 (got 4.0)"),
    bad("prompt_max", "prompt_max = 0", f"{RANGE} 1 to 1,000,000 (got 0)"),
    bad("prompt_max", "prompt_max = 1000001", f"{RANGE} 1 to 1,000,000 (got 1000001)"),
    bad("edit_max_images", "edit_max_images = 17", f"{RANGE} 0 to 16 (got 17)"),
    bad("edit_max_input_mb", "edit_max_input_mb = 0", "must be a number greater than 0 (got 0)"),
    bad("edit_max_input_mb", "edit_max_input_mb = inf", "must be a number greater than 0"),
    bad("edit_max_input_mb", "edit_max_input_mb = nan", "must be a number greater than 0"),
    bad("mask_max_mb", "mask_max_mb = -1", "must be a number of at least 0 (got -1)"),
    bad("response_format", 'response_format = "yes"', 'must be true or false (got "yes")'),
    bad("revised_prompt", "revised_prompt = 1", "must be true or false (got 1)"),
    bad("edit_square_png", "edit_square_png = 0", "must be true or false (got 0)"),
    # sizes
    bad("sizes", 'sizes = ["big"]', 'must be a list of sizes such as "1024x1024" or "auto" (got "big")'),
    bad("sizes", 'sizes = ["0x1024"]', '(got "0x1024")'),
    bad("sizes", "sizes = [1024]", "(got 1024)"),
    bad("sizes", "sizes = []", "must list at least one size"),
    bad("sizes", 'sizes = ["1024x1024", "1024 x 1024"]', 'lists "1024x1024" twice'),
    bad("default_size", 'default_size = "1024x"', 'must be a size such as "1024x1024" or "auto" (got'),
    bad("default_size", 'default_size = "4096x4096"', "is not in sizes and custom_sizes does not accept it"),
    bad("sizes", 'sizes = ["1024x1024"]', 'default_size "auto" is not in sizes'),
    bad("default_size", 'default_size = "2048x2048"\ncustom_sizes = false', '"2048x2048" is not in'),
    bad("default_size", 'default_size = "512x512"', '"512x512" is not in sizes', like="dall-e-3"),
    bad("custom_sizes", 'custom_sizes = "yes"', 'must be true, false or a table of "multiple", "max_ratio"'),
    bad("custom_sizes.max_width", "custom_sizes = {max_width = 3}", "is not a field here; use"),
    bad("custom_sizes.max_edge", "custom_sizes = {max_edge = 0}", f"{RANGE} 1 to 100,000 (got 0)"),
    # endpoints and what they need
    bad("endpoints", 'endpoints = ["generate"]', 'must be a list of "generations", "edits" or "variations"'),
    bad("endpoints", "endpoints = []", "must list an endpoint"),
    bad("endpoints", 'endpoints = "generations"', '(got "generations")'),
    bad("endpoints", 'endpoints = ["edits"]', 'include "edits", which needs edit_max_images', like=DE3),
    bad("endpoints", 'endpoints = ["edits"]\nedit_max_images = 1', "needs edit_max_input_mb", like=DE3),
    bad(
        "endpoints", 'endpoints = ["variations"]\nedit_max_input_mb = 4', "needs edit_input_formats", like=DE3
    ),
    bad("edit_max_images", "edit_max_images = 0", 'must be at least 1 while endpoints include "edits"'),
    bad("edit_input_formats", "edit_input_formats = []", 'a non-empty list while endpoints include "edits"'),
    bad("edit_input_formats", 'edit_input_formats = ["gif"]', 'must be a list of "png", "jpeg" or "webp"'),
    # lists and their defaults
    bad(
        "qualities", 'qualities = ["low", "high"]', 'leaves out "auto", the default it inherits; set default_'
    ),
    bad(
        "default_quality", 'default_quality = "ultra"', 'one of qualities ("low", "medium", "high" or "auto")'
    ),
    bad("default_quality", 'qualities = []\ndefault_quality = "low"', "cannot be set: qualities is empty"),
    bad("qualities", 'qualities = ["low high"]', 'must be a list of words without spaces (got "low high")'),
    bad("qualities", 'qualities = ["low", "low"]', 'lists "low" twice'),
    bad("default_quality", "default_quality = 3", "must be a word without spaces (got 3)"),
    bad("styles", 'styles = ["vivid"]', "has no default; set default_style too", like="dall-e-2"),
    bad("default_style", 'default_style = "vivid"', "cannot be set: styles is empty"),
    bad("output_formats", 'output_formats = ["tiff"]', 'of "png", "jpeg", "webp" or "gif" (got "tiff")'),
    bad("output_formats", 'output_formats = ["webp"]', 'leaves out "png", the default it inherits'),
    bad("default_output_format", 'default_output_format = "gif"', '("png", "jpeg" or "webp") (got "gif")'),
    bad("default_output_format", 'default_output_format = "gif"\ngif = false', "one of", like=FLARE.name),
    bad("backgrounds", 'backgrounds = ["clear"]', 'of "transparent", "opaque" or "auto" (got "clear")'),
    bad("default_background", 'default_background = "auto"\nbackgrounds = ["opaque"]', "one of backgrounds"),
    bad("transparent_formats", 'transparent_formats = ["bmp"]', "must be a list of"),
    bad("moderation", "moderation = [1]", "must be a list of words without spaces (got 1)"),
    bad("complexities", "complexities = 1", "must be a list of words without spaces (got 1)"),
    # gif
    bad("gif", 'gif = false\noutput_formats = ["png", "gif"]', 'is false but output_formats lists "gif"'),
    bad("gif", "gif = 9", "must be false or a table of"),
    bad("gif.frames", "gif = {frames = 9}", "is not a field here"),
    bad("gif.min_frames", "gif = {min_frames = 0}", f"{RANGE} 1 to 16 (got 0)"),
    bad("gif.max_frames", "gif = {max_frames = 17}", f"{RANGE} 1 to 16 (got 17)"),
    bad(
        "gif.min_frames",
        "gif = {min_frames = 10}",
        "min_frames <= default_frames <= max_frames (got 10, 9, 16)",
    ),
    bad("gif.max_frames", "gif = {max_frames = 8}", "(got 2, 9, 8)"),
    bad("gif.sheet_max_pixels", "gif = {sheet_max_pixels = 1000}", "no room for 16 frames on the sheet"),
    # prices
    bad("prices", "prices = 0.04", "must be a table such as {per_image = 0.04}"),
    bad("prices.output", "prices = {per_image = 0.04, output = 3}", "cannot be combined with per_image"),
    bad(
        "prices.input",
        "prices = {input = 3}",
        "is not a price; use per_image, or text_input, image_input and",
    ),
    bad("prices.output", "prices = {output = -3}", "must be a number of at least 0 (got -3)"),
    bad("prices.output", 'prices = {output = "3"}', 'must be a number of at least 0 (got "3")'),
    bad("prices", "prices = {output = 3}", "per image (missing text_input, image_input)", like="gpt-image-1"),
    bad(
        f"{EST}.ultra", "prices = {output_tokens_estimate = {ultra = 3}}", "is not one of the row's qualities"
    ),
    bad(f"{EST}.high", "prices = {output_tokens_estimate = {high = 0}}", f"{RANGE} 1 to 1,000,000 (got 0)"),
    bad(EST, "prices = {output_tokens_estimate = 3}", "must be a table of tokens by quality"),
    bad("prices.per_image", "prices = {per_image = -0.01}", "must be a number of at least 0 (got -0.01)"),
    bad("prices.per_image", 'prices = {per_image = "cheap"}', '(got "cheap")'),
    bad("prices.per_image", "prices = {per_image = {}}", "lists no price"),
    bad(
        f'{PER}."ultra 1024x1024"', 'prices = {per_image = {"ultra 1024x1024" = 1}}', '"ultra" is not one of'
    ),
    bad(f'{PER}."high huge"', 'prices = {per_image = {"high huge" = 1}}', '"quality WxH" (got "huge")'),
    bad(f'{PER}."high auto"', 'prices = {per_image = {"high auto" = 1}}', 'names size "auto"'),
    bad(f'{PER}."a b c"', 'prices = {per_image = {"a b c" = 1}}', 'must be a quality or "quality size"'),
    bad(f"{PER}.high", 'prices = {per_image = {high = "1"}}', '(got "1")'),
    bad(
        f"{PER}.standard",
        "qualities = []\nprices = {per_image = {standard = 1}}",
        "is not a quality",
        like=DE2,
    ),
    # retirement
    bad("replacement", 'replacement = "gpt-image-2.6-flare"', "needs a shutdown_date in the same row"),
    bad(
        "replacement",
        'shutdown_date = false\nreplacement = "dall-e-2"',
        "cannot be set when shutdown_date is false",
    ),
    bad(
        "replacement",
        DAY + 'replacement = "gpt-image-9"',
        'names no row of the catalogue (got "gpt-image-9")',
    ),
    bad("replacement", DAY + 'replacement = "X"', 'cannot name the row itself (got "X")'),
    bad("replacement", DAY + "replacement = 3", "must be a name of 1 to 100 characters"),
    raw(
        "builtins = false\n" + LX + DAY + 'replacement = "dall-e-2"',
        "x",
        "replacement",
        "names no row of the",
    ),
    bad(
        "shutdown_date",
        'shutdown_date = "soon"',
        'a date such as 2027-01-31 (or false to clear it) (got "soon")',
    ),
    bad("shutdown_date", 'shutdown_date = "2027-02-30"', '(got "2027-02-30")'),
    bad("shutdown_date", 'shutdown_date = "20270301"', '(got "20270301")'),
    bad("shutdown_date", "shutdown_date = 2027-03-01T10:00:00", "must be a date such as 2027-01-31"),
    bad("shutdown_date", "shutdown_date = true", "(got true)"),
]


@pytest.mark.parametrize(("text", "row_name", "field", "problem"), BROKEN)
def test_a_broken_file_names_the_row_and_field(
    tmp_path: Path, text: str, row_name: str | None, field: str | None, problem: str
) -> None:
    error = broken(tmp_path, text)
    assert (error.row, error.field) == (row_name, field)
    assert problem in error.problem
    where = ".".join(
        [*([f"models.{json.dumps(row_name)}"] if row_name is not None else []), *([field] if field else [])]
    )
    assert str(error) == f"{where or 'file'}: {error.problem}"


# -- property: what is written is what loads -------------------------------------------------------

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
WXH = st.builds(lambda w, h: f"{w}x{h}", st.integers(1, 8192), st.integers(1, 8192))
MONEY = st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False)
LIKES = ("gpt-image-2", "gpt-image-2.6-flare", "gpt-image-1", "dall-e-3", "dall-e-2")


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return value.isoformat() if isinstance(value, date) else repr(value)


@st.composite
def chosen_list(draw: st.DrawFn, items: st.SearchStrategy[str], min_size: int = 1) -> tuple[list[str], str]:
    values = draw(st.lists(items, min_size=min_size, max_size=5, unique=True))
    return values, draw(st.sampled_from(values))


@st.composite
def override(draw: st.DrawFn) -> tuple[str, dict[str, Any], ModelSpec, dict[str, Any]]:
    """(row name, TOML table, the row it is like, the ModelSpec fields the table must produce)."""
    like = BUILTIN_MODELS[draw(st.sampled_from(LIKES))]
    in_place = draw(st.booleans())
    name = like.name if in_place else "row-" + draw(WORD)
    table: dict[str, Any] = {} if in_place else {"like": like.name}
    want: dict[str, Any] = {} if in_place else {"upstream": "", "retirement": None}

    def maybe(key: str, strategy: st.SearchStrategy[Any], field: str, convert: Any = lambda v: v) -> None:
        if draw(st.booleans()):
            table[key] = draw(strategy)
            want[field] = convert(table[key])

    maybe("upstream", st.text(min_size=1, max_size=200).filter(lambda s: s.strip() == s), "upstream")
    maybe("summary", st.text(max_size=80), "summary")
    maybe("max_n", st.integers(1, 10), "images_per_request")
    maybe("prompt_max", st.integers(1, 1_000_000), "max_prompt_chars")
    maybe("response_format", st.booleans(), "accepts_response_format")
    maybe("revised_prompt", st.booleans(), "returns_revised_prompt")
    maybe("edit_square_png", st.booleans(), "edit_requires_square_png")
    maybe("edit_max_images", st.integers(1 if like.supports("edits") else 0, 16), "edit_max_images")
    maybe("edit_max_input_mb", st.floats(0.001, 500), "edit_max_input_bytes", lambda mb: round(mb * MB))
    maybe("mask_max_mb", st.floats(0, 50), "mask_max_bytes", lambda mb: round(mb * MB))
    maybe("moderation", st.lists(WORD, max_size=4, unique=True), "moderation_levels", tuple)
    maybe("complexities", st.lists(WORD, max_size=4, unique=True), "complexities", tuple)
    maybe("shutdown_date", st.dates(), "retirement", lambda day: Retirement(day, None, "operator"))
    for listed, default, items in (
        ("qualities", "default_quality", WORD),
        ("sizes", "default_size", st.one_of(st.just("auto"), WXH)),
        ("output_formats", "default_output_format", st.sampled_from(["png", "jpeg", "webp"])),
    ):
        if draw(st.booleans()):
            values, chosen = draw(chosen_list(items))
            table.update({listed: values, default: chosen})
            want.update({listed: tuple(values), default: chosen})
    if "output_formats" in table:
        want["gif"] = None
    if draw(st.booleans()):
        rates = {key: draw(MONEY) for key in ("text_input", "image_input", "output")}
        if isinstance(like.pricing, TokenPricing):
            rates = {key: rate for key, rate in rates.items() if draw(st.booleans())}
        table["prices"] = rates
        old = like.pricing if isinstance(like.pricing, TokenPricing) else TokenPricing(0, 0, 0)
        want["pricing"] = TokenPricing(
            rates.get("text_input", old.text_input_per_million),
            rates.get("image_input", old.image_input_per_million),
            rates.get("output", old.output_per_million),
            old.output_tokens_estimate,
        )
    elif draw(st.booleans()):
        table["prices"] = {"per_image": draw(MONEY)}
        want["pricing"] = PerImagePricing((ImagePrice("*", "*", table["prices"]["per_image"]),))
    return name, table, like, want


@settings(max_examples=300, deadline=None)
@given(override())
def test_any_valid_override_loads_as_written(
    case: tuple[str, dict[str, Any], ModelSpec, dict[str, Any]],
) -> None:
    name, table, like, want = case
    text = f"[models.{json.dumps(name)}]\n" + "".join(
        f"{key} = {toml_value(v)}\n" for key, v in table.items()
    )
    spec = parse_models(tomllib.loads(text))[name]
    assert {field: getattr(spec, field) for field in want} == want
    assert dataclasses.replace(spec, name=like.name, **{f: getattr(like, f) for f in want}) == like


# -- the operator's reference ----------------------------------------------------------------------

DOCS = REPO / "docs" / "models-file.md"


def docs_toml() -> list[str]:
    blocks = DOCS.read_text(encoding="utf-8").split("```toml\n")[1:]
    return [block.split("```", 1)[0] for block in blocks]


def test_the_docs_complete_examples_load_as_described(tmp_path: Path) -> None:
    quick, gif, litellm, azure, router = [block for block in docs_toml() if "[models." in block]
    assert load(tmp_path, quick)["house-model"].upstream_id == "my-gpt-image"
    assert load(tmp_path, litellm)["house-model"].upstream_id == "my-gpt-image"
    sheet = load(tmp_path, gif)["gpt-image-2.6-flare"].gif
    assert sheet is not None and sheet.largest_square(16) == 576
    deployed = load(tmp_path, azure)
    assert list(deployed) == ["images"]
    assert deployed["images"].upstream_id == "gpt-image-2-prod"
    routed = load(tmp_path, router)["openai/gpt-image-2.6-sunburst"]
    assert (routed.upstream_id, routed.retirement) == ("openai/gpt-image-2.6-sunburst", None)
    assert routed.pricing.price("high", "1024x1024") == 0.06


def test_the_docs_price_lines_and_suggestions_load(tmp_path: Path) -> None:
    lines = [line.split("#")[0] for block in docs_toml() for line in block.splitlines()]
    commented = [line.removeprefix("# ") for line in docs_toml()[-1].splitlines()[4:] if " = " in line]
    for line in [line for line in lines if line.startswith("prices =")] + commented:
        row(tmp_path, line, like="gpt-image-2.6-sunburst")
