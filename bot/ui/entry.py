"""Start jobs from Discord: the Discord side of the one pipeline, for every entry point.

For an interaction (slash command, context menu, button) the order matters for Discord's 3-second
rule and for quota safety:
1. check options and attachments, reserve quota (milliseconds): a refusal is private and free;
2. acknowledge ("thinking…") before anything slow; if that fails, give the reservation back;
3. run the job: downloads, fitting, the upstream call and delivery; any failure is refunded and
   reaches the one error handler.
A reply that mentions the bot has no interaction: it is answered with replies instead.
"""

from __future__ import annotations

import asyncio
import functools

import discord

from bot.core.pipeline import Claim, Job, JobRunner, Prepare
from bot.core.recipes import Fit, Inputs, Recipe, checked
from bot.errors import BotLacksPermissions
from bot.images import ImageOptions, ModelRegistry
from bot.ui import attachments
from bot.ui.audit import AuditLog
from bot.ui.controls import Controls
from bot.ui.delivery import DELIVERY_BACKOFF, InteractionTarget, ReplyTarget, file_budget, post
from bot.ui.progress import QueueDisplay

WORKING = "⏳"
#: what posting a result takes in its channel (the channel itself once an interaction's token expired)
RESULT_PERMISSIONS = ("send_messages", "attach_files", "embed_links")
RESERVE_BEFORE_ACK = 0.05  # seconds a reservation may take before the interaction is acknowledged first
REFUSAL_BEFORE_ACK = 1.5  # the same when a refusal is foreseen: it is worth waiting for to keep it private


