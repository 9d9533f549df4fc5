"""Reports as files: the CSV of ``/admin usage export`` (one row per job), from the store's rows."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from bot.store import UsageRow

COLUMNS = (
    "job",
    "created_utc",
    "member_id",
    "kind",
    "model",
    "options",
    "state",
    "images",
    "cost_usd",
    "cost",
)


def usage_csv(rows: Sequence[UsageRow]) -> bytes:
    """UTF-8 CSV with a header; ``options`` is a JSON object; ``cost`` says exact or estimated."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.job_id,
                row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                row.user_id,
                row.kind,
                row.model or "",
                json.dumps(row.options, sort_keys=True, separators=(",", ":")),
                row.state,
                row.images,
                "" if row.cost_usd is None else f"{row.cost_usd:.6f}",
                "" if row.cost_exact is None else ("exact" if row.cost_exact else "estimated"),
            )
        )
    return out.getvalue().encode("utf-8")
