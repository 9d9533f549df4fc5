"""6. Fitting a 12-megapixel phone photo for dall-e-2 (a square PNG under 4 MB): bot.imaging's way
(JPEG draft decoding at ``target_side_for(spec)``, then ``fit_image``) against the slowest
straightforward Pillow way (open, decode in full, centre-crop, LANCZOS to 1024, RGBA, PNG with
default settings). Pure CPU, one call at a time; the median of several runs after a warm-up."""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable

from PIL import Image

from bench.images import photo_jpeg
from bench.result import Result


def naive_fit(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        square = image.crop((left, top, left + side, top + side))
    fitted = square.resize((1024, 1024), Image.Resampling.LANCZOS).convert("RGBA")
    out = io.BytesIO()
    fitted.save(out, "PNG")
    return out.getvalue()


def _median_time(work: Callable[[], object], runs: int) -> tuple[float, object]:
    output = work()  # warm-up: plugin initialisation, first allocations
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        output = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), output


async def run(quick: bool, latency: float) -> Result:
    from bot.images import BUILTIN_MODELS
    from bot.imaging import decode, fit_image, target_side_for
    from bot.ui.attachments import intake_limit

    runs = 3 if quick else 9
    spec = BUILTIN_MODELS.get_model("dall-e-2")
    data = photo_jpeg(4000, 3000, 90)
    result = Result("imaging", "fit a 12-megapixel JPEG for dall-e-2")

    def bot_fit() -> object:
        intake = decode(data, max_bytes=intake_limit(spec), target_side=target_side_for(spec))
        return fit_image(intake, spec)

    bot_time, fitted = _median_time(bot_fit, runs)
    naive_time, naive_png = _median_time(lambda: naive_fit(data), runs)
    result.add("bot.imaging (decode + fit_image): median", f"{bot_time * 1000:.0f} ms")
    result.add("plain Pillow (full decode, LANCZOS, PNG): median", f"{naive_time * 1000:.0f} ms")
    result.add("speed-up", f"{naive_time / bot_time:.1f}×")
    result.note(
        f"input {len(data) / 1e6:.1f} MB JPEG 4000x3000 (quality 90); bot output "
        f"{fitted.width}x{fitted.height} PNG {len(fitted.data) / 1e6:.2f} MB, plain Pillow output "  # type: ignore[attr-defined]
        f"1024x1024 PNG {len(naive_png) / 1e6:.2f} MB (dall-e-2's limit: under 4 MB); "  # type: ignore[arg-type]
        f"median of {runs} runs each, after one warm-up."
    )
    return result
