"""Scripted failures: the error bodies, statuses and broken transports ``FakeImagesAPI.fail`` queues.

Kept apart from the server so each failure's exact wire shape (OpenAI's, or Azure's for
``content_filter``) can be read in one place.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .server import FakeImagesAPI

__all__ = ["FAILURE_KINDS", "Failure", "scripted"]

FAILURE_KINDS = frozenset(
    {
        "rate_limit",
        "insufficient_quota",
        "billing_hard_limit",
        "content_policy",
        "moderation_blocked",
        "content_filter",
        "invalid_request",
        "auth",
        "forbidden",
        "model_not_found",
        "server_error",
        "malformed_json",
        "truncated",
        "drop",
        "slow",
        "html_error",
    }
)
_HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)

#: kind -> (status, default message, type, code, param)
_ERRORS: dict[str, tuple[int, str, str, str | None, str | None]] = {
    "insufficient_quota": (
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        "insufficient_quota",
        None,
    ),
    "billing_hard_limit": (
        429,
        "Billing hard limit has been reached",
        "invalid_request_error",
        "billing_hard_limit_reached",
        None,
    ),
    "content_policy": (
        400,
        "Your request was rejected as a result of our safety system. Your prompt may contain text "
        "that is not allowed by our safety system.",
        "invalid_request_error",
        "content_policy_violation",
        None,
    ),
    "moderation_blocked": (
        400,
        "Your request was rejected by the safety system. If you believe this is an error, contact "
        "us at help.openai.com and include the request ID.",
        "image_generation_user_error",
        "moderation_blocked",
        None,
    ),
    "invalid_request": (
        400,
        "Invalid 'prompt': the request was refused.",
        "invalid_request_error",
        "invalid_value",
        "prompt",
    ),
    "server_error": (
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
        None,
    ),
}


@dataclass
class Failure:
    kind: str
    remaining: int
    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    should_retry: bool | None = None
    delay: float | None = None
    message: str | None = None
    endpoint: str | None = None


async def scripted(
    fake: FakeImagesAPI, request: web.Request, failure: Failure, model: str
) -> web.StreamResponse:
    """The response for one scripted failure of ``model`` (``failure.status``/``message`` override)."""
    extra: dict[str, str] = {}
    if failure.retry_after is not None:
        value = failure.retry_after
        extra["retry-after"] = str(int(value)) if float(value).is_integer() else str(value)
    if failure.retry_after_ms is not None:
        extra["retry-after-ms"] = str(failure.retry_after_ms)
    if failure.should_retry is not None:
        extra["x-should-retry"] = "true" if failure.should_retry else "false"
    kind, message = failure.kind, failure.message

    def error(
        status: int, default: str, type_: str, code: str | None, param: str | None = None
    ) -> web.Response:
        return fake._error(
            failure.status or status, message or default, type_=type_, param=param, code=code, headers=extra
        )

    if kind in _ERRORS:
        return error(*_ERRORS[kind])
    if kind == "rate_limit":
        return error(
            429,
            f"Rate limit reached for {model} in organization org-fake on images per minute (ipm): "
            "Limit 5, Used 5, Requested 1. Please try again in 12s.",
            "requests",
            "rate_limit_exceeded",
        )
    if kind == "content_filter":  # Azure OpenAI's safety rejection [MS-howto]; type is null there
        body = {
            "error": {
                "code": "contentFilter",
                "message": message or "Your task failed as a result of our safety system.",
                "type": None,
                "param": "prompt",
            }
        }
        return web.json_response(body, status=failure.status or 400, headers={**fake._headers(), **extra})
    if kind == "auth":
        return error(
            401,
            f"Incorrect API key provided: sk-test-****{fake.api_key[-4:]}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        )
    if kind == "forbidden":
        return error(
            403,
            f"Your organization must be verified to use the model `{model}`.",
            "invalid_request_error",
            None,
        )
    if kind == "model_not_found":
        return error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )
    if kind == "html_error":
        return web.Response(
            status=failure.status or 502,
            text=message or _HTML_502,
            content_type="text/html",
            headers={**fake._headers(), **extra},
        )
    if kind == "malformed_json":
        return web.Response(
            status=failure.status or 200,
            body=b'{"created": 1712345678, "data": [{"b64_json": iVBORw0KGgo=}]',
            content_type="application/json",
            headers={**fake._headers(), **extra},
        )
    if kind in ("truncated", "drop"):
        transport = request.transport
        if transport is not None:
            if kind == "truncated":
                full = json.dumps({"created": int(time.time()), "data": [{"b64_json": "A" * 4096}]}).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(full)}\r\nx-request-id: req_truncated\r\n\r\n"
                ).encode()
                transport.write(head + full[: len(full) // 2])
            transport.close()
        return web.Response(status=200)  # never reaches the client: the connection is gone
    raise AssertionError(f"unhandled failure kind {kind}")
