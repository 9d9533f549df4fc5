"""``/history`` in words: a member's recent jobs, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.text.writing import echo, plural, timestamp
from bot.store import PastJob

HISTORY_PROMPT_PREVIEW = 80
_STATES = {"committed": "", "refunded": " · failed, not charged"}


def history_report(jobs: Sequence[PastJob], guild_id: int) -> str:
    """The body of ``/history``: one line per job, with a link to its result when there is one."""
    if not jobs:
        return "You haven't made anything here yet. Try /imagine."
    lines = ["**Your recent jobs** (newest first; /show job:<number> posts one again):"]
    for job in jobs:
        state = _STATES.get(job.state, " · in progress")
        what = plural(job.images, "image") if job.state == "committed" else job.kind
        link = ""
        if job.result_channel_id and job.result_message_id:
            url = f"https://discord.com/channels/{guild_id}/{job.result_channel_id}/{job.result_message_id}"
            link = f" · [result]({url})"
        prompt = f"\n  {echo(job.prompt, HISTORY_PROMPT_PREVIEW)}" if job.prompt else ""
        model = f" · {job.model}" if job.model else ""
        lines.append(f"**#{job.job_id}** {timestamp(job.created_at)}{model} · {what}{state}{link}{prompt}")
    return "\n".join(lines)


def shown_again(job_id: int) -> str:
    return f"Job #{job_id}, shown again (nothing new was made or charged):"
