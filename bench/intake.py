"""2b. Event-loop lag while the bot takes in 8 phone photos (4000x3000 JPEG) at once, through /edit:
download from Discord's CDN, identify, decode, fit to the model, encode, upload to the Images API,
then deliver the result."""

from __future__ import annotations

import time

from bench.harness import Harness, Settings, ms, percentile
from bench.images import photo_jpeg
from bench.result import Result

JOBS = 8


async def run(quick: bool, latency: float) -> Result:
    photo = photo_jpeg(4000, 3000, 90)
    result = Result("intake", f"{JOBS} × /edit with a 12-megapixel JPEG at once")
    settings = Settings(
        latency=latency,
        members=JOBS,
        env={"OPENAI_IMAGES_PER_MINUTE": "100000", "OPENAI_MAX_CONCURRENCY": str(JOBS)},
    )
    async with Harness(settings) as h:
        prepared = [
            h.prepare_slash(m, "edit", image=(f"IMG_{i:04}.jpg", photo), prompt="make it autumn")
            for i, m in enumerate(h.members)
        ]
        await h.warm_up("edit", image=("small.jpg", photo_jpeg(640, 480, 90)), prompt="warm-up")
        start = time.perf_counter()
        start_monotonic = time.monotonic()
        sent = await h.burst(prepared)
        finished = await h.wait_finished(sent, timeout=120)
        end = time.perf_counter()
        assert h.probe is not None
        lags = h.probe.lags(start, end)
        worst = max(lags, default=float("nan"))
        result.add(
            "loop lag: max / p99",
            f"{ms(worst)} / {ms(percentile(lags, 99))}",
            "< 50 ms",
            worst < 0.05 if lags else None,
        )
        arrivals = sorted(when for when, _ in h.fake_get("arrivals") if when >= start_monotonic)
        if arrivals:
            result.add(
                "upstream requests sent after (first / last)",
                f"{arrivals[0] - start_monotonic:.2f} s / {arrivals[-1] - start_monotonic:.2f} s",
            )
        posted = sum(1 for s in sent if s.result is not None)
        result.add("results posted", f"{posted} of {JOBS}")
        e2e = [s.end_to_end for s in sent if s.end_to_end is not None]
        result.add("dispatch → result, slowest", f"{max(e2e, default=float('nan')):.2f} s")
        h.note_stalls(result, start, end)
        result.note(
            f"photo: {len(photo) / 1e6:.1f} MB JPEG, 4000x3000 (gradient + grain, quality 90); default "
            f"model ({h.bot_env.get('IMAGE_MODEL')}); fake latency {latency:g} s; {len(lags)} lag probes; "
            "the window runs from the first dispatch to the last job's end."
        )
        h.note_problems(result, sent, finished)
    return result
