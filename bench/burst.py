"""1 + 2a. A burst of /imagine from as many different users: time to acknowledgement, unanswered
interactions, and event-loop lag while the burst is acknowledged and worked off."""

from __future__ import annotations

import time

from bench.harness import ACK_DEADLINE, Harness, Settings, ms, percentile
from bench.result import Result

CONCURRENCY = 50  # so that the burst is worked off in seconds, not minutes (it doesn't affect the ack)


async def run(quick: bool, latency: float) -> Result:
    count = 50 if quick else 200
    result = Result("burst", f"{count} × /imagine from {count} users at once")
    settings = Settings(
        latency=latency,
        members=count,
        env={"OPENAI_IMAGES_PER_MINUTE": "100000", "OPENAI_MAX_CONCURRENCY": str(CONCURRENCY)},
    )
    async with Harness(settings) as h:
        prepared = [
            h.prepare_slash(m, "imagine", prompt=f"a lighthouse at dawn, #{i}")
            for i, m in enumerate(h.members)
        ]
        await h.warm_up()
        assert h.recorder is not None
        routes_before = dict(h.recorder.by_route)
        reserves = h.time_calls(
            h.bot.services.store, "reserve"
        )  # a diagnostic: the quota reservation (SQLite)
        start = time.perf_counter()
        sent = await h.burst(prepared)
        dispatched = time.perf_counter()
        finished = await h.wait_finished(sent, timeout=120)
        end = time.perf_counter()
        assert h.probe is not None

        acks = [s.ack_latency for s in sent if s.ack_latency is not None]
        in_time = [a for a in acks if a <= ACK_DEADLINE]
        deferred = sum(1 for s in sent if s.ack_type == 5)
        p99 = percentile(acks, 99)
        result.add("acknowledgement p50", ms(percentile(acks, 50)))
        result.add("acknowledgement p99", ms(p99), "< 100 ms", p99 < 0.1 if acks else None)
        result.add("acknowledgement max", ms(max(acks, default=float("nan"))))
        if reserves:  # what the acknowledgement waits for first
            result.add(
                "  quota reservation (store.reserve) wall time: p50 / p99",
                f"{ms(percentile(reserves, 50))} / {ms(percentile(reserves, 99))}",
            )
        unanswered = count - len(in_time)
        result.add(
            f"unanswered after {ACK_DEADLINE:.0f} s (of {count})", str(unanswered), "0", unanswered == 0
        )
        last_ack = max((s.acked for s in sent if s.acked is not None), default=dispatched)
        ack_lags = h.probe.lags(start, last_ack)
        lags = h.probe.lags(start, end)
        result.add(
            "loop lag while acknowledging: max / p99",
            f"{ms(max(ack_lags, default=float('nan')))} / {ms(percentile(ack_lags, 99))}",
            "< 50 ms",
            max(ack_lags) < 0.05 if ack_lags else None,
        )
        result.add(
            "loop lag over the whole burst: max / p99",
            f"{ms(max(lags, default=float('nan')))} / {ms(percentile(lags, 99))}",
            "< 50 ms",
            max(lags) < 0.05 if lags else None,
        )
        posted = sum(1 for s in sent if s.result is not None)
        result.add("results posted", f"{posted} of {count}")
        result.add("burst worked off in", f"{end - start:.1f} s")
        h.note_stalls(result, start, end)
        result.note(
            f"dispatch took {(dispatched - start) * 1000:.0f} ms for {count} interactions "
            f"(one loop turn between two); {deferred} acknowledged with a 'thinking…' defer, "
            f"{len(acks) - deferred} with an immediate message; {len(lags)} lag probes."
        )
        result.note(
            f"fake latency {latency:g} s; OPENAI_MAX_CONCURRENCY={CONCURRENCY} and "
            "OPENAI_IMAGES_PER_MINUTE=100000 so the burst drains quickly; "
            "requests to Discord: "
            + ", ".join(
                f"{route} ×{calls - routes_before.get(route, 0)}"
                for route, calls in h.recorder.by_route.items()
            )
            + "."
        )
        h.note_problems(result, sent, finished)
    return result
