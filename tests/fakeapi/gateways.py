"""The routes that are not image endpoints on OpenAI's ``/v1``: the model list, and Azure OpenAI.

``GET /v1/models`` and ``GET /v1/models/{id}`` answer in OpenAI's list-models shape with each model's
``shutdown_date`` [O-models] — or not at all (``models_endpoint = "missing"``), as many gateways do.
Azure OpenAI [MS-howto] serves the same image endpoints under another URL with another auth header:
``POST /openai/deployments/{deployment}/images/{generations|edits}?api-version=...`` with
``api-key: <key>``; the deployment selects the model. Both live here so the server module stays
about the OpenAI routes and the shared request pipeline.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .catalog import CATALOG, resolve
from .failures import scripted
from .parsing import parse

if TYPE_CHECKING:
    from .server import FakeImagesAPI

__all__ = ["MODELS_ENDPOINT_MODES", "azure", "models"]

MODELS_ENDPOINT_MODES = ("list", "missing", "error")
_AZURE_PATH = re.compile(r"deployments/([^/]+)/images/(generations|edits)")
_AZURE_401 = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
    "key for an active subscription and use a correct regional API endpoint for your resource."
)


# -- GET /v1/models ---------------------------------------------------------------------------------


def model_objects(fake: FakeImagesAPI) -> list[dict[str, Any]]:
    """Every catalog id, then every alias not named like one, filtered by ``served_models``."""
    served, aliases, dates = fake.served_models, dict(fake.aliases), dict(fake.shutdown_dates)
    out: list[dict[str, Any]] = []
    for name in [*CATALOG, *(alias for alias in aliases if alias not in CATALOG)]:
        if served is not None and name not in served:
            continue
        caps = resolve(name, aliases)
        out.append(
            {
                "id": name,
                "object": "model",
                "created": caps.created if caps is not None else 0,
                "owned_by": "gateway" if name in aliases else (caps.owned_by if caps else "system"),
                "shutdown_date": dates.get(name),
            }
        )
    return out


async def models(fake: FakeImagesAPI, request: web.Request, tail: str) -> web.StreamResponse:
    wanted = urllib.parse.unquote(tail.removeprefix("models").removeprefix("/")) or None
    fake._record(request, None, wanted)
    mode = fake.models_endpoint
    if mode == "missing":  # a gateway without the endpoint: its router's 404
        return fake._error(404, f"Invalid URL (GET {request.path})")
    if request.headers.get("Authorization") != f"Bearer {fake.api_key}":
        return fake._openai_401()
    failure = fake._take_failure("models")
    if failure is not None:
        if failure.delay:
            await asyncio.sleep(failure.delay)
        if failure.kind != "slow":
            return await scripted(fake, request, failure, wanted or "unknown")
    if mode == "error":
        return fake._error(
            500,
            "The server had an error while processing your request. Sorry about that!",
            type_="server_error",
        )
    listing = model_objects(fake)
    if wanted is None:
        return web.json_response({"object": "list", "data": listing}, headers=fake._headers())
    for item in listing:
        if item["id"] == wanted:
            return web.json_response(item, headers=fake._headers())
    return fake._error(404, f"The model '{wanted}' does not exist", param="model", code="model_not_found")


# -- Azure OpenAI -----------------------------------------------------------------------------------


def _azure_error(fake: FakeImagesAPI, status: int, code: str, message: str) -> web.Response:
    """Azure's own errors (routing, auth, deployments) carry only ``code`` and ``message``."""
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=fake._headers()
    )


async def azure(fake: FakeImagesAPI, request: web.Request) -> web.StreamResponse:
    arrived = time.monotonic()
    match = _AZURE_PATH.fullmatch(request.match_info["tail"])
    if request.method != "POST" or match is None:
        fake._record_violation(f"{request.method} {request.path}: no such Azure OpenAI route")
        return _azure_error(fake, 404, "404", "Resource not found")
    deployment, endpoint = match.groups()
    parsed = await parse(request, endpoint)
    target = fake.azure_deployments.get(deployment)
    caps = resolve(target, fake.aliases) if target is not None else None
    named = parsed.body.get("model")
    model = named if isinstance(named, str) and named else (caps.id if caps is not None else target)
    fake._record(request, parsed, model)
    where = f"POST {request.path}"
    if "api-version" not in request.query:
        fake._record_violation(f"{where}: Azure OpenAI needs the api-version query parameter")
        return _azure_error(fake, 404, "404", "Resource not found")
    if request.headers.get("api-key") != fake.api_key:
        if request.headers.get("Authorization", "").startswith("Bearer "):
            fake._record_violation(
                f"{where}: Azure OpenAI takes the key in 'api-key', not Authorization: Bearer"
            )
        return _azure_error(fake, 401, "401", _AZURE_401)
    if caps is None:
        if target is not None:
            fake._record_violation(
                f"{where}: azure_deployments maps {deployment!r} to unknown model {target!r}"
            )
        return _azure_error(
            fake,
            404,
            "DeploymentNotFound",
            "The API deployment for this resource does not exist. If you created the deployment within "
            "the last 5 minutes, please wait a moment and try again.",
        )
    return await fake._serve(request, endpoint, parsed, arrived, model, deployment=caps)
