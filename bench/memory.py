"""5. Peak memory with 50 jobs in flight, each returning four 1536x1024 images of a real-world size.

Two measures, both of this benchmark's own process (it runs alone in a fresh one, and the fake
Images API runs in another):
- RSS high-water mark (``resource.getrusage(RUSAGE_SELF).ru_maxrss``): the most physical memory the
  process ever held, start-up included: Python, discord.py, SimCord's in-memory Discord, Pillow's
  pixel buffers, aiohttp's buffers. What an operator's container limit sees.
- tracemalloc peak: the most memory in Python allocations (bytes objects, dicts, ...) made after the
  jobs started and alive at the same time. It doesn't see memory allocated outside Python's
  allocator (Pillow's pixel buffers), so it is the part of the peak the jobs' Python objects cause.
"""

from __future__ import annotations

import resource
import time
import tracemalloc

from bench.harness import Harness, Settings
from bench.result import Result

MB = 1024 * 1024


def _rss_now() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / MB
    return float("nan")


def _rss_peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB  # kilobytes on Linux


async def run(quick: bool, latency: float) -> Result:
    jobs = 10 if quick else 50
    result = Result("memory", f"{jobs} jobs in flight, each four 1536x1024 images")
    settings = Settings(latency=latency, members=jobs, env={"OPENAI_IMAGES_PER_MINUTE": "100000"})
    async with Harness(settings) as h:
        h.fake_set("photo", True)  # PNGs of a real-world size (~3.3 MB each at 1536x1024)
        prepared = [
            h.prepare_slash(m, "imagine", prompt=f"a lighthouse at dawn, #{i}", n=4, size="1536x1024")
            for i, m in enumerate(h.members)
        ]
        rss_before = _rss_now()
        peak_before = _rss_peak()
        tracemalloc.start()
        start = time.perf_counter()
        sent = await h.burst(prepared)
        finished = await h.wait_finished(sent, timeout=300)
        end = time.perf_counter()
        elapsed = end - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_peak = _rss_peak()
        result.add("RSS high-water mark (whole process)", f"{rss_peak:.0f} MB", "< 300 MB", rss_peak < 300)
        result.add("  RSS just before the jobs", f"{rss_before:.0f} MB")
        result.add(
            "tracemalloc peak (Python objects, from the jobs' start)",
            f"{traced_peak / MB:.0f} MB",
            "< 300 MB",
            traced_peak / MB < 300,
        )
        posted = [s for s in sent if s.result is not None]
        images = sum(s.result_files for s in posted)
        result.add("jobs with their images posted", f"{len(posted)} of {jobs} ({images} images)")
        assert h.recorder is not None
        concurrency = h.bot_env.get("OPENAI_MAX_CONCURRENCY", "the bot's default")
        if hasattr(h.bot, "config") and hasattr(h.bot.config, "openai_max_concurrency"):
            concurrency = f"{h.bot.config.openai_max_concurrency} (the bot's default)"
        h.note_stalls(result, start, end)
        result.note(
            f"photo-like PNG results; {h.recorder.uploaded_bytes / MB:.0f} MB posted to Discord; "
            f"OPENAI_MAX_CONCURRENCY={concurrency}; fake latency {latency:g} s; run took {elapsed:.0f} s "
            f"(under tracemalloc, which slows Python down). The RSS peak before the jobs was "
            f"{peak_before:.0f} MB (start-up, SimCord, the test world)."
        )
        h.note_problems(result, sent, finished)
    return result
