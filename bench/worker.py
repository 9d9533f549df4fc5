"""Runs one benchmark in this (fresh) process and writes its Result as JSON: used by bench/run.py,
so that every benchmark starts clean (memory high-water marks, SimCord's one-Env-per-loop)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import logging
import time
import traceback

from bench.result import Result

BENCHMARKS = {
    "burst": "1, 2a: acknowledgement and loop lag under a burst of /imagine",
    "intake": "2b: loop lag while 8 12-megapixel JPEGs are taken in",
    "overhead": "3: the bot's time per job beyond upstream latency",
    "ratelimit": "4: 429s and throughput against the Images API's rate limit",
    "memory": "5: peak memory with 50 jobs in flight",
    "imaging": "6: fitting a 12-megapixel JPEG for dall-e-2 vs plain Pillow",
    "gif_fit": "7: an animated GIF fitted into half its size",
    "fit_still": "8: a photo-like 1536x1024 PNG fitted into 1 MB and 400 KB",
    "usage_report": "9: /admin usage over 100,000 stored jobs",
    "compare": "this bot vs a BASELINE peer-shaped bot: limit, fairness, acknowledgement, scaling",
    "scale": "11: 1, 2 and 4 processes on one PostgreSQL at the limit; jobs/s before it binds",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--rate-window", type=float, default=None)
    parser.add_argument("--diagnose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.diagnose:
        from bench import harness

        harness.DIAGNOSE = True

    module = importlib.import_module(f"bench.{args.name}")
    options = {"quick": args.quick, "latency": args.latency}
    if "rate_window" in inspect.signature(module.run).parameters:
        options["rate_window"] = args.rate_window
    start = time.perf_counter()
    try:
        result = asyncio.run(module.run(**options))
    except BaseException as error:
        result = Result(args.name, BENCHMARKS[args.name], error=f"{type(error).__name__}: {error}")
        traceback.print_exc()
    result.seconds = time.perf_counter() - start
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(result.to_json(), out)


if __name__ == "__main__":
    main()
