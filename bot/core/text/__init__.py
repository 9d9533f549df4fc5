"""Every word a member reads, in one place (ready for the localisation that comes later).

Cogs, buttons and the error handler raise or pass facts; the sentences live here, by subject:
``writing`` (escaping what members typed, plurals, times), ``quotas``, ``refusals`` (every
domain error, Discord's own refusals, bugs), ``results`` (controls, queue, result embed, help),
``spending`` (budgets), ``audit`` (the log channel), ``usage`` (reports) and ``models``.
Nothing here imports discord (timestamps use Discord's ``<t:…>`` markup, which is just text).
Import the package: ``from bot.core import text``; ``text.describe_error(error)``.
"""

from __future__ import annotations

from bot.core.text.audit import (
    budget_set_change,
    by,
    default_change,
    grant_change,
    log_channel_change,
    log_channel_report,
    own_limit_change,
    role_limit_change,
    usage_reset_change,
)
from bot.core.text.history import HISTORY_PROMPT_PREVIEW, history_report, shown_again
from bot.core.text.models import lifecycle_log_lines, model_line, models_report
from bot.core.text.quotas import (
    extra_granted,
    member_quota,
    own_limit_set,
    period_adjective,
    period_word,
    quota_line,
    quota_report,
    role_limits_report,
    server_default_set,
    server_overview,
    usage_cleared,
)
from bot.core.text.refusals import SERVER_ONLY, bug, describe_error, missing_permissions, slow_down
from bot.core.text.results import (
    CANCEL_LABEL,
    OPTION_LABELS,
    QUOTA,
    REDO_LABEL,
    REVISED_PROMPT,
    VARY_PLACEHOLDER,
    YOUR_TURN,
    gif_format,
    images_range,
    partly_made,
    prompt_line,
    queue_position,
    reply_help,
    restart_notice,
    result_author,
    result_ready,
    vary_label,
    vary_option,
)
from bot.core.text.spending import budget_alert, budget_exhausted, budget_report, unpriced_under_budget, usd
from bot.core.text.usage import CHART_IMAGES, CHART_SPEND, EXPORT_NOTE, UsageReport, usage_report
from bot.core.text.writing import ACCEPTED, NOTHING_CHARGED, code, echo, megabytes, plural, shorten, timestamp

__all__ = [
    "ACCEPTED",
    "CANCEL_LABEL",
    "CHART_IMAGES",
    "CHART_SPEND",
    "EXPORT_NOTE",
    "HISTORY_PROMPT_PREVIEW",
    "NOTHING_CHARGED",
    "OPTION_LABELS",
    "QUOTA",
    "REDO_LABEL",
    "REVISED_PROMPT",
    "SERVER_ONLY",
    "VARY_PLACEHOLDER",
    "YOUR_TURN",
    "UsageReport",
    "budget_alert",
    "budget_exhausted",
    "budget_report",
    "budget_set_change",
    "bug",
    "by",
    "code",
    "default_change",
    "describe_error",
    "echo",
    "extra_granted",
    "gif_format",
    "grant_change",
    "history_report",
    "images_range",
    "lifecycle_log_lines",
    "log_channel_change",
    "log_channel_report",
    "megabytes",
    "member_quota",
    "missing_permissions",
    "model_line",
    "models_report",
    "own_limit_change",
    "own_limit_set",
    "partly_made",
    "period_adjective",
    "period_word",
    "plural",
    "prompt_line",
    "queue_position",
    "quota_line",
    "quota_report",
    "reply_help",
    "restart_notice",
    "result_author",
    "result_ready",
    "role_limit_change",
    "role_limits_report",
    "server_default_set",
    "server_overview",
    "shorten",
    "shown_again",
    "slow_down",
    "timestamp",
    "unpriced_under_budget",
    "usage_cleared",
    "usage_report",
    "usage_reset_change",
    "usd",
    "vary_label",
    "vary_option",
]
