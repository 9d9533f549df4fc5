"""3. The bot's own time per job beyond the upstream latency: one /imagine of one 1024x1024 image at
a time, from the interaction's dispatch to the result message reaching Discord, minus the fake's
configured latency."""

from __future__ import annotations

import time

import aiohttp

from bench.harness import Harness, Settings, ms, percentile
from bench.result import Result


async def _fake_round_trip(h: Harness, samples: int = 5) -> float:
    """The fake's own answer time without latency (HTTP + validation + image + JSON), median."""
    assert h.fake is not None
    latency = h.fake_get("latency")
    h.fake_set("latency", 0)
    body = {"model": "gpt-image-2", "prompt": "a lighthouse at dawn", "n": 1, "size": "1024x1024"}
    headers = {"Authorization": f"Bearer {h.fake.api_key}"}
    times = []
    async with aiohttp.ClientSession() as http:
        for _ in range(samples + 1):
            start = time.perf_counter()
            async with http.post(f"{h.fake.base_url}/images/generations", json=body, headers=headers) as r:
                await r.read()
            times.append(time.perf_counter() - start)
    h.fake_set("latency", latency)
    return percentile(times[1:], 50)


async def run(quick: bool, latency: float) -> Result:
    jobs = 5 if quick else 25
    result = Result("overhead", f"{jobs} sequential /imagine jobs, one 1024x1024 image each")
    settings = Settings(latency=latency, members=5, env={"OPENAI_IMAGES_PER_MINUTE": "100000"})
    async with Harness(settings) as h:
        h.fake_set("photo", True)  # results of a real-world size: a 1024x1024 PNG of about 2.6 MB
        fake_own = await _fake_round_trip(h)
        sent = []
        for i in range(jobs + 1):  # the first one warms up connections and lazy imports
            member = h.members[i % len(h.members)]
            prepared = h.prepare_slash(
                member, "imagine", prompt=f"a lighthouse at dawn, #{i}", size="1024x1024"
            )
            one = h.dispatch(prepared)
            await h.wait_finished([one], timeout=60)
            await h.wait_idle(10)
            sent.append(one)
        warmup, measured = sent[0], sent[1:]
        overheads = [s.end_to_end - latency for s in measured if s.end_to_end is not None]
        median, p99 = percentile(overheads, 50), percentile(overheads, 99)
        result.add("overhead per job: median", ms(median), "< 50 ms", median < 0.05 if overheads else None)
        result.add("overhead per job: p99", ms(p99), "< 50 ms", p99 < 0.05 if overheads else None)
        arrivals = [when for when, _ in h.fake_get("arrivals")][-len(sent) :]
        if len(arrivals) == len(sent):
            before = [a - s.dispatched_monotonic for a, s in zip(arrivals[1:], measured, strict=True)]
            after = [
                s.end_to_end - (a - s.dispatched_monotonic) - latency
                for a, s in zip(arrivals[1:], measured, strict=True)
                if s.end_to_end is not None
            ]
            result.add("  of which before the upstream call: median", ms(percentile(before, 50)))
            result.add("  of which after the upstream latency: median", ms(percentile(after, 50)))
        result.add("  of which the fake's own answer time: median", ms(fake_own))
        acks = [s.ack_latency for s in measured if s.ack_latency is not None]
        result.add("acknowledgement: median", ms(percentile(acks, 50)))
        result.note(
            f"fake latency {latency:g} s; photo-like results (1024x1024 PNG, 2-3 MB); "
            "first job (warm-up, not counted): "
            f"{ms((warmup.end_to_end or float('nan')) - latency)}; 'after the upstream latency' includes "
            "the fake's own answer time (measured apart by calling it directly: HTTP, validation, "
            "image, JSON)."
        )
        h.note_problems(result, measured)
    return result
