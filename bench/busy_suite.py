"""The whole test suite, run several times on a busy machine: every core kept busy by a spinner
process (a plain Python busy loop) while ``python -m pytest -q -p no:cacheprovider`` runs, so that a
test whose outcome depends on how fast native work (Pillow, in ``asyncio.to_thread``) finishes
inside a SimCord settle shows up as a failure here rather than on a loaded CI machine.

``python -m bench.busy_suite [--runs 3] [--spinners N] [--logs DIR] [-- PYTEST ARGS]`` prints each
run's outcome (its pytest summary, the tests that failed, the load average; ``--logs`` keeps each
run's whole output) and a last line saying whether every run passed; the exit status is 1 when one
did not. A run took about 100 s with both cores of a 2-core machine busy (80 s idle).

The spinners are bounded in time (``--spin-limit``, by default enough for every run) and are
terminated, then killed if need be, when the runs end, however they end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
#: a run taking longer than this is stopped and counted as failed
RUN_TIMEOUT = 30 * 60
_SUMMARY = re.compile(r"^=*\s*(?P<text>(?:\d+ \w+(?:, )?)+ in [\d.]+s.*?)\s*=*$")
_FAILED = re.compile(r"^(FAILED|ERROR) (?P<test>\S+)")


def spin(deadline: float) -> None:
    """Keep one core busy until ``deadline`` (``time.time()``), in plain Python."""
    count = 0
    while time.time() < deadline:
        for _ in range(100_000):
            count += 1


@dataclass
class Run:
    number: int
    returncode: int | None = None
    seconds: float = 0.0
    summary: str = "no summary"
    failures: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)  # one-minute load average at the start and at the end
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.returncode == 0


def run_suite(number: int, arguments: list[str]) -> Run:
    run = Run(number)
    start_load = os.getloadavg()[0]
    start = time.perf_counter()
    process = subprocess.Popen(
        [*PYTEST, *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: stopped as a whole on a timeout
    )
    try:
        output, _ = process.communicate(timeout=RUN_TIMEOUT)
        run.returncode = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        run.returncode = None
        run.summary = f"stopped after {RUN_TIMEOUT} s"
    run.seconds = time.perf_counter() - start
    run.load = (start_load, os.getloadavg()[0])
    run.output = output
    lines = output.splitlines()
    for line in lines:
        failed = _FAILED.match(line)
        if failed:
            run.failures.append(f"{failed.group(1)} {failed.group('test')}")
    for line in reversed(lines):
        summary = _SUMMARY.match(line.strip())
        if summary:
            run.summary = summary.group("text")
            break
    if run.returncode not in (0, 1) and not run.failures:
        tail = "\n".join(lines[-30:])
        run.failures.append(f"pytest exited with {run.returncode}; its output ended:\n{tail}")
    return run


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="how many times to run the suite (3)")
    parser.add_argument(
        "--spinners", type=int, default=os.cpu_count() or 2, help="busy processes (one per core)"
    )
    parser.add_argument(
        "--spin-limit",
        type=float,
        default=None,
        help="seconds after which the spinners stop on their own (default: runs x 30 min)",
    )
    parser.add_argument("--logs", type=Path, default=None, help="save each run's pytest output here")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    args = parser.parse_args()

    limit = args.spin_limit if args.spin_limit is not None else args.runs * RUN_TIMEOUT
    context = multiprocessing.get_context("spawn")
    spinners = [
        context.Process(target=spin, args=(time.time() + limit,), name=f"spinner-{index}", daemon=True)
        for index in range(args.spinners)
    ]
    print(
        f"{args.runs} run(s) of: {' '.join(['pytest', *PYTEST[3:], *args.pytest_args])}; "
        f"{args.spinners} spinner(s) on {os.cpu_count()} core(s), for at most {limit:.0f} s",
        flush=True,
    )
    runs: list[Run] = []
    try:
        for spinner in spinners:
            spinner.start()
        time.sleep(2.0)  # let the load build up
        for number in range(1, args.runs + 1):
            run = run_suite(number, args.pytest_args)
            runs.append(run)
            verdict = "passed" if run.passed else "FAILED"
            print(
                f"run {number}: {verdict} in {run.seconds:.0f} s ({run.summary}; "
                f"load {run.load[0]:.1f} -> {run.load[1]:.1f})",
                flush=True,
            )
            for failure in run.failures:
                print(f"    {failure}", flush=True)
            if args.logs is not None:
                args.logs.mkdir(parents=True, exist_ok=True)
                (args.logs / f"run-{number}.log").write_text(run.output, encoding="utf-8")
    finally:
        for spinner in spinners:
            if spinner.is_alive():
                spinner.terminate()
        for spinner in spinners:
            spinner.join(timeout=5)
            if spinner.is_alive():
                spinner.kill()
                spinner.join()
    failed = [run.number for run in runs if not run.passed]
    if len(runs) < args.runs:
        print(f"stopped after {len(runs)} of {args.runs} runs")
        return 1
    if failed:
        print(f"{len(failed)} of {args.runs} runs FAILED under load (runs {', '.join(map(str, failed))})")
        return 1
    print(f"all {args.runs} runs passed under load")
    return 0


if __name__ == "__main__":
    sys.exit(main())
