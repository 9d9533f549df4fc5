"""BASELINE: a peer-shaped image bot, the yardstick bench/compare.py measures the real bot against.

Written from scratch for the benchmarks (not shipped, not imported by the bot) after what the
alternative Discord image bots typically do (shared/reference/peers.md): one ``/imagine prompt [n]
[size]`` slash command that defers the interaction, makes ONE HTTP request per job straight to
``{OPENAI_BASE_URL}/images/generations`` with the body the real API takes (model, prompt, n,
size), retries the way the official OpenAI SDK does, decodes the ``b64_json`` images on the event
loop and posts them with one follow-up message; a failure becomes a follow-up message saying so.

What it deliberately does NOT have, because its peers don't: no queue, no shared rate limiter,
no concurrency cap (its connection pool is the SDK's, 1000), no quotas, no database, and
parsing and decoding on the event loop.

Retries (the SDK's policy): at most ``OPENAI_MAX_RETRIES`` (default 2) retries on a connection
error or timeout and on HTTP 408, 409, 429 and >= 500; the delay is the server's ``retry-after-ms``
or ``retry-after`` when that is over 0 and at most 120 s, else ``min(0.5 * 2**attempt, 8) * (1 -
0.25 * random())``.

Built from the environment like the real bot (``create_peer_bot()``): ``OPENAI_API_KEY``
(required), ``OPENAI_BASE_URL`` (default https://api.openai.com/v1), ``IMAGE_MODEL`` (default
gpt-image-2), ``OPENAI_MAX_RETRIES``. It runs under SimCord exactly as the real bot does; SimCord's
shutdown doesn't close a bot, so the harness calls ``release()``.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import io
import logging
import os
import random
import time
from collections.abc import Mapping

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

__all__ = ["LABEL", "PeerBot", "create_peer_bot", "retry_delay"]

LABEL = "BASELINE peer-shaped bot (bench/peer_bot.py)"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-image-2"
RETRYABLE = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 120.0
TIMEOUT = 600.0  # the SDK's default request timeout
POOL = 1000  # the SDK's connection pool (httpx's max_connections)
SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")

log = logging.getLogger(__name__)


class UpstreamError(Exception):
    """The Images API refused or failed, after the retries."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status


def _server_delay(headers: Mapping[str, str]) -> float | None:
    """The wait the server asked for, in seconds: ``retry-after-ms``, else ``retry-after`` (seconds or
    an HTTP date); None when neither is there or readable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    after = headers.get("retry-after")
    if after is None:
        return None
    try:
        return float(after)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(after)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def retry_delay(headers: Mapping[str, str] | None, attempt: int) -> float:
    """Seconds to wait before retry number ``attempt + 1`` (``attempt`` retries already made)."""
    asked = _server_delay(headers or {})
    if asked is not None and 0 < asked <= MAX_RETRY_AFTER:
        return asked
    return min(0.5 * 2**attempt, 8.0) * (1 - 0.25 * random.random())


class PeerBot(commands.Bot):
    """BASELINE: defer, one POST per job (SDK-style retries), decode, post. Nothing else."""

    def __init__(self, *, api_key: str, base_url: str, model: str, max_retries: int = 2) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned, intents=discord.Intents.default(), help_command=None
        )
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.session: aiohttp.ClientSession | None = None

    async def setup_hook(self) -> None:
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=TIMEOUT), connector=aiohttp.TCPConnector(limit=POOL)
        )
        self.tree.add_command(self._imagine_command())
        await self.tree.sync()

    def _imagine_command(self) -> app_commands.Command:
        @app_commands.command(name="imagine", description="Make images from a text description")
        @app_commands.describe(prompt="What the image should show", n="How many images", size="Size")
        @app_commands.choices(size=[app_commands.Choice(name=size, value=size) for size in SIZES])
        async def imagine(
            interaction: discord.Interaction,
            prompt: str,
            n: app_commands.Range[int, 1, 10] = 1,
            size: str = "1024x1024",
        ) -> None:
            await self.imagine(interaction, prompt, n, size)

        return imagine

    async def imagine(self, interaction: discord.Interaction, prompt: str, n: int, size: str) -> None:
        await interaction.response.defer()
        try:
            images = await self.generate(prompt, n, size)
        except Exception as error:
            await interaction.followup.send(f"Sorry, the image could not be made: {error}")
            return
        files = [
            discord.File(io.BytesIO(data), filename=f"image_{i + 1}.png") for i, data in enumerate(images)
        ]
        await interaction.followup.send(content=f"**{prompt[:1800]}**", files=files)

    async def generate(self, prompt: str, n: int, size: str) -> list[bytes]:
        """One POST to the generations endpoint, retried as the SDK retries; the decoded images."""
        assert self.session is not None
        body = {"model": self.model, "prompt": prompt, "n": n, "size": size}
        headers = {"Authorization": f"Bearer {self.api_key}"}
        url = f"{self.base_url}/images/generations"
        attempt = 0
        while True:
            answer_headers: Mapping[str, str] | None = None
            try:
                async with self.session.post(url, json=body, headers=headers) as response:
                    if response.status == 200:
                        payload = await response.json()
                        return [base64.b64decode(item["b64_json"]) for item in payload["data"]]
                    text = await response.text()
                    retryable = response.status in RETRYABLE or response.status >= 500
                    if not retryable or attempt >= self.max_retries:
                        raise UpstreamError(response.status, text[:300])
                    answer_headers = response.headers
            except (TimeoutError, aiohttp.ClientConnectionError) as error:
                if attempt >= self.max_retries:
                    raise UpstreamError(None, f"could not reach the Images API: {error!r}") from error
            delay = retry_delay(answer_headers, attempt)
            log.info("retrying the Images API in %.1fs (retry %d)", delay, attempt + 1)
            await asyncio.sleep(delay)
            attempt += 1

    async def release(self) -> None:
        """Close what SimCord's shutdown leaves open: the HTTP session."""
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self.release()


def create_peer_bot(environ: Mapping[str, str] | None = None) -> PeerBot:
    """The BASELINE bot from the environment, as ``create_bot()`` builds the real one."""
    env = os.environ if environ is None else environ
    api_key = env.get("OPENAI_API_KEY")
    if not api_key:
        raise RuntimeError("OPENAI_API_KEY is not set")
    return PeerBot(
        api_key=api_key,
        base_url=env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL,
        model=env.get("IMAGE_MODEL") or DEFAULT_MODEL,
        max_retries=int(env.get("OPENAI_MAX_RETRIES") or 2),
    )
