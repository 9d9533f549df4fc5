"""What a benchmark reports: figures (with their target, when the issue sets one) and notes."""

from __future__ import annotations

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
