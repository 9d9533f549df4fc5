"""The one pipeline every entry point goes through.

reserve quota -> prepare inputs (download and fit images, after the acknowledgement) -> call the
Images API (fanning out where a model makes one image per request) -> deliver (a callback owned by
the Discord side) -> charge what was delivered, refund the rest.

Any failure on the way (a refused image, an upstream error, a safety rejection, a delivery
failure, cancellation) refunds the whole reservation before the exception continues to the error
handler. Nothing here imports discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.core.metering import metered_gate, outcome
from bot.core.recipes import Inputs, Recipe, UpstreamRequest, cost_key, to_request, upstream_prompt
from bot.core.rules import ServerRules
from bot.core.scheduling import JobCancelled, PositionCallback, Scheduler, ShuttingDown, Ticket
from bot.errors import BotError
from bot.images import (
    BadResponse,
    Cost,
    EditRequest,
    GeneratedImage,
    GenerateRequest,
    Holding,
    ImageResult,
    ImagesClient,
    ModelNotFound,
    ModelRegistry,
    ModelRetired,
    ModelSpec,
    request_batches,
    request_cost,
    worst_case_cost,
)
from bot.images.pricing import add_costs
from bot.metrics import Metrics
from bot.store import BudgetAlert, QuotaStatus, Reservation, Store

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Job:
    """One user's request for images, as every entry point describes it."""

    guild_id: int
    channel_id: int
    user_id: int
    recipe: Recipe
    inputs: Inputs | None = None  # None: prepared after the acknowledgement (downloads are slow)
    roles: tuple[int, ...] = ()  # the member's role ids (quotas by role)

    @property
    def n(self) -> int:
        return self.recipe.n


@dataclass(frozen=True)
class Delivery:
    """What the Discord side posts: the images, what failed, and the quota once this job is charged."""

    job: Job
    job_id: int
    images: tuple[GeneratedImage, ...]
    failures: tuple[BotError, ...]
    revised_prompt: str | None
    quota: QuotaStatus
    remaining_after: int


@dataclass(frozen=True)
class Posted:
    """What a delivery posted: how many images reached the channel (those are charged), and where
    the result's first message is (for ``/history``)."""

    images: int
    channel_id: int | None = None
    message_id: int | None = None


Deliver = Callable[[Delivery], Awaitable[Posted]]
"""Posts a delivery (see ``Posted``)."""

Prepare = Callable[[], Awaitable[Inputs]]
"""Downloads and fits a job's input images (after the interaction was acknowledged)."""

AlertCallback = Callable[[BudgetAlert], Awaitable[None]]
"""Told that a job's cost took its server's spending past an alert threshold of its budget."""


class JobGone(BotError):
    """A button refers to a job this bot has no record of (another database, or pruned)."""


@dataclass(frozen=True)
class Made:
    """What upstream returned for a job: the images, the parts that failed, and what it cost."""

    images: tuple[GeneratedImage, ...]
    failures: tuple[BotError, ...]
    revised_prompt: str | None
    cost: Cost | None


@dataclass(frozen=True)
class Outcome:
    charged: int  # the rest of the reservation was refunded


@dataclass(frozen=True)
class Claim:
    """A job's reserved quota and its place with the scheduler, from admission to the end."""

    reservation: Reservation
    ticket: Ticket

    @property
    def id(self) -> int:
        return self.reservation.id


@dataclass(frozen=True)
class Admitted:
    """A job let into the queue, and whether its reservation is expected to succeed (see ledger.py)."""

    ticket: Ticket
    expected: bool
    refusal_foreseen: bool = False


class CancelResult(enum.Enum):
    CANCELLED = "cancelled"
    NOT_OWNER = "not_owner"
    NOT_WAITING = "not_waiting"


