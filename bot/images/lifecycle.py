"""Which of the catalogue's models can be used today, and what replaces the ones that can't.

Three sources, in this order of authority:
- the backend's own ``GET /models`` (``shutdown_date`` per model id), read at start-up and once a
  day — a backend without that endpoint changes nothing;
- what the bot knows: OpenAI's published shutdown dates on the built-in rows (applied on OpenAI's
  own API only, since gateways may still serve those ids) and the operator's dates in MODELS_FILE;
- an upstream ``404 model_not_found`` during a job: the model is treated as gone until the next
  refresh, so no more doomed calls are made.

A model past its date is refused before anything is charged, naming its replacement; one within
``NOTICE_DAYS`` is still served and shown as retiring. Pure: no I/O here (the client fetches).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from .builtin_models import FALLBACK_REPLACEMENT
from .catalogue import ModelCatalogue, ModelSpec
from .errors import ModelRetired

__all__ = ["NOTICE_DAYS", "ModelRegistry", "ModelState"]

NOTICE_DAYS = 30
State = Literal["active", "retiring", "retired", "gone"]


@dataclass(frozen=True)
class ModelState:
    model: str
    state: State
    shutdown: date | None
    replacement: str | None
    #: where the date came from: "backend" (GET /models), "openai" (built-in), "operator", "404", ""
    source: str

    @property
    def usable(self) -> bool:
        return self.state in ("active", "retiring")


class ModelRegistry:
    """The catalogue plus what is known of each model's lifecycle. One per bot; mutable state is
    only the backend's dates (replaced on each refresh) and the models seen gone since."""

    def __init__(self, catalogue: ModelCatalogue, *, official_backend: bool, default_model: str) -> None:
        self.catalogue = catalogue
        self.official_backend = official_backend
        self.default_model = default_model
        self._backend_dates: dict[str, date | None] = {}
        self._gone: set[str] = set()

    # -- updates -----------------------------------------------------------------------------------

    def update_from_backend(self, shutdown_dates: Mapping[str, date | None] | None) -> None:
        """Dates from ``GET /models`` by upstream id (None: the backend has no such endpoint).

        A refresh forgets the models seen gone: the backend's list is the newer word.
        """
        if shutdown_dates is None:
            return
        self._backend_dates = dict(shutdown_dates)
        self._gone.clear()

    def mark_gone(self, name: str) -> None:
        self._gone.add(name)

    # -- queries -----------------------------------------------------------------------------------

    def get(self, name: str) -> ModelSpec:
        """The row for ``name`` whatever its state (``UnknownModel`` when there is none)."""
        return self.catalogue.get_model(name)

    def usable(self, name: str, *, today: date) -> ModelSpec:
        """The row for ``name`` if it can be used today; ``UnknownModel`` or ``ModelRetired`` if not."""
        spec = self.get(name)
        state = self.state(spec.name, today=today)
        if not state.usable:
            raise ModelRetired(spec.name, state.shutdown, state.replacement)
        return spec

    def state(self, name: str, *, today: date) -> ModelState:
        spec = self.get(name)
        shutdown, source = self._shutdown(spec)
        if spec.name in self._gone:
            state: State = "gone"
            source = "404"
        elif shutdown is None:
            return ModelState(spec.name, "active", None, None, source)
        elif shutdown <= today:
            state = "retired"
        elif shutdown - today <= timedelta(days=NOTICE_DAYS):
            state = "retiring"
        else:
            state = "active"
        return ModelState(spec.name, state, shutdown, self.replacement_for(spec.name, today=today), source)

    def states(self, *, today: date) -> list[ModelState]:
        return [self.state(name, today=today) for name in self.catalogue]

    def offered(self, endpoint: str, *, today: date) -> list[ModelState]:
        """The usable models that can do ``endpoint``, in catalogue order."""
        return [
            state
            for name, spec in self.catalogue.items()
            if spec.supports(endpoint) and (state := self.state(name, today=today)).usable
        ]

    def supporting(self, endpoint: str, *, today: date) -> tuple[str, ...]:
        return tuple(state.model for state in self.offered(endpoint, today=today))

    def replacement_for(self, name: str, *, today: date) -> str | None:
        """The model to use instead: the row's named replacement, followed while that one is itself
        retired, else the configured default, else the built-in fallback; None if nothing is usable."""
        seen = {name}
        candidate = self._named_replacement(name)
        while candidate is not None and candidate not in seen and candidate in self.catalogue:
            seen.add(candidate)
            if self._usable_now(candidate, today):
                return candidate
            candidate = self._named_replacement(candidate)
        for fallback in (self.default_model, FALLBACK_REPLACEMENT):
            if fallback not in seen and fallback in self.catalogue and self._usable_now(fallback, today):
                return fallback
        return None

    # -- internals ---------------------------------------------------------------------------------

    def _shutdown(self, spec: ModelSpec) -> tuple[date | None, str]:
        if spec.upstream_id in self._backend_dates and self._backend_dates[spec.upstream_id] is not None:
            return self._backend_dates[spec.upstream_id], "backend"
        retirement = spec.retirement
        if retirement is not None and (retirement.scope == "operator" or self.official_backend):
            return retirement.shutdown, retirement.scope
        return None, ""

    def _named_replacement(self, name: str) -> str | None:
        retirement = self.catalogue[name].retirement
        return retirement.replacement if retirement is not None else None

    def _usable_now(self, name: str, today: date) -> bool:
        if name in self._gone:
            return False
        shutdown, _ = self._shutdown(self.catalogue[name])
        return shutdown is None or shutdown > today
