"""9. ``/admin usage`` over 100,000 stored jobs: the store's report query, the chart and the CSV
export, on a real SQLite file, timed separately and together (what the command does before it
answers). Target: the report (query + chart) in under 1 s. Pure database and CPU work, no Discord."""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.result import Result

GUILD = 1111
MODELS = ("gpt-image-2", "gpt-image-2.6-flare", "gpt-image-2.5-sunburst", "dall-e-3")


def _fill(path: Path, jobs: int, start: datetime, days: int) -> None:
    """``jobs`` jobs of 500 members over ``days`` days, as the bot writes them (and a second server)."""
    rng = random.Random(7)
    span = days * 86_400 * 1_000_000
    first = int(start.timestamp() * 1_000_000)
    rows = []
    for job in range(jobs):
        at = first + rng.randrange(span)
        guild = GUILD if job % 10 else 2222
        model = rng.choice(MODELS)
        state = "refunded" if rng.random() < 0.05 else "committed"
        n = rng.choice((1, 1, 1, 2, 4))
        details = json.dumps(
            {"kind": "imagine", "model": model, "n": n, "prompt": "x" * 60, "size": "1024x1024"}
        )
        cost = None if state == "refunded" else round(rng.uniform(0.01, 0.2) * n, 6)
        rows.append(
            (
                guild,
                rng.randrange(500),
                "imagine",
                details,
                state,
                n,
                n if state == "committed" else 0,
                at,
                at,
                at,
                cost,
                None if cost is None else 1,
                model,
            )
        )
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO jobs (guild_id, user_id, kind, details, state, amount, charged, created_at, "
            "updated_at, settled_at, cost_usd, cost_exact, model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )


async def run(quick: bool, latency: float) -> Result:
    from bot.core import text
    from bot.core.reports import usage_csv
    from bot.imaging.chart import ChartDay, usage_chart
    from bot.store import QuotaPolicy, Store

    jobs = 20_000 if quick else 100_000
    runs = 3 if quick else 7
    month = datetime(2026, 12, 1, tzinfo=UTC)
    result = Result("usage_report", f"/admin usage over {jobs:,} stored jobs")
    with tempfile.TemporaryDirectory(prefix="imagebot-usage-") as folder:
        path = Path(folder) / "bot.db"
        store = await Store.open(path, default_policy=QuotaPolicy(25, "day"))
        await store.close()
        _fill(path, jobs, month - timedelta(days=62), 90)  # this month and the two before
        store = await Store.open(path, default_policy=QuotaPolicy(25, "day"))
        try:
            queries, charts, exports, in_month = [], [], [], 0
            for _ in range(runs + 1):  # the first is a warm-up (page cache, statement cache)
                start = time.perf_counter()
                found = await store.usage(GUILD, start=month, end=datetime(2027, 1, 1, tzinfo=UTC))
                queried = time.perf_counter()
                report = text.usage_report(found, "month", None)
                days = [ChartDay(day.strftime("%m-%d"), t.images, t.spend_usd) for day, t in found.daily]
                usage_chart(days, title=report.chart_title, images_label="images", spend_label="spend")
                charted = time.perf_counter()
                rows = await store.usage_rows(GUILD, start=month, end=datetime(2027, 1, 1, tzinfo=UTC))
                usage_csv(rows)
                exported = time.perf_counter()
                queries.append(queried - start)
                charts.append(charted - queried)
                exports.append(exported - charted)
                in_month = found.total.jobs
        finally:
            await store.close()
    query, chart, export = (statistics.median(series[1:]) for series in (queries, charts, exports))
    report_seconds = query + chart
    result.add(
        "report (query + words + chart): median",
        f"{report_seconds * 1000:.0f} ms",
        "< 1 s",
        report_seconds < 1,
    )
    result.add("  of which the store's query", f"{query * 1000:.0f} ms")
    result.add("  of which the chart (Pillow)", f"{chart * 1000:.0f} ms")
    result.add(f"CSV export of the month's {in_month:,} jobs: median", f"{export * 1000:.0f} ms")
    result.note(
        f"{jobs:,} jobs in the database (90 days, 500 members, 4 models, one in ten for another server); "
        f"the report reads this server's month ({in_month:,} jobs); median of {runs} runs after a warm-up."
    )
    return result