class JobRunner:
    """Reserve, call upstream, deliver, settle. Built once; shared by every cog."""

    def __init__(
        self,
        store: Store,
        images: ImagesClient,
        *,
        models: ModelRegistry,
        scheduler: Scheduler,
        user_key: bytes,
        clock: Callable[[], datetime] = utcnow,
        cost_ceilings: dict[tuple[str, str, str], float] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self.metrics = metrics or Metrics()
        #: the most billed per image so far, by (model, size, quality): a worst case is never below it
        self._ceilings = dict(cost_ceilings or {})
        self._images = images
        self._models = models
        self._scheduler = scheduler
        self._user_key = user_key
        self._clock = clock
        self._running: dict[int, tuple[Job, Claim, asyncio.Task[object]]] = {}
        self._stopping = False

    @property
    def scheduler(self) -> Scheduler:
        """The shared upstream limiter the runner's jobs wait in."""
        return self._scheduler

    def user_tag(self, user_id: int) -> str:
        """A stable, non-reversible stand-in for a Discord user id (OpenAI's `user` field)."""
        digest = hashlib.blake2b(str(user_id).encode(), key=self._user_key, digest_size=16)
        return "u-" + digest.hexdigest()

    def admit(self, job: Job) -> Admitted:
        """Admit the job (per-user cap) and foresee its reservation, without I/O.

        Raises TooManyJobs or ShuttingDown with nothing held. Pass the result to ``reserve``, or
        give it back with ``withdraw``.
        """
        try:
            ticket = self._scheduler.admit((job.guild_id, job.user_id))
        except BotError:
            self.metrics.job_ended(job.recipe.kind, "refused")
            raise
        ledger = self._store.ledger
        forecast = ledger.forecast(job.guild_id, job.user_id, job.n, now=self._clock())
        if forecast:
            ledger.pend(job.guild_id, job.user_id, job.n)
        return Admitted(ticket, expected=forecast is True, refusal_foreseen=forecast is False)

    def withdraw(self, admitted: Admitted, job: Job) -> None:
        """Give back an admission whose job will not be reserved."""
        admitted.ticket.close()
        if admitted.expected:
            self._store.ledger.unpend(job.guild_id, job.user_id, job.n)

    async def reserve(self, job: Job, admitted: Admitted | None = None) -> Claim:
        """Hold the job's images against the user's quota (admitting it first if not yet admitted).

        Raises TooManyJobs, ShuttingDown or QuotaExceeded with nothing held.
        """
        admitted = admitted or self.admit(job)
        try:
            reservation = await self._store.reserve(
                job.guild_id,
                job.user_id,
                job.n,
                now=self._clock(),
                channel_id=job.channel_id,
                kind=job.recipe.kind,
                details=job.recipe.to_details(),
                hold_usd=self.worst_case(job),
                roles=job.roles,
            )
        except BaseException as error:
            self.withdraw(admitted, job)
            self.metrics.job_ended(job.recipe.kind, outcome(error))
            raise
        if admitted.expected:
            self._store.ledger.unpend(job.guild_id, job.user_id, job.n)
        return Claim(reservation, admitted.ticket)

    async def server_rules(self, guild_id: int | None) -> ServerRules:
        """The server's rules on models and options (none outside a server)."""
        if guild_id is None:
            return ServerRules()
        denied, quality, pixels = await self._store.server_rules(guild_id)
        return ServerRules(denied, quality, pixels)

    async def within_rules(self, job: Job) -> Job:
        """The job as the server's rules let it run (``auto`` capped), or ``ServerRuleRefused``."""
        rules = await self.server_rules(job.guild_id)
        if rules.empty:
            return job
        recipe = rules.apply(job.recipe, self._models.get(job.recipe.model))
        return job if recipe is job.recipe else replace(job, recipe=recipe)

    def worst_case(self, job: Job) -> float | None:
        """The most the job can be billed (USD): what a server's budget holds while it runs."""
        recipe = job.recipe
        spec = self._models.get(recipe.model)
        return worst_case_cost(
            spec,
            size=recipe.options.size,
            quality=recipe.options.quality,
            images=job.n,
            frames=recipe.options.frames,
            prompt_bytes=len(upstream_prompt(recipe).encode()),
            # an edit may carry a mask too, unknown until its inputs are read
            input_images=0 if recipe.kind == "imagine" else recipe.image_count + 1,
            ceiling_per_image=self._ceilings.get(cost_key(recipe)),
        )

    async def release(self, claim: Claim) -> None:
        """Give a claim back in full (the job never ran)."""
        claim.ticket.close()
        await self._store.refund(claim.id, now=self._clock())
        self.metrics.images(refunded=claim.reservation.amount)

    def cancel(self, job_id: int, user_id: int) -> CancelResult:
        """The owner withdraws a job that is waiting in the queue (it is then refunded in full)."""
        entry = self._running.get(job_id)
        if entry is None:
            return CancelResult.NOT_WAITING
        job, claim, _ = entry
        if job.user_id != user_id:
            return CancelResult.NOT_OWNER
        return CancelResult.CANCELLED if claim.ticket.cancel(JobCancelled()) else CancelResult.NOT_WAITING

    async def shutdown(self, grace: float) -> None:
        """Stop taking jobs; let running ones finish for ``grace`` seconds; withdraw the rest.

        Everything withdrawn is refunded, and its owner told, by the usual failure path.
        """
        self._stopping = True
        self._scheduler.stop(ShuttingDown())
        tasks = {task for _, _, task in self._running.values()}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)

    async def run(
        self,
        job: Job,
        claim: Claim,
        deliver: Deliver,
        prepare: Prepare | None = None,
        on_queue: PositionCallback | None = None,
        file_budget: int | None = None,
        on_budget_alert: AlertCallback | None = None,
    ) -> Outcome:
        """Make and deliver the images; charge what was delivered; refund everything on failure.

        ``on_queue`` is told the job's place while it waits for the shared upstream limiter;
        ``file_budget`` is the bytes a file may have where the images go (a larger PNG is asked for
        as WebP, see ``recipes.compact_output``); ``on_budget_alert`` is told when the job's cost
        takes the server's spending past 50, 80 or 100 % of its budget.
        """
        started = asyncio.get_running_loop().time()
        async with self._in_flight(job, claim) as holding:
            try:
                inputs = await self._prepare(job, claim, prepare)
                async with claim.ticket.showing_place(on_queue):  # final before anything replaces it
                    made = await self._generate(job, claim, inputs, holding, file_budget, on_budget_alert)
                delivered = await self._deliver(job, claim, made, deliver)
                del made  # posted: the images' bytes go now, not after the settle's database write
                if holding is not None:
                    holding.release()
            except BaseException as error:
                self.metrics.job_ended(job.recipe.kind, outcome(error))
                await self._refund_after(error, claim.reservation)
                raise
        settled = await self._settle(claim.reservation, delivered)
        done = "delivered" if settled.charged == claim.reservation.amount else "partial"
        self.metrics.job_ended(job.recipe.kind, done, seconds=asyncio.get_running_loop().time() - started)
        return settled

    # --- the steps of run, in order ---

    @contextlib.asynccontextmanager
    async def _in_flight(self, job: Job, claim: Claim) -> AsyncIterator[Holding | None]:
        """The job counted as running (Cancel and shutdown find it here) and the bytes of its
        answers held, for as long as it runs; afterwards its place with the scheduler is closed."""
        task = asyncio.current_task()
        assert task is not None
        self._running[claim.id] = (job, claim, task)
        holding = self._images.holding()  # the responses' bytes, held until the images are delivered
        try:
            yield holding
        finally:
            if holding is not None:
                holding.release()
            claim.ticket.close()
            self._running.pop(claim.id, None)

    async def _prepare(self, job: Job, claim: Claim, prepare: Prepare | None) -> Inputs:
        """The job's input images: known up front, or downloaded and fitted now (kept for Redo)."""
        if job.inputs is not None:
            return job.inputs
        if prepare is None:
            raise ValueError("a job without inputs needs a prepare step")
        inputs = await prepare()
        if inputs.images:  # kept so Redo works later without re-downloading anything
            await self._store.save_inputs(claim.id, inputs.as_rows())
        return inputs

    async def _generate(
        self,
        job: Job,
        claim: Claim,
        inputs: Inputs,
        holding: Holding | None,
        file_budget: int | None,
        on_budget_alert: AlertCallback | None,
    ) -> Made:
        """The upstream call(s); what they cost is recorded whatever happens to the delivery."""
        spec = self._models.get(job.recipe.model)
        request = to_request(job.recipe, inputs, spec, file_budget=file_budget)
        made = await self._make_images(job, spec, request, claim.ticket, holding)
        if made.cost is not None:
            await self._record_cost(job, claim, made, on_budget_alert)
        return made

    async def _record_cost(
        self, job: Job, claim: Claim, made: Made, on_budget_alert: AlertCallback | None
    ) -> None:
        """The cost counts against the server's budget from now on (in place of the job's hold)."""
        assert made.cost is not None
        key = cost_key(job.recipe)
        if made.cost.exact and made.images:
            per_image = made.cost.usd / len(made.images)
            self._ceilings[key] = max(self._ceilings.get(key, 0.0), per_image)
        self.metrics.spent(job.recipe.model, made.cost.usd)
        alert = await self._store.record_cost(
            claim.id, made.cost.usd, exact=made.cost.exact, now=self._clock(), ceiling=(key, len(made.images))
        )
        if alert is not None and on_budget_alert is not None:
            try:
                await on_budget_alert(alert)
            except Exception:  # an alert that can't be posted must not fail the job
                log.warning("could not post a budget alert for server %s", job.guild_id, exc_info=True)

    async def _deliver(self, job: Job, claim: Claim, made: Made, deliver: Deliver) -> Posted:
        """Hand the images to the Discord side; what it posted."""
        reservation = claim.reservation
        projected = reservation.status_after.remaining + (reservation.amount - len(made.images))
        return await deliver(
            Delivery(
                job=job,
                job_id=reservation.id,
                images=made.images,
                failures=made.failures,
                revised_prompt=made.revised_prompt,
                quota=reservation.status_after,
                remaining_after=projected,
            )
        )

    async def _refund_after(self, error: BaseException, reservation: Reservation) -> None:
        """Any failure refunds the whole reservation (shielded: a cancelled job is refunded too)."""
        cancelled = isinstance(error, asyncio.CancelledError)
        # Cancelled from outside (not by our shutdown), the process is going away and can't tell
        # the owner any more: the next start tells them.
        owed = cancelled and not self._stopping
        await asyncio.shield(self._refund_quietly(reservation, notice_owed=owed))
        if cancelled and self._stopping:  # our own shutdown withdrew it: report it as a failure
            raise ShuttingDown() from None

    async def _settle(self, reservation: Reservation, posted: Posted) -> Outcome:
        """Charge what reached the channel; the rest of the reservation goes back."""
        charged = max(0, min(posted.images, reservation.amount))
        where = (posted.channel_id, posted.message_id) if posted.channel_id and posted.message_id else None
        await self._store.settle(reservation.id, charged, now=self._clock(), result=where)
        self.metrics.images(charged=charged, refunded=reservation.amount - charged)
        log.info("job %s charged %d of %d image(s)", reservation.id, charged, reservation.amount)
        return Outcome(charged=charged)

    async def _refund_quietly(self, reservation: Reservation, *, notice_owed: bool = False) -> None:
        try:
            await self._store.refund(reservation.id, now=self._clock(), notice_owed=notice_owed)
            self.metrics.images(refunded=reservation.amount)
        except Exception:
            # The reservation stays 'reserved' and is refunded at the next start-up.
            log.exception("could not refund job %s now; it is refunded at next start-up", reservation.id)

    async def redo(
        self, job_id: int, *, guild_id: int, channel_id: int, user_id: int, roles: tuple[int, ...] = ()
    ) -> Job:
        """The same recipe and inputs as job ``job_id``, as a new job for ``user_id``."""
        record = await self._store.job_details(job_id)
        if record is None or record.guild_id != guild_id or not record.details:
            raise JobGone(f"job {job_id} is unknown here (or its details were purged)")
        recipe = Recipe.from_details(record.details)
        self._models.usable(recipe.model, today=self._clock().date())  # retired since: refused, free
        if recipe.kind == "imagine":
            return Job(guild_id, channel_id, user_id, recipe, Inputs(), roles)
        inputs = Inputs.from_rows(await self._store.load_inputs(job_id))
        if not inputs.images:
            raise JobGone(f"job {job_id} kept no input image")
        return Job(guild_id, channel_id, user_id, recipe, inputs, roles)

    async def _make_images(
        self, job: Job, spec: ModelSpec, request: UpstreamRequest, ticket: Ticket, holding: Holding | None
    ) -> Made:
        """Call upstream, fanning out in parallel where the model makes fewer images per request.

        All parts failing raises the first failure; some failing returns the images that were made
        and the failures, so the user gets what succeeded and pays only for that.
        """
        tagged = replace(request, user=self.user_tag(job.user_id))
        results = await asyncio.gather(
            *(self._call(replace(tagged, n=n), ticket, holding) for n in request_batches(spec, job.n)),
            return_exceptions=True,
        )
        made = [result for result in results if isinstance(result, ImageResult)]
        failures = [result for result in results if isinstance(result, BaseException)]
        images = [image for result in made for image in result.images]
        if not images:
            raise (
                self._model_gone(spec, failures[0])
                if failures
                else BadResponse(status=200, message="the response held no images")
            )
        unexpected = [f for f in failures if not isinstance(f, BotError)]
        if unexpected:
            raise unexpected[0]
        revised = next((image.revised_prompt for image in images if image.revised_prompt), None)
        cost = add_costs([c for result in made if (c := self._cost(spec, job.recipe, result)) is not None])
        return Made(
            tuple(images[: job.n]), tuple(f for f in failures if isinstance(f, BotError)), revised, cost
        )

    def _model_gone(self, spec: ModelSpec, error: BaseException) -> BaseException:
        """A 404 for the model: it is gone (until the next lifecycle refresh); say what replaces it."""
        if not isinstance(error, ModelNotFound):
            return error
        self._models.mark_gone(spec.name)
        log.warning("model %s is no longer served (%s); treating it as retired", spec.name, error)
        replacement = self._models.replacement_for(spec.name, today=self._clock().date())
        retired = ModelRetired(spec.name, None, replacement)
        retired.__cause__ = error
        return retired

    @staticmethod
    def _cost(spec: ModelSpec, recipe: Recipe, result: ImageResult) -> Cost | None:
        return request_cost(
            spec,
            result,
            size=recipe.options.size,
            quality=recipe.options.quality,
            had_input_images=recipe.kind != "imagine",
            frames=recipe.options.frames,
        )

    async def _call(self, request: UpstreamRequest, ticket: Ticket, holding: Holding | None) -> ImageResult:
        gate = metered_gate(ticket, self._scheduler, self.metrics)
        if isinstance(request, GenerateRequest):
            return await self._images.generate(request, gate=gate, holding=holding)
        if isinstance(request, EditRequest):
            return await self._images.edit(request, gate=gate, holding=holding)
        return await self._images.vary(request, gate=gate, holding=holding)
