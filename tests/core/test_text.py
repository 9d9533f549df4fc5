"""Every domain error a member can meet has words of its own (no silent generic fallback)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import bot
import cogs
from bot.core.text import refusals
from bot.errors import BotError


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def _matched_in_refusals() -> set[str]:
    tree = ast.parse(inspect.getsource(refusals))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.MatchClass):
            names.add(node.cls.id if isinstance(node.cls, ast.Name) else node.cls.attr)
    return names


def test_every_domain_error_is_described_by_name():
    for package in (bot, cogs):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    errors = {cls for cls in _all_subclasses(BotError) if not cls.__module__.startswith("tests")}
    leaves = {cls for cls in errors if not cls.__subclasses__()}  # the bases are never raised alone
    assert len(leaves) > 20  # the import above found them

    missing = sorted(
        f"{cls.__module__}.{cls.__name__}" for cls in leaves if cls.__name__ not in _matched_in_refusals()
    )

    assert missing == [], f"give these errors a message in bot/core/text/refusals.py: {missing}"
