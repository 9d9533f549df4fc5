"""Test pictures made in code: nothing binary is stored in the repository."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageChops


@functools.cache
def photo_jpeg(width: int = 4000, height: int = 3000, quality: int = 90) -> bytes:
    """A phone-photo-like JPEG: colour gradients with grain (about 5 MB at 4000x3000, quality 90)."""
    across = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    down = Image.linear_gradient("L").rotate(90).resize((width, height), Image.Resampling.BILINEAR)
    grain = Image.effect_noise((width, height), 20)
    red = ImageChops.add(across, grain, offset=-100)
    green = ImageChops.add(down, grain.transpose(Image.Transpose.ROTATE_180), offset=-100)
    blue = ImageChops.blend(across, down, 0.5)
    out = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(out, "JPEG", quality=quality)
    return out.getvalue()
