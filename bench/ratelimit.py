"""4. The bot's limiter against the Images API's own images-per-minute limit: with both set to the
same value, how many requests does upstream still refuse with 429, and how close to the limit is
the throughput while a backlog waits?

Throughput is judged against an ideal limiter on the same work: one that admits each request the
instant the rolling window allows (unlimited concurrency, no delay). It would admit everything
the bot got admitted within ``ideal`` seconds of the first request; the bot took ``actual``.
Throughput = the limit × ideal / actual (so a bot that waits 5% longer than needed scores 95%).
The first window's burst is in both, so the figure reflects the refills, not the initial budget.
"""

from __future__ import annotations

import itertools
import time

from bench.harness import Harness, Settings, bot_reads
from bench.result import Result
from tests.fakeapi.ratelimit import RollingWindow

PER_MINUTE = 120  # the limit, in images per minute
SIZES = (1, 2, 1, 3, 1, 4)  # images per job, in turn: 2 on average
CONCURRENCY = 8


def ideal_span(sizes: list[int], limit: int, window: float) -> float:
    """Seconds from the first to the last admission for an ideal FIFO limiter."""
    bucket = RollingWindow(limit, window)
    now = 0.0
    for n in sizes:
        while True:
            admission = bucket.admit(now, n)
            if admission.admitted:
                break
            now += max(admission.retry_after, 1e-9)
    return now


async def run(quick: bool, latency: float, rate_window: float | None = None) -> Result:
    result = Result("ratelimit", "the bot's limiter vs the Images API's images-per-minute limit")
    has_limit = bot_reads("OPENAI_IMAGES_PER_MINUTE")
    has_concurrency = bot_reads("OPENAI_MAX_CONCURRENCY")
    has_window = bot_reads("OPENAI_RATE_WINDOW_SECONDS")
    if rate_window is None:
        rate_window = 10.0 if quick else 30.0
    if not has_window and rate_window != 60:
        if quick:
            result.note(
                "not run: the bot doesn't read OPENAI_RATE_WINDOW_SECONDS, and a 60 s window is too "
                "long for --quick"
            )
            return result
        result.note("the bot doesn't read OPENAI_RATE_WINDOW_SECONDS: both sides use 60 s windows")
        rate_window = 60.0
    limit = round(PER_MINUTE * rate_window / 60)
    images_wanted = int(limit * (2 if quick else 2.5))  # a backlog for one or two refills after the first
    sizes = list(itertools.islice(itertools.cycle(SIZES), images_wanted))
    while sum(sizes) > images_wanted:
        sizes.pop()
    env = {"OPENAI_IMAGES_PER_MINUTE": str(limit), "OPENAI_MAX_CONCURRENCY": str(CONCURRENCY)}
    if has_window:
        env["OPENAI_RATE_WINDOW_SECONDS"] = str(int(rate_window))
    settings = Settings(
        latency=latency,
        fake_images_per_minute=limit,
        rate_window=rate_window,
        members=len(sizes),
        env=env,
    )
    if not has_limit:
        result.note(
            "THE BOT HAS NO LIMITER YET (it doesn't read OPENAI_IMAGES_PER_MINUTE): these figures are "
            "a baseline without one"
        )
    async with Harness(settings) as h:
        prepared = [
            h.prepare_slash(member, "imagine", prompt=f"a lighthouse at dawn, #{i}", n=n, size="1024x1024")
            for i, (member, n) in enumerate(zip(h.members, sizes, strict=True))
        ]
        start = time.perf_counter()
        sent = await h.burst(prepared)
        timeout = 4 * rate_window + 120
        finished = await h.wait_finished(sent, timeout=timeout)
        elapsed = time.perf_counter() - start

        rejected = h.fake_get("rate_limited_count")
        result.add("upstream 429s (rate limit)", str(rejected), "0", rejected == 0)
        arrivals = h.fake_get("arrivals")
        admitted = [n for _, n in arrivals]
        scale = 60 / rate_window
        if len(arrivals) >= 2:
            actual = arrivals[-1][0] - arrivals[0][0]
            ideal = ideal_span(admitted, limit, rate_window)
            efficiency = ideal / actual if actual > 0 else float("nan")
            result.add(
                "throughput (images per minute)",
                f"{PER_MINUTE * efficiency:.1f} = {efficiency:.1%} of {PER_MINUTE}",
                "≥ 95% of the limit",
                efficiency >= 0.95,
            )
            result.add(
                "  images admitted / ideal / actual span",
                f"{sum(admitted)} / {ideal:.1f} s / {actual:.1f} s",
            )
        else:
            result.add("throughput (images per minute)", "n/a (fewer than 2 requests admitted)")
        posted = [s for s in sent if s.result is not None]
        result.add("jobs with their images posted", f"{len(posted)} of {len(sent)}")
        runner = getattr(getattr(h.bot, "services", None), "runner", None)  # ours (the peer has none)
        seen = getattr(getattr(runner, "scheduler", None), "rate_limited", None)
        if seen is not None:
            result.add("429s the bot's scheduler saw", str(seen))
        result.note(
            f"limit {limit} images per {rate_window:g} s window on both sides (= {limit * scale:g}/min); "
            f"{len(sent)} jobs of {'/'.join(map(str, SIZES))} images ({sum(sizes)} images) from as many "
            f"users at once; OPENAI_MAX_CONCURRENCY={CONCURRENCY}; fake latency {latency:g} s; "
            f"run took {elapsed:.0f} s."
        )
        if not (has_limit and has_concurrency):
            result.note(
                "settings the bot doesn't read yet: "
                + ", ".join(
                    name
                    for name, read in (
                        ("OPENAI_IMAGES_PER_MINUTE", has_limit),
                        ("OPENAI_MAX_CONCURRENCY", has_concurrency),
                    )
                    if not read
                )
            )
        h.note_problems(result, sent, finished)
    return result
