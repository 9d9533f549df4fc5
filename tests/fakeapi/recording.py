"""What the fake remembers of each request, for tests to assert on (never the API key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordedRequest"]


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as the fake received it: the Authorization header is never kept, and Azure's
    ``api-key`` header is kept with the value ``"<redacted>"``.

    ``model`` is the name as sent (an alias stays an alias; variations without one: dall-e-2; Azure
    without one: the deployment's model; ``GET /v1/models/{id}``: the id). ``query`` is the URL query.
    """

    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None
    form: dict[str, str | list[str]]
    files: dict[str, list[tuple[str, str, bytes]]]
    model: str | None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        """The endpoint: generations, edits, variations (OpenAI or Azure paths) or models."""
        parts = self.path.strip("/").split("/")
        if parts[:2] == ["v1", "models"]:
            return "models"
        return parts[-1]

    @property
    def deployment(self) -> str | None:
        """The Azure deployment named in the path, or None for an OpenAI-style path."""
        parts = self.path.strip("/").split("/")
        return parts[2] if parts[:2] == ["openai", "deployments"] and len(parts) > 2 else None

    def fields(self) -> dict[str, Any]:
        """The request's parameters whatever the encoding (JSON body or multipart text fields)."""
        return dict(self.json) if self.json is not None else dict(self.form)
