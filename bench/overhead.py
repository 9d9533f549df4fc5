"""3. The bot's own time per job, outside the upstream call: one /imagine of one 1024x1024 image at
a time, from the interaction's dispatch to the result message reaching Discord, minus the time the
bot's request to the Images API took (from sending it to the response's headers arriving: the
fake's latency AND its own answer time, neither of which is the bot's).

The upstream call is timed in the bot's own process with aiohttp's request tracing (``TraceConfig``
``on_request_start`` / ``on_request_end``, the latter when the response's headers have arrived):
for the benchmark, every ``aiohttp.ClientSession`` created in this process gets a trace config
(``ClientSession.__init__`` is wrapped while the benchmark runs; the bot's behaviour is
unchanged). The fake builds its whole answer before sending the headers, so what is left is the
bot's: reservation, acknowledgement, queue, building the request, reading and parsing the body,
fitting and delivery.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp

from bench.harness import Harness, Sent, Settings, ms, percentile
from bench.result import Result


class UpstreamTimer:
    """Times every request to the Images API made by an ``aiohttp.ClientSession`` of this process."""

    def __init__(self, path_part: str = "/images/") -> None:
        self.path_part = path_part
        self.calls: list[tuple[float, float]] = []  # (sent, headers arrived), perf_counter seconds

    @contextlib.contextmanager
    def installed(self) -> Iterator[UpstreamTimer]:
        original = aiohttp.ClientSession.__init__
        timer = self

        def init(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
            kwargs["trace_configs"] = [*(kwargs.get("trace_configs") or []), timer._trace_config()]
            original(session, *args, **kwargs)

        setattr(aiohttp.ClientSession, "__init__", init)  # noqa: B010 (mypy: a method can't be assigned)
        try:
            yield self
        finally:
            aiohttp.ClientSession.__init__ = original  # type: ignore[method-assign]

    def _trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()

        async def start(_: Any, context: SimpleNamespace, params: aiohttp.TraceRequestStartParams) -> None:
            context.sent = time.perf_counter()

        async def end(_: Any, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams) -> None:
            if self.path_part in params.url.path:
                self.calls.append((context.sent, time.perf_counter()))

        trace.on_request_start.append(start)
        trace.on_request_end.append(end)
        return trace

    def within(self, sent: Sent) -> list[tuple[float, float]]:
        """The upstream calls made between the interaction's dispatch and its result."""
        end = sent.result if sent.result is not None else float("inf")
        return [(a, b) for a, b in self.calls if sent.dispatched <= a and b <= end]


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
    timer = UpstreamTimer()
    with timer.installed():
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
            _report(result, timer, sent, latency, fake_own)
            h.note_problems(result, sent[1:])
    return result


def _report(result: Result, timer: UpstreamTimer, sent: list[Sent], latency: float, fake_own: float) -> None:
    warmup, measured = sent[0], sent[1:]
    own, before, after, upstream, traced = [], [], [], [], 0
    for s in measured:
        calls = timer.within(s)
        if s.end_to_end is None or not calls:
            continue
        traced += 1
        spent = sum(b - a for a, b in calls)
        own.append(s.end_to_end - spent)
        upstream.append(spent)
        before.append(calls[0][0] - s.dispatched)
        after.append(s.result - calls[-1][1])  # type: ignore[operator]
    median, p99 = percentile(own, 50), percentile(own, 99)
    result.add("overhead per job: median", ms(median), "< 50 ms", median < 0.05 if own else None)
    result.add("overhead per job: p99", ms(p99), "< 50 ms", p99 < 0.05 if own else None)
    result.add("  of which before the upstream call: median", ms(percentile(before, 50)))
    result.add("  of which after the upstream response: median", ms(percentile(after, 50)))
    result.add("  the upstream call (not counted): median", ms(percentile(upstream, 50)))
    result.add("  the fake's own answer time, called directly (not counted): median", ms(fake_own))
    old = [s.end_to_end - latency for s in measured if s.end_to_end is not None]
    result.add("  dispatch → result minus the configured latency only: median", ms(percentile(old, 50)))
    acks = [s.ack_latency for s in measured if s.ack_latency is not None]
    result.add("acknowledgement: median", ms(percentile(acks, 50)))
    result.note(
        f"fake latency {latency:g} s; photo-like results (1024x1024 PNG, 2-3 MB); overhead = dispatch → "
        "result posted, minus the bot's upstream request from sending it to its response's headers "
        "(aiohttp request tracing in the bot's process): that takes out the fake's latency and its own "
        "answer time, so what is left is the bot's; reading and parsing the body stays counted. "
        f"{traced} of {len(measured)} jobs traced; first job (warm-up, not counted): "
        f"{ms((warmup.end_to_end or float('nan')) - latency)} over the latency."
    )
