"""Recipes: options carried once from what a member chose to the request, and jobs stored before
options had a type still redo exactly as they were."""

from __future__ import annotations

import dataclasses

from bot.core.recipes import Inputs, Recipe, checked, to_request
from bot.images import BUILTIN_MODELS, EditRequest, GenerateRequest, ImageOptions, InputImage, ModelRegistry
from bot.images.client import edit_fields, generation_body

MODELS = ModelRegistry(BUILTIN_MODELS, official_backend=True, default_model="gpt-image-2")
PNG = InputImage(b"\x89PNG\r\n\x1a\n" + b"0" * 32, "a.png", "image/png")

#: a job's details as the store holds them since the first release (flat, every option named)
STORED = {
    "kind": "imagine",
    "model": "gpt-image-2",
    "n": 2,
    "prompt": "a lighthouse",
    "size": "1536x1024",
    "quality": "high",
    "style": None,
    "background": "opaque",
    "fit": "crop",
    "image_count": 0,
    "output_format": "webp",
    "complexity": None,
    "frames": None,
}


def test_details_stored_by_earlier_versions_read_back_unchanged():
    recipe = Recipe.from_details(STORED)
    assert recipe.options == ImageOptions(
        size="1536x1024", quality="high", background="opaque", output_format="webp"
    )
    assert (recipe.kind, recipe.model, recipe.n, recipe.prompt) == (
        "imagine",
        "gpt-image-2",
        2,
        "a lighthouse",
    )
    assert recipe.to_details() == {**STORED, "output_compression": None}
    assert Recipe.from_details(recipe.to_details()) == recipe


def test_the_options_a_member_chose_reach_the_body_as_checked():
    chosen = Recipe(
        "imagine", "gpt-image-2", 1, prompt=" fox ", options=ImageOptions(size="1024X1536", quality="LOW")
    )
    recipe = checked(chosen, MODELS)
    request = to_request(recipe, Inputs(), MODELS.get("gpt-image-2"))
    assert isinstance(request, GenerateRequest)
    body = generation_body(MODELS.get("gpt-image-2"), request)
    assert (body["prompt"], body["size"], body["quality"]) == ("fox", "1024x1536", "low")
    assert "output_format" not in body  # not chosen: the model's default needs no field


def test_an_edit_never_sends_what_only_generations_take():
    # a model row with styles and edits (an operator's models file may say so): style stays out
    spec = dataclasses.replace(MODELS.get("gpt-image-2"), styles=("vivid", "natural"), default_style="vivid")
    recipe = Recipe(
        "edit", spec.name, 1, prompt="night", options=ImageOptions(size="1024x1024", style="vivid")
    )
    request = to_request(recipe, Inputs(images=(PNG,)), spec)
    assert isinstance(request, EditRequest)
    fields, _ = edit_fields(spec, request)
    assert fields["size"] == "1024x1024"
    assert "style" not in fields
    generated = generation_body(spec, GenerateRequest(spec.name, "x", options=request.options))
    assert generated["style"] == "vivid"  # the same options, where they are taken
