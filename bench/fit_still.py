"""8. Fitting a still result into a smaller upload limit: ``encode_to_fit`` on a photo-like 1536x1024
PNG (~3 MB, as the GPT image models return one) into 1 MB and into 400 KB, as delivery does for a
result over the limit. It should predict the WebP quality from a first encode and correct it at most
once (one or two encodes of the whole image, after a few of a sample of its rows), not search for
it; and still use the budget (at least 85 % of it). The old binary search over qualities 40-95 runs
beside it on the same image, as the baseline. Pure CPU, one call at a time; the median of several
runs after a warm-up.

``python -m bench.fit_still [--quick]`` prints the figures beside their targets.
"""

from __future__ import annotations

import functools
import io
import statistics
import time
from collections.abc import Callable

from PIL import Image, ImageChops

from bench.result import Result, run_standalone

WIDTH, HEIGHT = 1536, 1024
BUDGETS = (("1 MB", 1_000_000), ("400 KB", 400_000))
TARGET_MS = 300
FLOOR = 0.85


def photo_png(width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A photo-like PNG: colour gradients and soft blotches under fine grain (about 3 MB at 1536x1024),
    written with fast compression as an image model's encoder might."""
    size = (width, height)
    across = Image.linear_gradient("L").rotate(30).resize(size, Image.Resampling.BILINEAR)
    down = Image.linear_gradient("L").rotate(100).resize(size, Image.Resampling.BILINEAR)
    blotches = Image.effect_noise((width // 48, height // 48), 64).resize(size, Image.Resampling.BICUBIC)
    grain = Image.effect_noise(size, 20)
    red = ImageChops.add(Image.blend(across, blotches, 0.35), grain, offset=-100)
    green = ImageChops.add(
        Image.blend(down, blotches, 0.25), grain.transpose(Image.Transpose.ROTATE_180), offset=-100
    )
    blue = Image.blend(Image.blend(across, down, 0.5), blotches, 0.2)
    out = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(out, "PNG", compress_level=1)
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# BASELINE: the binary search encode_to_fit used before (bot/imaging/encoding.py before issue 8),
# copied here unchanged apart from names, to compare against. Not used by the bot.
# --------------------------------------------------------------------------------------------------

BASELINE_QUALITIES = tuple(range(40, 96, 5))  # 40, 45, ... 95
BASELINE_SCALE_STEP = 0.8


def baseline_still_to_fit(data: bytes, budget: int) -> bytes:
    """The old ``_still_to_fit``: the best of BASELINE_QUALITIES that fits (binary search), shrunk by
    steps of 0.8 when even quality 40 is too large."""
    from bot.imaging.encoding import WEBP_MAX_SIDE, scaled_sizes
    from bot.imaging.intake import decode

    image = decode(data, max_bytes=len(data)).image
    if max(image.size) > WEBP_MAX_SIDE:
        factor = WEBP_MAX_SIDE / max(image.size)
        image = image.resize(
            (max(1, int(image.width * factor)), max(1, int(image.height * factor))),
            Image.Resampling.LANCZOS,
            reducing_gap=3.0,
        )
    for size in scaled_sizes(image.size, BASELINE_SCALE_STEP):
        candidate = (
            image if size == image.size else image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        )
        best = baseline_best_webp(candidate, budget)
        if best is not None:
            return best
    raise ValueError(f"cannot fit the image into {budget} bytes")


def baseline_best_webp(im: Image.Image, budget: int) -> bytes | None:
    """The old ``_best_webp``: the highest of BASELINE_QUALITIES whose WebP is at most ``budget``
    bytes (binary search)."""
    from bot.imaging import encoding

    qualities = BASELINE_QUALITIES
    top = encoding.encode(im, "webp", quality=qualities[-1])
    if len(top) <= budget:
        return top
    best = encoding.encode(im, "webp", quality=qualities[0])
    if len(best) > budget:
        return None
    low, high = 0, len(qualities) - 2  # qualities[low] fits, qualities[-1] does not
    while low < high:
        middle = (low + high + 1) // 2
        data = encoding.encode(im, "webp", quality=qualities[middle])
        if len(data) <= budget:
            low, best = middle, data
        else:
            high = middle - 1
    return best


# --------------------------------------------------------------------------------------------------


def _fitted(data: bytes, budget: int) -> bytes:
    from bot.imaging import encode_to_fit

    return encode_to_fit(data, "png", budget)[0]


def _measure(
    fit: Callable[[], bytes], runs: int, encodes: list[tuple[tuple[int, int], int | None, int]]
) -> tuple[float, bytes, list[tuple[tuple[int, int], int | None, int]]]:
    """Median seconds of ``fit`` over ``runs`` after a warm-up, its output, the last run's encodes."""
    fit()
    times = []
    for _ in range(runs):
        encodes.clear()
        start = time.perf_counter()
        out = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out, list(encodes)


def _describe(made: list[tuple[tuple[int, int], int | None, int]], budget: int) -> str:
    return ", ".join(
        f"{'sample ' if size[1] < HEIGHT // 4 else ''}{size[0]}x{size[1]} q{quality}: {nbytes / budget:.2f}"
        for size, quality, nbytes in made
    )


async def run(quick: bool, latency: float) -> Result:
    from bot.imaging import decode, encoding

    runs = 3 if quick else 7
    data = photo_png()
    result = Result("fit_still", f"a photo-like {WIDTH}x{HEIGHT} PNG into 1 MB and 400 KB")
    made: list[tuple[tuple[int, int], int | None, int]] = []
    real_encode = encoding.encode

    def counted(im: Image.Image, fmt: str, **params: object) -> bytes:
        out = real_encode(im, fmt, **params)  # type: ignore[arg-type]
        made.append((im.size, params.get("quality"), len(out)))  # type: ignore[arg-type]
        return out

    encoding.encode = counted
    notes = []
    try:
        for label, budget in BUDGETS:
            seconds, out, encodes = _measure(functools.partial(_fitted, data, budget), runs, made)
            full = [e for e in encodes if e[0][1] >= HEIGHT // 4]
            sample = len(encodes) - len(full)
            old_seconds, old_out, old_encodes = _measure(
                functools.partial(baseline_still_to_fit, data, budget), runs, made
            )
            ms, old_ms = seconds * 1000, old_seconds * 1000
            result.add(
                f"{label}: median",
                f"{ms:.0f} ms (binary search {old_ms:.0f} ms)",
                f"<= {TARGET_MS} ms",
                ms <= TARGET_MS,
            )
            result.add(
                f"{label}: encodes per fit",
                f"{len(full)} + {sample} of a 1/8 sample (binary search {len(old_encodes)})",
                "1-2",
                1 <= len(full) <= 2,
            )
            ratio, old_ratio = len(out) / budget, len(old_out) / budget
            result.add(
                f"{label}: result / budget",
                f"{ratio:.3f} (binary search {old_ratio:.3f})",
                f"{FLOOR}-1",
                FLOOR <= ratio <= 1,
            )
            notes.append(
                f"{label}: {_describe(encodes, budget)}; binary search: {_describe(old_encodes, budget)}"
            )
    finally:
        encoding.encode = real_encode
    top = len(real_encode(decode(data, max_bytes=len(data)).image, "webp", quality=95))
    result.note(
        f"input {len(data) / 1e6:.2f} MB PNG {WIDTH}x{HEIGHT} (gradients, blotches, grain), "
        f"{top / 1e6:.2f} MB as a WebP at quality 95; median of {runs} runs each, after one warm-up."
    )
    for note in notes:
        result.note(f"encodes of the last run (size quality: bytes / budget), {note}")
    return result


def main() -> None:
    run_standalone(run, __doc__)


if __name__ == "__main__":
    main()