class JobEntry:
    """Every way a member starts a job ends here: commands, the menu, buttons, replies."""

    def __init__(
        self,
        runner: JobRunner,
        models: ModelRegistry,
        *,
        vary_model: str,
        controls: Controls,
        audit: AuditLog,
    ) -> None:
        self.runner = runner
        self.audit = audit
        self.models = models
        self.vary_model = vary_model
        self.controls = controls
        #: pauses before the 2nd and 3rd attempt at a result message Discord failed (5xx, timeouts)
        self.delivery_pauses = DELIVERY_BACKOFF
        self.metrics = runner.metrics  # delivery retries are counted with the runner's jobs

    async def run(self, interaction: discord.Interaction, job: Job, prepare: Prepare | None = None) -> None:
        check_can_post(interaction.app_permissions)  # before anything is held or spent
        job = await self.runner.within_rules(job)
        claim = await self._reserve_then_acknowledge(interaction, job)
        target = InteractionTarget(interaction, asyncio.get_running_loop().time())
        await self.runner.run(
            job,
            claim,
            functools.partial(post, target, self.controls, pauses=self.delivery_pauses, metrics=self.metrics),
            prepare,
            on_queue=QueueDisplay(interaction, claim.id, self.controls),
            file_budget=file_budget(target),
            on_budget_alert=functools.partial(self.audit.budget_alert, interaction.guild),
        )

    async def _reserve_then_acknowledge(self, interaction: discord.Interaction, job: Job) -> Claim:
        """Admit and reserve quota, and acknowledge; a refusal is private whenever it can be.

        Discord wants an acknowledgement within 3 seconds and members want it at once, but the
        reservation is a database write that queues behind every other one in a burst. So the
        order depends on what the store's ledger (this process's last reading of the member's quota,
        no I/O) foresees:
        - the job fits: acknowledge at once, then write the reservation — still before anything is
          downloaded or sent upstream, so nothing is ever spent without one, and a crash in between
          has charged nothing. Only another process using the same quota meanwhile can make it fail
          now; the refusal then replaces the "thinking…" placeholder.
        - the ledger doesn't know the server yet: reserve first so a refusal is private, waiting at
          most RESERVE_BEFORE_ACK before acknowledging anyway.
        - it doesn't fit: the database confirms the refusal (another process may have given quota
          back), waiting up to REFUSAL_BEFORE_ACK — well inside Discord's 3 seconds — to keep it private.
        """
        admitted = self.runner.admit(job)  # too many jobs, shutting down: private, nothing held
        if admitted.expected:
            try:
                await interaction.response.defer(thinking=True)
            except BaseException:
                self.runner.withdraw(admitted, job)
                raise
            return await self.runner.reserve(job, admitted)
        reserving = asyncio.ensure_future(self.runner.reserve(job, admitted))
        wait = REFUSAL_BEFORE_ACK if admitted.refusal_foreseen else RESERVE_BEFORE_ACK
        done, _ = await asyncio.wait({reserving}, timeout=wait)
        if done:
            claim = reserving.result()  # a refusal raises here, still before the acknowledgement
        try:
            await interaction.response.defer(thinking=True)
        except BaseException:
            await (self.runner.release(claim) if done else _abandon(reserving, self.runner))
            raise
        return claim if done else await reserving

    def vary_recipe(
        self, *, n: int = 1, size: str | None = None, guide: str | None = None, fit: Fit = "crop"
    ) -> Recipe:
        return checked(
            Recipe(
                "vary",
                self.vary_model,
                n,
                prompt=guide,
                options=ImageOptions(size=size),
                fit=fit,
                image_count=1,
            ),
            self.models,
        )

    async def vary_attachment(
        self,
        interaction: discord.Interaction,
        attachment: discord.Attachment,
        *,
        n: int = 1,
        size: str | None = None,
        guide: str | None = None,
        fit: Fit = "crop",
    ) -> None:
        recipe = self.vary_recipe(n=n, size=size, guide=guide, fit=fit)
        spec = self.models.get(recipe.model)
        attachments.check_attachment(attachment, spec)
        await self.run(
            interaction, job_for(interaction, recipe), attachments.prepare(recipe, spec, [attachment])
        )

    async def redo(self, interaction: discord.Interaction, job_id: int) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        job = await self.runner.redo(
            job_id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            roles=role_ids(interaction.user),
        )
        await self.run(interaction, job)

    async def vary_for_reply(
        self, message: discord.Message, attachment: discord.Attachment, *, n: int
    ) -> None:
        """Variations for a member who replied to an image and mentioned the bot."""
        assert message.guild is not None
        check_can_post(message.channel.permissions_for(message.guild.me))
        recipe = self.vary_recipe(n=n)
        spec = self.models.get(recipe.model)
        attachments.check_attachment(attachment, spec)
        job = await self.runner.within_rules(
            Job(
                message.guild.id,
                message.channel.id,
                message.author.id,
                recipe,
                roles=role_ids(message.author),
            )
        )
        claim = await self.runner.reserve(job)
        reacted = await _react(message.add_reaction(WORKING))
        try:
            target = ReplyTarget(message)
            await self.runner.run(
                job,
                claim,
                functools.partial(
                    post, target, self.controls, pauses=self.delivery_pauses, metrics=self.metrics
                ),
                attachments.prepare(recipe, spec, [attachment]),
                file_budget=file_budget(target),
                on_budget_alert=functools.partial(self.audit.budget_alert, message.guild),
            )
        finally:
            if reacted:
                await _react(message.remove_reaction(WORKING, message.guild.me))


def check_can_post(permissions: discord.Permissions) -> None:
    """Refuse, free, where the bot couldn't post the result: never make images it can't deliver."""
    missing = [name for name in RESULT_PERMISSIONS if not getattr(permissions, name)]
    if missing:
        raise BotLacksPermissions(missing)


def job_for(interaction: discord.Interaction, recipe: Recipe, *, inputs: Inputs | None = None) -> Job:
    """The job an interaction asks for (commands are guild-only, so guild and channel exist).

    ``inputs`` is known up front for text-only jobs (empty); image jobs prepare theirs later.
    """
    assert interaction.guild_id is not None and interaction.channel_id is not None
    user = interaction.user
    return Job(interaction.guild_id, interaction.channel_id, user.id, recipe, inputs, role_ids(user))


def role_ids(user: discord.abc.User) -> tuple[int, ...]:
    """The member's role ids (for quotas by role); none for a user outside a server."""
    return tuple(role.id for role in user.roles) if isinstance(user, discord.Member) else ()


async def _abandon(reserving: asyncio.Future[Claim], runner: JobRunner) -> None:
    """Give back a reservation whose interaction could not be acknowledged, once it is made."""
    try:
        claim = await reserving
    except Exception:
        return  # it was refused anyway
    await runner.release(claim)


async def _react(action) -> bool:
    """Reactions are a courtesy: a channel that forbids them must not fail the job."""
    try:
        await action
    except discord.HTTPException:
        return False
    return True
