"""Pillow work on users' images and on results: decode safely, fit to a model's input rules, encode
to a size budget. No discord import; every function is synchronous, CPU-bound and thread-safe (call
it with ``asyncio.to_thread``).

- ``intake``: identify uploads from their bytes (``sniff``) and decode them defensively (``decode``)
- ``placement``: the geometry shared by an image and its mask (``Placement``)
- ``fitting``: fit a decoded image to a ``ModelSpec`` (``fit_image``)
- ``masks``: turn a user's mask into the API's (``prepare_mask``)
- ``encoding``: encoder ladders and ``encode_to_fit`` for delivery
- ``animation``: an animated GIF shrunk to a byte budget, still animated (``fit_animation``)
"""

from .animation import GIF_FIT, MAX_ANIMATION_PIXELS, GifFit, fit_animation
from .encoding import MIN_BUDGET, STILL_FIT, StillFit, encode_to_fit
from .errors import (
    CorruptImage,
    FileTooLarge,
    ImageRejected,
    InvalidMask,
    TooManyPixels,
    UnsupportedImageType,
)
from .fitting import DEFAULT_MAX_SIDE, Fit, Fitted, fit_image, square_sizes, target_side_for
from .intake import ACCEPTED_FORMATS, MAX_PIXELS, SNIFFED_TYPES, Intake, decode, sniff
from .masks import prepare_mask
from .placement import Placement

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_MAX_SIDE",
    "GIF_FIT",
    "MAX_ANIMATION_PIXELS",
    "MAX_PIXELS",
    "MIN_BUDGET",
    "SNIFFED_TYPES",
    "STILL_FIT",
    "CorruptImage",
    "FileTooLarge",
    "Fit",
    "Fitted",
    "GifFit",
    "ImageRejected",
    "Intake",
    "InvalidMask",
    "Placement",
    "StillFit",
    "TooManyPixels",
    "UnsupportedImageType",
    "decode",
    "encode_to_fit",
    "fit_animation",
    "fit_image",
    "prepare_mask",
    "sniff",
    "square_sizes",
    "target_side_for",
]
