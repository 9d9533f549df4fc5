"""Run the benchmarks and print their figures: ``python -m bench.run [--quick] [--only NAME]``.

Each benchmark runs in a fresh Python process (bench/worker.py), one after another; the figures
are printed in one table at the end, each with the issue's target where it sets one. Benchmarks
never assert: the exit status is 0 when every benchmark ran (whatever its figures), 1 when one
crashed. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.result import Result
from bench.worker import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent


# The bot's processes run as the Docker image runs them: glibc keeps at most two malloc arenas, so
# the worker threads that parse responses and fit images don't each grow a heap of their own (on
# the memory benchmark: ~273 MB RSS high-water instead of ~322 MB).
WORKER_ENV = {
    **os.environ,
    "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
    "MALLOC_MMAP_THRESHOLD_": os.environ.get("MALLOC_MMAP_THRESHOLD_", "131072"),
}


def _versions() -> str:
    from importlib.metadata import version

    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = "?"
    return (
        f"commit {commit or '?'}; Python {platform.python_version()}, discord.py {version('discord.py')}, "
        f"SimCord {version('simcord')}, Pillow {version('pillow')}; {os.cpu_count()} CPU(s)"
    )


def _run_one(name: str, args: argparse.Namespace, workdir: Path) -> tuple[Result, str]:
    out = workdir / f"{name}.json"
    command = [sys.executable, "-m", "bench.worker", name, "--out", str(out), "--latency", str(args.latency)]
    if args.quick:
        command.append("--quick")
    if args.rate_window is not None:
        command += ["--rate-window", str(args.rate_window)]
    if args.diagnose:
        command.append("--diagnose")
    start = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=ROOT,
        env=WORKER_ENV,
        stdout=subprocess.PIPE,
        stderr=None if args.verbose else subprocess.PIPE,
        text=True,
        check=False,
    )
    log = (completed.stderr or "") + (completed.stdout or "")
    if out.exists():
        return Result.from_json(json.loads(out.read_text(encoding="utf-8"))), log
    result = Result(name, BENCHMARKS[name], error=f"the worker exited with code {completed.returncode}")
    result.seconds = time.perf_counter() - start
    return result, log


def _table(results: list[Result]) -> str:
    rows = [("benchmark", "figure", "value", "target", "")]
    for result in results:
        label = result.name
        if result.error:
            rows.append((label, "FAILED", result.error, "", ""))
        for figure in result.figures:
            verdict = {True: "ok", False: "MISSED", None: ""}[figure.ok]
            rows.append((label, figure.name, figure.value, figure.target, verdict))
            label = ""
        if not result.figures and not result.error:
            rows.append((label, "(no figures)", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs (about a minute in all)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only this benchmark (repeatable, or comma-separated): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--latency", type=float, default=2.0, help="the fake Images API's latency (s)")
    parser.add_argument(
        "--rate-window",
        type=float,
        default=None,
        help="the rate-limit window for 'ratelimit' (s; default 30, 10 with --quick; 60 is OpenAI's)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the benchmarks' logs as they run")
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help="add to the notes where the event loop was while it kept a probe waiting over 20 ms",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    args = parser.parse_args()

    selected = list(BENCHMARKS)
    if args.only:
        wanted = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
        unknown = [name for name in wanted if name not in BENCHMARKS]
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        selected = [name for name in BENCHMARKS if name in wanted]

    print(f"imagebot benchmarks ({'quick' if args.quick else 'full'} run): {_versions()}", flush=True)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="imagebot-bench-") as workdir:
        for name in selected:
            print(f"  {name}: {BENCHMARKS[name]} …", end="", flush=True)
            result, log = _run_one(name, args, Path(workdir))
            print(f" {result.seconds:.0f} s{' FAILED' if result.error else ''}", flush=True)
            if result.error and log:
                print("\n".join("    | " + line for line in log.strip().splitlines()[-25:]), flush=True)
            results.append(result)

    print()
    print(_table(results))
    for result in results:
        if result.notes:
            print(f"\n{result.name} — {result.title}")
            for note in result.notes:
                print(f"  - {note}")
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_json() for r in results], indent=2), encoding="utf-8")
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
