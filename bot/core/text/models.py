"""The models in words: ``/admin models`` and the operator's log lines after a lifecycle refresh."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

from bot.core.text.writing import plural, shorten
from bot.images import (
    ModelRegistry,
    ModelSpec,
    ModelState,
)

_STATE_WORDS = {
    "active": "active",
    "retiring": "retiring",
    "retired": "retired",
    "gone": "unavailable (the image service answered that it no longer has it)",
}


def model_line(state: ModelState, spec: ModelSpec, *, default: str, today: date) -> str:
    """One line of ``/admin models``: name, state, dates, replacement."""
    parts = [f"**{state.model}**" + (" (default)" if state.model == default else "")]
    if spec.upstream_id != state.model:
        parts.append(f"sent as `{spec.upstream_id}`")
    words = _STATE_WORDS[state.state]
    if state.shutdown is not None:
        days = (state.shutdown - today).days
        words += (
            f", shuts down {state.shutdown.isoformat()}" if days > 0 else f" on {state.shutdown.isoformat()}"
        )
        words += f" (in {plural(days, 'day')})" if days > 0 else ""
    elif spec.retirement is not None and state.state == "active":
        words += f" here (OpenAI's own API shut it down on {spec.retirement.shutdown.isoformat()})"
    parts.append(words)
    if state.replacement and state.state != "active":
        parts.append(f"use `{state.replacement}` instead")
    return "- " + " · ".join(parts)


def models_report(models: ModelRegistry, *, today: date) -> str:
    """The body of ``/admin models``: every model the bot offers, retiring and retired ones first."""
    order = {"retired": 0, "gone": 1, "retiring": 2, "active": 3}
    states = sorted(models.states(today=today), key=lambda state: order[state.state])
    lines = [
        model_line(state, models.get(state.model), default=models.default_model, today=today)
        for state in states
    ]
    head = f"**Models** ({len(states)}; default `{models.default_model}`)"
    return shorten("\n".join([head, *lines]), 4000)


def lifecycle_log_lines(
    models: ModelRegistry, listed: Mapping[str, date | None] | None, *, today: date
) -> list[tuple[int, str]]:
    """(log level, line) for the operator after a lifecycle refresh: one per model that is retired,
    gone or retiring, the default's state, and configured models the backend doesn't list."""
    out: list[tuple[int, str]] = []
    for state in models.states(today=today):
        if state.state == "active":
            continue
        instead = f"; use {state.replacement}" if state.replacement else ""
        when = f" (shutdown {state.shutdown.isoformat()})" if state.shutdown else ""
        out.append((logging.WARNING, f"model {state.model} is {state.state}{when}{instead}"))
    default = models.state(models.default_model, today=today)
    if not default.usable:
        out.append(
            (
                logging.ERROR,
                f"IMAGE_MODEL={default.model} can't be used any more: members who don't pick a model "
                f"are refused. Set IMAGE_MODEL={default.replacement or 'another model'}; "
                "the other models still work.",
            )
        )
    upstream = models.get(models.default_model).upstream_id
    if listed is not None and upstream not in listed:
        out.append((logging.WARNING, f"the backend's model list doesn't name {upstream} (IMAGE_MODEL)"))
    return out


def server_rules_report(denied: frozenset[str], max_quality: str | None, max_pixels: int | None) -> str:
    """This server's rules, as ``/admin models show`` and ``limit`` say them."""
    lines = ["**This server's rules:**"]
    lines.append(
        "- Denied models: " + ", ".join(f"`{name}`" for name in sorted(denied))
        if denied
        else "- Every model allowed"
    )
    lines.append(f"- Highest quality: {max_quality}" if max_quality else "- Any quality")
    lines.append(f"- Largest size: {max_pixels / 1_000_000:.1f} megapixels" if max_pixels else "- Any size")
    if max_quality or max_pixels:
        lines.append("`auto` is sent as the most the ceilings allow.")
    return "\n".join(lines)


def model_rule_report(model: str, *, denied: bool) -> str:
    if denied:
        return (
            f"`{model}` is denied here now: members can't pick it, and jobs that name it (Redo too) "
            "are refused."
        )
    return f"`{model}` is allowed here again."
