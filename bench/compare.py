"""Side by side: this bot against the BASELINE peer-shaped bot (bench/peer_bot.py), on the same
workloads in the same run, through the same harness (SimCord, the Discord-call recorder, the lag
probe, the fake Images API in its own process), and the ratios between them.

Workloads (each run of each bot in a fresh child process, ``python -m bench.compare --case ...``,
so that CPU time, memory high-water and SimCord's one-Env-per-loop start clean; ours and the peer
alternate):

- **A. members at once**: 200 members each send one ``/imagine`` (one 1024x1024 image) at once;
  the fake refuses over 120 images per minute (a rolling 60 s window), and our bot is configured
  with the same limit (``OPENAI_IMAGES_PER_MINUTE``, ``OPENAI_RATE_WINDOW_SECONDS``). At the fake
  latency of the run (2 s) and at 30 s. A run that hasn't finished by its deadline (twice the time
  an ideal client would need, plus 10 s) is stopped there and measured as it stands.
- **B. one heavy member, then ten light ones**: one member sends 20 jobs of 4 images, a second
  later 10 other members send one 1-image job each; the limit is 60 images per minute, so the
  heavy member's 80 images alone exceed a window and queue (at the peer: are refused and retried).
- **C. acknowledgement**: the time to the interaction's initial response, from A's 2 s burst.
- **Scaling** (ours only): 10, 50, 200 and 500 members at once against a fake that admits 20
  images a second (a 1 s window, both sides) and answers in 0.1 s, so that the jobs queue.

Our bot runs with its defaults except the limit, the window and, in B, ``MAX_JOBS_PER_USER=25``
(so that the heavy member's 20 are admitted); ``OPENAI_MAX_CONCURRENCY`` is never set.
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import harness
from bench.harness import Harness, Settings, percentile, rss_mb
from bench.ratelimit import ideal_span
from bench.result import Result

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
PER_MINUTE = 120  # A's limit, images per minute
HEAVY_PER_MINUTE = 60  # B's limit
HEAVY_JOBS, LIGHT_MEMBERS = 20, 10
SLOW_LATENCY = 30.0
SCALE_LATENCY, SCALE_WINDOW, SCALE_BUDGET = 0.1, 1, 20  # 20 images a second
INF = float("inf")


# -- one run of one bot, in a child process --------------------------------------------------------


def _waves(case: dict[str, Any]) -> list[list[tuple[str, int, int]]]:
    """What is sent, wave by wave: (group, member index, images) per interaction."""
    if case["kind"] == "heavy":
        heavy = [("heavy", 0, case["heavy_n"])] * HEAVY_JOBS
        light = [("light", 1 + i, 1) for i in range(LIGHT_MEMBERS)]
        return [heavy, light]
    return [[("all", i, 1) for i in range(case["members"])]]


async def _measure(case: dict[str, Any]) -> dict[str, Any]:
    """Run one workload with one bot; the raw figures as a dict."""
    waves = _waves(case)
    env = {
        "OPENAI_IMAGES_PER_MINUTE": str(case["budget"]),
        "OPENAI_RATE_WINDOW_SECONDS": str(case["window"]),
    }
    if case["kind"] == "heavy":
        env["MAX_JOBS_PER_USER"] = str(HEAVY_JOBS + 5)
    settings = Settings(
        latency=case["latency"],
        fake_images_per_minute=case["budget"],
        rate_window=case["window"],
        members=1 + max(index for wave in waves for _, index, _ in wave),
        env=env,
        bot=case["bot"],
    )
    notes = Result("compare", "")
    async with Harness(settings) as h:
        prepared = [
            [
                (
                    group,
                    h.prepare_slash(
                        h.members[i], "imagine", prompt=f"a lighthouse #{k}", n=n, size="1024x1024"
                    ),
                )
                for k, (group, i, n) in enumerate(wave)
            ]
            for wave in waves
        ]
        await h.warm_up()
        h.fake_set("images_per_minute", case["budget"])  # the measured run starts on an empty window
        assert h.recorder is not None and h.probe is not None
        calls_before, routes_before = h.recorder.calls, dict(h.recorder.by_route)
        rss_before = rss_mb()
        cpu_start, start, start_monotonic = time.process_time(), time.perf_counter(), time.monotonic()
        deadline = start + case["deadline"]
        sent: list[Any] = []
        groups: list[Any] = []
        for number, wave in enumerate(prepared):
            if number:  # the next wave comes a second after the last one was acknowledged
                await _acknowledged(sent, deadline)
                await asyncio.sleep(1.0)
            sent += await h.burst(item for _, item in wave)
            groups += [group for group, _ in wave]
        finished = await h.wait_finished(sent, timeout=max(0.0, deadline - time.perf_counter()))
        end = time.perf_counter()
        cpu = time.process_time() - cpu_start
        results = [s.result for s in sent if s.result is not None]
        last = max(results) if finished and results else end
        lags = h.probe.lags(start, end)
        arrivals = [a for a in h.fake_get("arrivals") if a[0] >= start_monotonic]
        rate_limited = h.fake_get("rate_limited_count")
        h.note_stalls(notes, start, end)
        h.note_problems(notes, sent, finished)
        calls = h.recorder.calls - calls_before
        routes = {r: c - routes_before.get(r, 0) for r, c in h.recorder.by_route.items()}
        if not finished:  # stopped at the deadline: end what is still running
            for s in sent:
                for task in s.tasks:
                    task.cancel()
        return {
            "bot": case["bot"],
            "jobs": [
                {"group": g, "ack": s.ack_latency, "wait": s.end_to_end, "ended": s.finished is not None}
                for g, s in zip(groups, sent, strict=True)
            ],
            "finished": finished,
            "span": last - start,
            "cpu": cpu,
            "calls": calls,
            "routes": {r: c for r, c in routes.items() if c},
            "lag_max": max(lags, default=float("nan")),
            "lag_p99": percentile(lags, 99),
            "rate_limited": rate_limited,
            "admitted": len(arrivals),
            "rss_before": rss_before,
            "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB,
            "notes": notes.notes,
        }


async def _acknowledged(sent: Sequence[Any], deadline: float) -> None:
    """Wait (at most 5 s) until every interaction sent so far has its initial response."""
    give_up = min(deadline, time.perf_counter() + 5)
    while any(s.acked is None for s in sent) and time.perf_counter() < give_up:
        await asyncio.sleep(0.01)


async def _run_case(case: dict[str, Any]) -> dict[str, Any]:
    """One run in a fresh child process; its raw figures."""
    with tempfile.TemporaryDirectory(prefix="imagebot-compare-") as workdir:
        out = Path(workdir) / "case.json"
        command = [sys.executable, "-m", "bench.compare", "--case", json.dumps(case), "--out", str(out)]
        if harness.DIAGNOSE:
            command.append("--diagnose")
        child = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=os.environ.copy())
        try:
            code = await asyncio.wait_for(child.wait(), timeout=case["deadline"] + 180)
        except TimeoutError:
            child.kill()
            await child.wait()
            raise RuntimeError(f"the {case['kind']} run of {case['bot']} hung") from None
        if not out.exists():
            raise RuntimeError(f"the {case['kind']} run of {case['bot']} exited with code {code}")
        return json.loads(out.read_text(encoding="utf-8"))


# -- figures ---------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """``percentile``, where a job that got no image counts as waiting forever (inf)."""
    if not values:
        return float("nan")
    big = 1e12
    value = percentile([big if v == INF else v for v in values], q)
    return INF if value > big / 1e3 else value


def secs(value: float) -> str:
    if value == INF:
        return "no image"
    if value != value:
        return "n/a"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.1f} s"


def waits(run: dict[str, Any], group: str | None = None) -> list[float]:
    return [INF if j["wait"] is None else j["wait"] for j in run["jobs"] if group in (None, j["group"])]


def completed(run: dict[str, Any]) -> int:
    return sum(1 for j in run["jobs"] if j["wait"] is not None)


def per_minute(run: dict[str, Any]) -> float:
    """Jobs whose images were posted, per minute: from the first dispatch to the last image posted
    (or to the deadline, when jobs were still running)."""
    return completed(run) * 60 / run["span"] if run["span"] > 0 else float("nan")


def no_image(run: dict[str, Any], group: str | None = None) -> str:
    jobs = [j for j in run["jobs"] if group in (None, j["group"]) and j["wait"] is None]
    failed = sum(1 for j in jobs if j["ended"])
    parts = [f"{failed} failed"] if failed else []
    if len(jobs) > failed:
        parts.append(f"{len(jobs) - failed} unfinished at the deadline")
    return ", ".join(parts) or "0"


def ratio(ours: float, peer: float) -> str:
    if ours != ours or peer != peer:
        return "n/a"
    if peer == INF:
        return "0 (the peer's got no image)" if ours != INF else "n/a (neither got an image)"
    if ours == INF:
        return "∞ (ours got no image)"
    return f"{ours / peer:.2f}×" if peer > 0 else "n/a"


def _add_burst(
    result: Result, title: str, ours: dict[str, Any], peer: dict[str, Any], case: dict[str, Any]
) -> None:
    budget, window = case["budget"], case["window"]
    limit = budget * 60 / window  # images (= jobs) per minute
    result.add(
        f"{title}: upstream 429s",
        f"ours {ours['rate_limited']} · peer {peer['rate_limited']}",
        "ours 0",
        ours["rate_limited"] == 0,
    )
    ideal = case["members"] * 60 / (ideal_span([1] * case["members"], budget, window) + case["latency"])
    o, p = per_minute(ours), per_minute(peer)
    result.add(
        f"{title}: jobs completed per minute (fraction of the {limit:g}/min limit)",
        f"ours {o:.1f} ({o / limit:.2f}) · peer {p:.1f} ({p / limit:.2f}); an ideal client {ideal:.1f}",
        f"ours ≥ {0.95 * limit:.0f} (0.95 × the limit)",
        o >= 0.95 * limit,
    )
    if peer["rate_limited"] == 0:
        result.add(f"{title}: ours ÷ peer jobs per minute", f"{o / p:.2f}", "≥ 1 (peer had 0 429s)", o >= p)
    else:
        result.add(
            f"{title}: ours ÷ peer jobs per minute",
            f"{o / p:.2f}" if p else "n/a",
            "≥ 1 only if the peer had 0 429s",
        )
    ow, pw = waits(ours), waits(peer)
    result.add(
        f"{title}: command → image p50 / p95",
        f"ours {secs(pct(ow, 50))} / {secs(pct(ow, 95))} · peer {secs(pct(pw, 50))} / {secs(pct(pw, 95))}",
    )
    result.add(
        f"{title}: jobs without their image",
        f"ours {no_image(ours)} · peer {no_image(peer)}",
        "ours 0",
        completed(ours) == len(ours["jobs"]),
    )
    n = len(ours["jobs"])
    result.add(
        f"{title}: Discord API calls per job",
        f"ours {ours['calls'] / n:.2f} · peer {peer['calls'] / len(peer['jobs']):.2f}",
    )
    result.add(
        f"{title}: CPU seconds of the bot's process",
        f"ours {ours['cpu']:.1f} s ({ours['cpu'] / n * 1000:.0f} ms/job) · "
        f"peer {peer['cpu']:.1f} s ({peer['cpu'] / len(peer['jobs']) * 1000:.0f} ms/job)",
    )
    result.add(
        f"{title}: loop lag max / p99",
        f"ours {secs(ours['lag_max'])} / {secs(ours['lag_p99'])} · "
        f"peer {secs(peer['lag_max'])} / {secs(peer['lag_p99'])}",
        "ours max < 50 ms",
        ours["lag_max"] < 0.05,
    )
    result.note(
        f"{title}: {case['members']} members, one 1-image job each, fake latency {case['latency']:g} s; "
        f"limit {budget} images per {window} s window on both sides (= {limit:g}/min); deadline "
        f"{case['deadline']:.0f} s; upstream requests admitted: ours {ours['admitted']}, peer "
        f"{peer['admitted']}; Discord requests: ours {_routes(ours)}; peer {_routes(peer)}."
    )


def _routes(run: dict[str, Any]) -> str:
    return ", ".join(f"{route} ×{count}" for route, count in run["routes"].items()) or "none"


def _add_heavy(result: Result, ours: dict[str, Any], peer: dict[str, Any], case: dict[str, Any]) -> None:
    title = "B. heavy then light"
    ol, pl = waits(ours, "light"), waits(peer, "light")
    o95, p95 = pct(ol, 95), pct(pl, 95)
    ok = None
    if o95 == o95 and p95 == p95 and not (o95 == INF and p95 == INF):
        ok = p95 == INF or (o95 != INF and o95 <= 0.1 * p95)
    result.add(
        f"{title}: the light members' wait p50 / p95",
        f"ours {secs(pct(ol, 50))} / {secs(o95)} · peer {secs(pct(pl, 50))} / {secs(p95)} "
        f"(ours p95 = {ratio(o95, p95)} the peer's)",
        "ours p95 ≤ 0.1 × the peer's",
        ok,
    )
    oh, ph = waits(ours, "heavy"), waits(peer, "heavy")
    result.add(
        f"{title}: the heavy member's last image after",
        f"ours {secs(max(oh))} · peer {secs(max(ph))}",
    )
    result.add(
        f"{title}: jobs without their image (light; heavy)",
        f"ours {no_image(ours, 'light')}; {no_image(ours, 'heavy')} · "
        f"peer {no_image(peer, 'light')}; {no_image(peer, 'heavy')}",
    )
    result.add(
        f"{title}: upstream 429s",
        f"ours {ours['rate_limited']} · peer {peer['rate_limited']}",
        "ours 0",
        ours["rate_limited"] == 0,
    )
    result.note(
        f"{title}: one member sends {HEAVY_JOBS} jobs of {case['heavy_n']} image(s), then, a second after "
        f"they are acknowledged, {LIGHT_MEMBERS} other members one 1-image job each; limit "
        f"{case['budget']} images per {case['window']} s window on both sides ({HEAVY_PER_MINUTE}/min), "
        f"so the heavy member's {HEAVY_JOBS * case['heavy_n']} images alone exceed a window: they must "
        f"queue (ours) or are refused and retried (the peer), and the light members arrive behind them; "
        f"fake latency {case['latency']:g} s. A member whose job got no image counts as waiting forever."
    )


def _add_acks(result: Result, ours: dict[str, Any], peer: dict[str, Any], members: int) -> None:
    oa = [j["ack"] for j in ours["jobs"] if j["ack"] is not None]
    pa = [j["ack"] for j in peer["jobs"] if j["ack"] is not None]
    o99 = percentile(oa, 99)
    result.add(
        f"C. acknowledgement p50 / p99 ({members}-command burst)",
        f"ours {secs(percentile(oa, 50))} / {secs(o99)} · peer {secs(percentile(pa, 50))} / "
        f"{secs(percentile(pa, 99))} (ours p99 = {ratio(o99, percentile(pa, 99))} the peer's)",
        "ours p99 ≤ 10 ms",
        o99 <= 0.01 if oa else None,
    )


def _add_scaling(result: Result, runs: dict[int, dict[str, Any]]) -> None:
    lengths = sorted(runs)
    names = " / ".join(map(str, lengths))
    calls = {n: runs[n]["calls"] / len(runs[n]["jobs"]) for n in lengths}
    result.add(
        f"scaling, ours: Discord calls per job at {names} queued",
        " / ".join(f"{calls[n]:.2f}" for n in lengths),
        "≤ 5 at every length",
        all(value <= 5 for value in calls.values()),
    )
    result.add(
        f"scaling, ours: CPU per job at {names} queued",
        " / ".join(f"{runs[n]['cpu'] / len(runs[n]['jobs']) * 1000:.1f}" for n in lengths) + " ms",
    )
    top = lengths[-1]
    result.add(
        f"scaling, ours: loop lag max / p99 at {names} queued",
        " · ".join(f"{secs(runs[n]['lag_max'])} / {secs(runs[n]['lag_p99'])}" for n in lengths),
        f"max < 50 ms at {top}",
        runs[top]["lag_max"] < 0.05,
    )
    result.add(
        f"scaling, ours: RSS high-water at {names} queued",
        " / ".join(f"{runs[n]['rss_peak']:.0f}" for n in lengths) + " MB",
    )
    rows = [
        ("queued", "calls/job", "CPU/job", "lag max", "lag p99", "RSS high-water", "drained in", "no image")
    ]
    for n in lengths:
        run = runs[n]
        rows.append(
            (
                str(n),
                f"{calls[n]:.2f}",
                f"{run['cpu'] / n * 1000:.1f} ms",
                secs(run["lag_max"]),
                secs(run["lag_p99"]),
                f"{run['rss_peak']:.0f} MB",
                f"{run['span']:.1f} s",
                no_image(run),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n    ".join("  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows)
    result.note(
        f"scaling (ours only): N members at once, one 1-image job each; the fake admits {SCALE_BUDGET} "
        f"images per {SCALE_WINDOW} s window (both sides) and answers in {SCALE_LATENCY:g} s, so the "
        f"jobs queue; each length in a fresh process (RSS high-water = ru_maxrss, start-up included):\n    "
        + table
    )


# -- the benchmark ---------------------------------------------------------------------------------


def _deadline(sizes: list[int], budget: int, window: float, latency: float) -> float:
    """Twice what an ideal client needs (admitted the instant the window allows), plus 10 s."""
    return 2 * (ideal_span(sizes, budget, window) + latency) + 10


def _burst_case(bot: str, members: int, latency: float, window: int) -> dict[str, Any]:
    budget = max(1, round(PER_MINUTE * window / 60))
    return {
        "kind": "burst",
        "bot": bot,
        "members": members,
        "latency": latency,
        "window": window,
        "budget": budget,
        "deadline": _deadline([1] * members, budget, window, latency),
    }


def _heavy_case(bot: str, latency: float, window: int) -> dict[str, Any]:
    budget = max(1, round(HEAVY_PER_MINUTE * window / 60))
    heavy_n = max(1, min(10, budget, round(budget * 4 / 3 / HEAVY_JOBS)))  # a third over one window
    sizes = [heavy_n] * HEAVY_JOBS + [1] * LIGHT_MEMBERS
    return {
        "kind": "heavy",
        "bot": bot,
        "members": 1 + LIGHT_MEMBERS,
        "latency": latency,
        "window": window,
        "budget": budget,
        "heavy_n": heavy_n,
        "deadline": _deadline(sizes, budget, window, latency) + 5,
    }


def _scale_case(members: int) -> dict[str, Any]:
    return {
        "kind": "burst",
        "bot": "ours",
        "members": members,
        "latency": SCALE_LATENCY,
        "window": SCALE_WINDOW,
        "budget": SCALE_BUDGET,
        "deadline": 3 * (ideal_span([1] * members, SCALE_BUDGET, SCALE_WINDOW) + SCALE_LATENCY) + 20,
    }


async def _pair(case: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    ours = await _run_case({**case, "bot": "ours"})
    peer = await _run_case({**case, "bot": "peer"})
    return ours, peer


async def run(quick: bool, latency: float, rate_window: float | None = None) -> Result:
    result = Result("compare", "this bot vs a BASELINE peer-shaped bot, same workloads, same run")
    window = None if rate_window is None else max(1, round(rate_window))
    fast_members = 50 if quick else 200
    burst_window = window or (10 if quick else 60)
    runs = [(f"A. {fast_members} at once, {latency:g} s", fast_members, latency)]
    if latency != SLOW_LATENCY:
        slow_members = 30 if quick else 200
        runs.append((f"A. {slow_members} at once, {SLOW_LATENCY:g} s", slow_members, SLOW_LATENCY))
    first: tuple[dict[str, Any], dict[str, Any]] | None = None
    for title, members, lat in runs:
        win = burst_window
        case = _burst_case("ours", members, lat, win)
        ours, peer = await _pair(case)
        first = first or (ours, peer)
        _add_burst(result, title, ours, peer, case)
        _carry_notes(result, title, ours, peer)
    heavy = _heavy_case("ours", latency, window or (15 if quick else 60))
    ours, peer = await _pair(heavy)
    _add_heavy(result, ours, peer, heavy)
    _carry_notes(result, "B", ours, peer)
    assert first is not None
    _add_acks(result, *first, fast_members)
    lengths = (10, 50, 200) if quick else (10, 50, 200, 500)
    scaling = {n: await _run_case(_scale_case(n)) for n in lengths}
    _add_scaling(result, scaling)
    for n, run_ in scaling.items():
        for note in run_["notes"]:
            result.note(f"scaling, {n} queued: {note}")
    result.note(
        "the peer is bench/peer_bot.py, labelled BASELINE: defer, one POST per job with the SDK's retries "
        "(2, on connection errors and 408/409/429/5xx, waiting Retry-After when 0-120 s), decode, one "
        "follow-up with the files; no queue, limiter or quotas. CPU seconds are the whole bot process's "
        "(time.process_time: the bot, SimCord's in-memory Discord, the recorder and the lag probe; the fake "
        "runs in its own process); loop lag is the probe's, from the first dispatch to the end. Results "
        "are small generated PNGs, not photo-sized. Ours runs with its default concurrency."
    )
    if quick:
        result.note(
            f"--quick: A with {fast_members} members over a {burst_window} s window (the limit scaled), "
            f"the 30 s-latency A with 30 members over a 10 s window, B over a 15 s window with 1-image heavy "
            "jobs, C from A's 50-command burst, scaling up to 200: compare full runs only."
        )
    return result


def _carry_notes(result: Result, title: str, ours: dict[str, Any], peer: dict[str, Any]) -> None:
    for who, run_ in (("ours", ours), ("peer", peer)):
        for note in run_["notes"]:
            result.note(f"{title}, {who}: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description="one run of one bot for bench.compare (see bench.run)")
    parser.add_argument("--case", required=True, help="the workload, as JSON")
    parser.add_argument("--out", required=True)
    parser.add_argument("--diagnose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    harness.DIAGNOSE = args.diagnose
    figures = asyncio.run(_measure(json.loads(args.case)))
    Path(args.out).write_text(json.dumps(figures), encoding="utf-8")


if __name__ == "__main__":
    main()
