"""What a benchmark reports: figures (with their target, when the issue sets one) and notes."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: str
    target: str = ""
    ok: bool | None = None  # against the target; None when there is none (or no measurement)


@dataclass
class Result:
    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.figures.append(Figure(name, value, target, ok))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        figures = [Figure(**figure) for figure in data.pop("figures", [])]
        return cls(figures=figures, **data)


def run_standalone(run: Callable[[bool, float], Coroutine[Any, Any, Result]], doc: str | None) -> None:
    """``python -m bench.NAME [--quick]``: run one pure-CPU benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.quick, 0.0))
    for figure in result.figures:
        verdict = {True: "ok", False: "MISSED", None: ""}[figure.ok]
        target = f"(target {figure.target})" if figure.target else ""
        print(f"{figure.name:<26} {figure.value:<48} {target:<18} {verdict}".rstrip())
    for note in result.notes:
        print(f"  - {note}")
