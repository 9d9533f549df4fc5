"""The one pipeline every entry point goes through.

reserve quota -> call the Images API (fanning out where a model makes one image per request)
-> deliver (a callback owned by the Discord side) -> charge what was delivered, refund the rest.

Any failure on the way (upstream error, safety rejection, delivery failure, cancellation) refunds
the whole reservation before the exception continues to the error handler. Nothing here imports
discord.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from bot.errors import BotError
from bot.images import (
    BadResponse,
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    ImageResult,
    ImagesClient,
    VariationRequest,
    get_model,
)
from bot.store import QuotaStatus, Reservation, Store

log = logging.getLogger(__name__)

JobKind = Literal["imagine", "edit", "vary"]
UpstreamRequest = GenerateRequest | EditRequest | VariationRequest


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Job:
    """One user's request for images, as every entry point describes it."""

    guild_id: int
    channel_id: int
    user_id: int
    kind: JobKind
    request: UpstreamRequest

    @property
    def n(self) -> int:
        return self.request.n


@dataclass(frozen=True)
class Delivery:
    """What the Discord side posts: the images, what failed, and the quota once this job is charged."""

    job: Job
    images: tuple[GeneratedImage, ...]
    failures: tuple[BotError, ...]
    revised_prompt: str | None
    quota: QuotaStatus
    remaining_after: int


Deliver = Callable[[Delivery], Awaitable[int]]
"""Posts a delivery and returns how many of its images reached the channel (those are charged)."""


@dataclass(frozen=True)
class Outcome:
    charged: int
    refunded: int


class JobRunner:
    """Reserve, call upstream, deliver, settle. Built once; shared by every cog."""

    def __init__(
        self,
        store: Store,
        images: ImagesClient,
        *,
        user_key: bytes,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._images = images
        self._user_key = user_key
        self._clock = clock

    def user_tag(self, user_id: int) -> str:
        """A stable, non-reversible stand-in for a Discord user id (OpenAI's `user` field)."""
        digest = hashlib.blake2b(str(user_id).encode(), key=self._user_key, digest_size=16)
        return "u-" + digest.hexdigest()

    async def reserve(self, job: Job) -> Reservation:
        """Hold the job's images against the user's quota; raises QuotaExceeded with nothing written."""
        return await self._store.reserve(
            job.guild_id,
            job.user_id,
            job.n,
            now=self._clock(),
            channel_id=job.channel_id,
            kind=job.kind,
            details={"model": job.request.model, "n": job.n},
        )

    async def release(self, reservation: Reservation) -> None:
        """Give a reservation back in full (the job never ran)."""
        await self._store.refund(reservation.id, now=self._clock())

    async def run(self, job: Job, reservation: Reservation, deliver: Deliver) -> Outcome:
        """Make and deliver the images; charge what was delivered; refund everything on failure."""
        try:
            images, failures, revised = await self._make_images(job)
            projected = reservation.status_after.remaining + (reservation.amount - len(images))
            delivered = await deliver(
                Delivery(
                    job=job,
                    images=images,
                    failures=failures,
                    revised_prompt=revised,
                    quota=reservation.status_after,
                    remaining_after=projected,
                )
            )
        except BaseException:
            await asyncio.shield(self._refund_quietly(reservation))
            raise
        charged = max(0, min(delivered, reservation.amount))
        await self._store.settle(reservation.id, charged, now=self._clock())
        log.info("job %s charged %d of %d image(s)", reservation.id, charged, reservation.amount)
        return Outcome(charged=charged, refunded=reservation.amount - charged)

    async def _refund_quietly(self, reservation: Reservation) -> None:
        try:
            await self.release(reservation)
        except Exception:
            # The reservation stays 'reserved' and is refunded at the next start-up.
            log.exception("could not refund job %s now; it is refunded at next start-up", reservation.id)

    async def _make_images(
        self, job: Job
    ) -> tuple[tuple[GeneratedImage, ...], tuple[BotError, ...], str | None]:
        """Call upstream, fanning out in parallel where the model makes fewer images per request.

        All parts failing raises the first failure; some failing returns the images that were made
        and the failures, so the user gets what succeeded and pays only for that.
        """
        per_request = get_model(job.request.model).images_per_request
        parts = [min(per_request, job.n - start) for start in range(0, job.n, per_request)]
        tagged = replace(job.request, user=self.user_tag(job.user_id))
        results = await asyncio.gather(
            *(self._call(replace(tagged, n=count)) for count in parts), return_exceptions=True
        )
        images: list[GeneratedImage] = []
        failures: list[BaseException] = []
        for result in results:
            if isinstance(result, BaseException):
                failures.append(result)
            else:
                images.extend(result.images)
        if not images:
            raise failures[0] if failures else BadResponse(status=200, message="the response held no images")
        unexpected = [f for f in failures if not isinstance(f, BotError)]
        if unexpected:
            raise unexpected[0]
        revised = next((image.revised_prompt for image in images if image.revised_prompt), None)
        return tuple(images[: job.n]), tuple(f for f in failures if isinstance(f, BotError)), revised

    async def _call(self, request: UpstreamRequest) -> ImageResult:
        if isinstance(request, GenerateRequest):
            return await self._images.generate(request)
        if isinstance(request, EditRequest):
            return await self._images.edit(request)
        return await self._images.vary(request)
