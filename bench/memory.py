"""5. Peak memory with 50 jobs in flight, each returning four 1536x1024 images of a real-world size.

The same run twice, each in a fresh child process of this one (``python -m bench.memory --phase
...``), so that neither phase's memory or allocator state reaches the other; the fake Images API
runs in yet another process. Both children run as the Docker image runs the bot, with glibc's
``MALLOC_ARENA_MAX=2`` and ``MALLOC_MMAP_THRESHOLD_=131072`` (glibc reads them when a process
starts, so they're given to the child; a value already in the environment wins, and an empty one
leaves the variable unset, to compare):

- ``rss`` phase, without tracemalloc (which would add its own bookkeeping and slow Python down):
  the RSS high-water mark (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), the most physical memory
  the process ever held, start-up included: Python, discord.py, SimCord's in-memory Discord,
  Pillow's pixel buffers, aiohttp's buffers. What an operator's container limit sees.
- ``tracemalloc`` phase: the tracemalloc peak, the most memory in Python allocations (bytes
  objects, dicts, ...) made after the jobs started and alive at the same time. It doesn't see
  memory allocated outside Python's allocator (Pillow's pixel buffers), so it is the part of the
  peak the jobs' Python objects cause.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import Harness, Settings, rss_mb
from bench.result import Result

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
#: as the Dockerfile sets them
MALLOC_ENV = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}


def _rss_peak() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB  # kilobytes on Linux


def child_env() -> dict[str, str]:
    """This environment with MALLOC_ENV's defaults; a variable set empty is left out."""
    env = {**os.environ}
    for name, default in MALLOC_ENV.items():
        value = env.pop(name, default)
        if value:
            env[name] = value
    return env


async def _measure(jobs: int, latency: float, traced: bool) -> dict[str, Any]:
    """One run in this process: the figures as a dict (see ``run``)."""
    notes = Result("memory", "")
    settings = Settings(latency=latency, members=jobs, env={"OPENAI_IMAGES_PER_MINUTE": "100000"})
    async with Harness(settings) as h:
        h.fake_set("photo", True)  # PNGs of a real-world size (~3.3 MB each at 1536x1024)
        prepared = [
            h.prepare_slash(m, "imagine", prompt=f"a lighthouse at dawn, #{i}", n=4, size="1536x1024")
            for i, m in enumerate(h.members)
        ]
        rss_before = rss_mb()
        peak_before = _rss_peak()
        if traced:
            tracemalloc.start()
        start = time.perf_counter()
        sent = await h.burst(prepared)
        finished = await h.wait_finished(sent, timeout=300)
        end = time.perf_counter()
        traced_peak = None
        if traced:
            traced_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        rss_peak = _rss_peak()
        posted = [s for s in sent if s.result is not None]
        assert h.recorder is not None
        concurrency = h.bot_env.get("OPENAI_MAX_CONCURRENCY", "the bot's default")
        if hasattr(h.bot, "services"):
            concurrency = f"{h.bot.services.config.openai_max_concurrency} (the bot's default)"
        h.note_stalls(notes, start, end)
        h.note_problems(notes, sent, finished)
        return {
            "rss_peak": rss_peak,
            "rss_before": rss_before,
            "peak_before": peak_before,
            "traced_peak": traced_peak,
            "posted": len(posted),
            "images": sum(s.result_files for s in posted),
            "uploaded": h.recorder.uploaded_bytes,
            "concurrency": concurrency,
            "seconds": end - start,
            "malloc": {name: os.environ.get(name) for name in MALLOC_ENV},
            "notes": notes.notes,
        }


async def _phase(phase: str, jobs: int, latency: float) -> dict[str, Any]:
    """Run one phase in a fresh child process and return its figures."""
    with tempfile.TemporaryDirectory(prefix="imagebot-memory-") as workdir:
        out = Path(workdir) / f"{phase}.json"
        command = [sys.executable, "-m", "bench.memory", "--phase", phase, "--jobs", str(jobs)]
        command += ["--latency", str(latency), "--out", str(out)]
        if harness.DIAGNOSE:
            command.append("--diagnose")
        child = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=child_env())
        code = await child.wait()
        if not out.exists():
            raise RuntimeError(f"the {phase} phase exited with code {code}")
        return json.loads(out.read_text(encoding="utf-8"))


async def run(quick: bool, latency: float) -> Result:
    jobs = 10 if quick else 50
    result = Result("memory", f"{jobs} jobs in flight, each four 1536x1024 images")
    plain = await _phase("rss", jobs, latency)
    traced = await _phase("tracemalloc", jobs, latency)
    rss = plain["rss_peak"]
    result.add("RSS high-water mark (whole process, no tracemalloc)", f"{rss:.0f} MB", "< 200 MB", rss < 200)
    result.add("  RSS just before the jobs", f"{plain['rss_before']:.0f} MB")
    result.add("  RSS high-water mark of the tracemalloc run", f"{traced['rss_peak']:.0f} MB")
    traced_peak = traced["traced_peak"] / MB
    result.add(
        "tracemalloc peak (Python objects, from the jobs' start)",
        f"{traced_peak:.0f} MB",
        "< 300 MB",
        traced_peak < 300,
    )
    result.add("jobs with their images posted", f"{plain['posted']} of {jobs} ({plain['images']} images)")
    malloc = ", ".join(f"{name}={value or 'unset'}" for name, value in plain["malloc"].items())
    result.note(
        f"photo-like PNG results; {plain['uploaded'] / MB:.0f} MB posted to Discord; "
        f"OPENAI_MAX_CONCURRENCY={plain['concurrency']}; fake latency {latency:g} s; {malloc}; the run "
        f"took {plain['seconds']:.0f} s ({traced['seconds']:.0f} s under tracemalloc, which slows Python "
        f"down). The RSS peak before the jobs was {plain['peak_before']:.0f} MB (start-up, SimCord, the "
        f"test world)."
    )
    if traced["posted"] != plain["posted"]:
        result.note(f"the tracemalloc run posted the images of {traced['posted']} of {jobs} jobs")
    for phase, figures in (("", plain), ("tracemalloc run: ", traced)):
        for note in figures["notes"]:
            result.note(phase + note)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="one phase of the memory benchmark (see bench.run)")
    parser.add_argument("--phase", choices=["rss", "tracemalloc"], required=True)
    parser.add_argument("--jobs", type=int, required=True)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--diagnose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    harness.DIAGNOSE = args.diagnose
    figures = asyncio.run(_measure(args.jobs, args.latency, traced=args.phase == "tracemalloc"))
    Path(args.out).write_text(json.dumps(figures), encoding="utf-8")


if __name__ == "__main__":
    main()
