"""What an operator graphs: the bot's counters and histograms, in Prometheus's exposition format.

One ``Metrics`` per bot, each on a registry of its own (never prometheus-client's global one), so
several bots in one process (tests, benchmarks) count apart. The services record into it where things
happen — the job runner (jobs, images, spend, queue wait, 429s), the Images API client (requests and
their latency), delivery (Discord retries) — through the small methods below, which hold the metric
names and labels in one place; ``GET /metrics`` (``bot.monitor``) serves ``exposition()``.
Nothing here imports discord or anything else of the bot.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

__all__ = ["JOB_OUTCOMES", "Metrics"]

#: how a job ended: every image posted, some, refused (quota, budget, cap, input), cancelled
#: (by its owner or a shutdown), failed (upstream or Discord), or error (a bug)
JOB_OUTCOMES = ("delivered", "partial", "refused", "cancelled", "failed", "error")

_UPSTREAM_BUCKETS = (0.5, 1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
_JOB_BUCKETS = (1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900)
_WAIT_BUCKETS = (0.01, 0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Counter(
            "imagebot_jobs", "Jobs by kind and how they ended", ("kind", "outcome"), registry=r
        )
        self.images_charged = Counter("imagebot_images_charged", "Images charged to quotas", registry=r)
        self.images_refunded = Counter(
            "imagebot_images_refunded",
            "Images reserved and given back (failures, partial results)",
            registry=r,
        )
        self.spend = Counter(
            "imagebot_spend_usd", "What the Images API billed, in US dollars", ("model",), registry=r
        )
        self.upstream_requests = Counter(
            "imagebot_upstream_requests",
            "Images API requests by model and HTTP status (or timeout, connection_error, cancelled)",
            ("model", "status"),
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "imagebot_upstream_request_seconds",
            "One Images API request, sent to fully read",
            ("model",),
            buckets=_UPSTREAM_BUCKETS,
            registry=r,
        )
        self.job_seconds = Histogram(
            "imagebot_job_seconds",
            "A job that posted images, from the start of its run to its settle",
            ("kind",),
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter("imagebot_upstream_rate_limited", "429s from the Images API", registry=r)
        self.paused_seconds = Counter(
            "imagebot_upstream_paused_seconds",
            "Seconds the limiter held every request after 429s",
            registry=r,
        )
        self.queue_depth = Gauge(
            "imagebot_queue_depth", "Upstream requests waiting for their turn", registry=r
        )
        self.queue_wait = Histogram(
            "imagebot_queue_wait_seconds",
            "How long an upstream request waited for its turn in the shared limiter",
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self.delivery_retries = Counter(
            "imagebot_delivery_retries",
            "Result messages Discord failed transiently and were sent again",
            registry=r,
        )
        self._held_until = 0.0  # when the last counted hold after a 429 ends (the recorder's clock)

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """Every metric, and its content type, in the format a scraper's Accept header asks for (the
        Prometheus text format unless it asks for OpenMetrics), as prometheus-client serves its own."""
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type

    # --- recorded by the services ---

    def job_ended(self, kind: str, outcome: str, *, seconds: float | None = None) -> None:
        self.jobs.labels(kind, outcome).inc()
        if seconds is not None:
            self.job_seconds.labels(kind).observe(seconds)

    def images(self, *, charged: int = 0, refunded: int = 0) -> None:
        if charged:
            self.images_charged.inc(charged)
        if refunded:
            self.images_refunded.inc(refunded)

    def spent(self, model: str, usd: float) -> None:
        self.spend.labels(model).inc(max(usd, 0.0))

    def upstream_request(self, model: str, status: str, seconds: float) -> None:
        self.upstream_requests.labels(model, status).inc()
        self.upstream_seconds.labels(model).observe(seconds)

    def waited(self, seconds: float) -> None:
        self.queue_wait.observe(max(seconds, 0.0))

    def rate_limit(self, *, now: float, held_for: float) -> None:
        """A 429, after which the limiter holds every request ``held_for`` more seconds: pauses that
        overlap (several requests refused at once) are counted once."""
        self.rate_limited.inc()
        until = now + max(held_for, 0.0)
        added = until - max(self._held_until, now)
        if added > 0:
            self.paused_seconds.inc(added)
        self._held_until = max(self._held_until, until)

    def delivery_retried(self) -> None:
        self.delivery_retries.inc()

    def watch_queue(self, depth: Callable[[], float]) -> None:
        """The queue depth is read from ``depth`` at each scrape."""
        self.queue_depth.set_function(depth)
