"""The wiring: build every service once, then the bot with its cogs and buttons.

In discord.py's ``advanced_startup`` shape: what the bot runs on is made before the bot and handed
to it, so nothing is half-built while it connects. The store is opened here (its migrations run);
jobs a previous run left unfinished are refunded when the bot starts (``ImageBot.recover``), not
here, so building a bot never touches the jobs of one still running on the same database.
"""

from __future__ import annotations

import contextlib
from typing import Any

from bot.config import Config, load_config
from bot.core.pipeline import JobRunner
from bot.core.scheduling import Scheduler, SharedScheduler
from bot.images import ImagesClient, ModelRegistry
from bot.metrics import Metrics
from bot.monitor import Monitor
from bot.store import QuotaPolicy, Store
from bot.store.turns import CHANNEL
from bot.ui.audit import AuditLog
from bot.ui.buttons import RESULT_CONTROLS, ResultControls
from bot.ui.client import ImageBot, Services, build_bot
from bot.ui.entry import JobEntry
from cogs.admin import AdminCog
from cogs.edit import EditCog
from cogs.history import HistoryCog
from cogs.imagine import ImagineCog
from cogs.quota import QuotaCog
from cogs.reply_vary import ReplyVaryCog
from cogs.vary import VaryCog


async def create_bot(config: Config | None = None) -> ImageBot:
    """The fully wired bot from the environment (or ``config``), not yet connected."""
    services = await open_services(config or load_config())
    try:
        bot = build_bot(services)
        bot.add_dynamic_items(*RESULT_CONTROLS)  # result buttons keep working after a restart
        entry, models, default = services.entry, services.models, services.config.image_model
        for cog in (
            ImagineCog(entry, models, default_model=default),
            EditCog(entry, models, default_model=default),
            VaryCog(entry, bot.tree),
            ReplyVaryCog(bot, entry),
            QuotaCog(services.store),
            AdminCog(services.store, models, services.audit, services.runner.server_rules),
            HistoryCog(services.store, entry),
        ):
            await bot.add_cog(cog)
    except BaseException:
        await services.aclose()
        raise
    return bot


async def open_scheduler(config: Config, store: Store) -> Scheduler:
    """The upstream limiter: this process's own on SQLite; on PostgreSQL, one every process sharing
    the database takes its turns from (announced changes wake the others at once)."""
    options: dict[str, Any] = {
        "images_per_minute": config.openai_images_per_minute,
        "max_concurrency": config.openai_max_concurrency,
        "max_jobs_per_user": config.max_jobs_per_user,
        "window": config.openai_rate_window,
    }
    if store.engine != "postgresql":
        return Scheduler(**options)
    margin = min(0.5, config.openai_rate_window / 120)  # as RateWindow counts: upstream counts on arrival
    turns = store.turns(
        images_per_window=config.openai_images_per_minute, window=config.openai_rate_window + margin
    )
    shared = SharedScheduler(turns=turns, **options)
    await store.subscribe(CHANNEL, shared.look_again)
    return shared


async def open_services(config: Config) -> Services:
    """Every service, ready; whatever was opened is closed again if a later one fails."""
    async with contextlib.AsyncExitStack() as opened:
        metrics = Metrics()
        models = ModelRegistry(
            config.models, official_backend=config.official_backend, default_model=config.image_model
        )
        images = ImagesClient(
            api_key=config.openai_api_key,
            base_url=config.openai_base_url,
            max_retries=config.openai_max_retries,
            timeout=config.openai_timeout,
            catalogue=config.models,
            api_type="azure" if config.openai_api_type == "azure" else "openai",
            azure_api_version=config.azure_api_version,
            max_held_bytes=config.openai_max_inflight_mb * 1024 * 1024,
            metrics=metrics,
        )
        opened.push_async_callback(images.aclose)
        store = await open_store(config)
        opened.push_async_callback(store.close)
        scheduler = await open_scheduler(config, store)
        runner = JobRunner(
            store,
            images,
            models=models,
            scheduler=scheduler,
            user_key=await store.secret("user-hash"),
            cost_ceilings=await store.cost_ceilings(),
            metrics=metrics,
        )
        metrics.watch_queue(lambda: scheduler.waiting)
        monitor = Monitor(metrics, store, scheduler)
        if config.metrics_port is not None:
            await monitor.start(config.metrics_port)
            opened.push_async_callback(monitor.aclose)
        audit = AuditLog(store)
        entry = JobEntry(runner, models, vary_model=config.vary_model, controls=ResultControls(), audit=audit)
        services = Services(config, models, images, store, runner, entry, audit, metrics, monitor)
        opened.pop_all()  # from here the bot owns them
    return services


async def open_store(config: Config) -> Store:
    """The store the configuration names, opened and migrated (``python -m bot check`` opens it so too)."""
    return await Store.open(
        config.database,
        default_policy=QuotaPolicy(limit=config.default_quota, period=config.quota_period),
        owner=config.store_owner,
    )
