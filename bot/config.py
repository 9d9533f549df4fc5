"""Configuration from the environment: one place that reads, validates and documents every variable.

A missing or malformed value raises ``ConfigError`` naming the variable and what it must be (with
several, ``ConfigProblems`` holding each), so ``python -m bot`` can stop with one clear line per
problem. Secrets are kept out of ``repr``.
"""

from __future__ import annotations

import difflib
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlparse

from bot.images import BUILTIN_MODELS, DEFAULT_MODEL, ModelCatalogue
from bot.images.models_file import ModelsFileError, load_models_file
from bot.store import PERIODS, POSTGRES_SCHEMES, Period, redact_url, validate_period

DEFAULT_BASE_URL = "https://api.openai.com/v1"
OPENAI_HOST = "api.openai.com"
DEFAULT_DATABASE_URL = "sqlite:///data/bot.db"
DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
API_TYPES = ("openai", "azure")
LOG_LEVELS = ("debug", "info", "warning", "error")
# Responses held at once: a four-image 1536x1024 answer is ~18 MB of base64 while it is read and
# parsed, and its images ~13 MB until delivered (photo-like PNGs of ~3.3 MB each).
DEFAULT_MAX_INFLIGHT_MB = 64

T = TypeVar("T")
MAX_SHARDS = 100_000
_INSTANCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

VARIABLES = (
    "DISCORD_TOKEN",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_TYPE",
    "AZURE_API_VERSION",
    "IMAGE_MODEL",
    "VARY_MODEL",
    "MODELS_FILE",
    "DATABASE_URL",
    "DEFAULT_QUOTA",
    "QUOTA_PERIOD",
    "OPENAI_MAX_RETRIES",
    "OPENAI_TIMEOUT",
    "OPENAI_IMAGES_PER_MINUTE",
    "OPENAI_MAX_CONCURRENCY",
    "OPENAI_MAX_INFLIGHT_MB",
    "OPENAI_RATE_WINDOW_SECONDS",
    "MAX_JOBS_PER_USER",
    "SHUTDOWN_GRACE_SECONDS",
    "JOB_RETENTION_DAYS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "MESSAGE_CONTENT_INTENT",
    "DEV_GUILD_ID",
    "METRICS_PORT",
    "SHARD_COUNT",
    "SHARD_IDS",
    "INSTANCE_NAME",
    "INSTANCE_LEASE_SECONDS",
)
"""Every variable the bot reads (tests and benchmarks clear them all before building a bot)."""


class ConfigError(Exception):
    """A configuration variable is missing or malformed."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable
        self.problem = problem


class ConfigProblems(ConfigError):
    """Several variables are missing or malformed: ``problems`` holds each."""

    def __init__(self, problems: list[ConfigError]) -> None:
        super().__init__(problems[0].variable, problems[0].problem)
        self.problems = problems
        self.args = ("; ".join(str(problem) for problem in problems),)


@dataclass(frozen=True)
class Config:
    openai_api_key: str = field(repr=False)
    discord_token: str | None = field(default=None, repr=False)
    openai_base_url: str = DEFAULT_BASE_URL
    openai_api_type: str = "openai"
    azure_api_version: str = DEFAULT_AZURE_API_VERSION
    image_model: str = DEFAULT_MODEL
    vary_model: str = DEFAULT_MODEL
    #: the built-in rows plus MODELS_FILE's
    models: ModelCatalogue = field(default_factory=lambda: BUILTIN_MODELS, repr=False)
    models_file: str | None = None
    database: str = "data/bot.db"  # a SQLite file (or :memory:) or a postgresql:// URL
    default_quota: int = 25
    quota_period: Period = "day"
    openai_max_retries: int = 2
    openai_timeout: float = 300.0
    openai_images_per_minute: int = 50
    #: None: requests in flight are bounded by the rate limit and the response budget only
    openai_max_concurrency: int | None = None
    #: responses held at once (bodies being read and parsed, images until delivered), in MB
    openai_max_inflight_mb: int = DEFAULT_MAX_INFLIGHT_MB
    openai_rate_window: float = 60.0
    max_jobs_per_user: int = 2
    shutdown_grace: float = 60.0
    job_retention_days: int = 30  # prompts, options and input images of older jobs are purged
    log_level: str = "info"
    log_format: str = "text"
    message_content_intent: bool = True
    dev_guild_id: int | None = None
    instance_lease: float = 30.0  # seconds a process is known alive after each renewal
    #: the port of /healthz and /metrics (0: any free one); None: no such server
    metrics_port: int | None = None
    #: None: one gateway connection, as an unsharded bot; else this process runs ``shard_ids`` of it
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    #: this process's stable name (the store's owner of its jobs): INSTANCE_NAME, else the hostname
    #: and the shard ids
    instance_name: str = field(default_factory=socket.gethostname)
    named: bool = False  # INSTANCE_NAME was given

    @property
    def store_owner(self) -> str:
        """Whose jobs this process refunds at start-up: its instance name where processes share the
        database (PostgreSQL, shards, INSTANCE_NAME); else ``default``, as every earlier version, so
        a container re-created under a new hostname still refunds the jobs its predecessor left."""
        if self.named or self.shard_ids is not None or self.database.startswith(POSTGRES_SCHEMES):
            return self.instance_name
        return "default"

    @property
    def official_backend(self) -> bool:
        """True on OpenAI's own API, where OpenAI's published shutdown dates apply."""
        return self.openai_api_type == "openai" and urlparse(self.openai_base_url).hostname == OPENAI_HOST


def load_config(environ: Mapping[str, str] | None = None, *, require_token: bool = False) -> Config:
    """Read the configuration from ``environ`` (default: the process environment).

    ``require_token`` is set by ``python -m bot``: building the bot (for tests) needs no token,
    running it does.
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    problems: list[ConfigError] = []

    def take(compute: Callable[[], T], fallback: T) -> T:
        """``compute()``, or ``fallback`` with its problem kept: every problem is told in one run."""
        try:
            return compute()
        except ConfigError as problem:
            problems.append(problem)
            return fallback

    def required(name: str, how: str) -> str | None:
        value = get(name)
        if value is None:
            problems.append(ConfigError(name, f"is not set: {how}"))
        return value

    token = get("DISCORD_TOKEN")
    if require_token:
        token = required("DISCORD_TOKEN", "put your bot token (Developer Portal › your app › Bot) in .env")
    api_key = required("OPENAI_API_KEY", "put your OpenAI (or gateway) API key in .env")
    api_type = take(
        lambda: _choice(get("OPENAI_API_TYPE"), "OPENAI_API_TYPE", default="openai", choices=API_TYPES),
        "openai",
    )
    base_url = get("OPENAI_BASE_URL")
    if api_type == "azure" and base_url is None:
        required("OPENAI_BASE_URL", "with OPENAI_API_TYPE=azure it is https://<resource>.openai.azure.com")
    models_file = get("MODELS_FILE")
    models = take(lambda: _models(models_file), BUILTIN_MODELS)
    image_model = take(
        lambda: _model(get("IMAGE_MODEL") or DEFAULT_MODEL, "IMAGE_MODEL", models), DEFAULT_MODEL
    )

    def number(name: str, default: int, low: int, high: int) -> int:
        return take(lambda: _int(get(name), name, default=default, low=low, high=high), default)

    shard_count = take(lambda: _optional_int(get("SHARD_COUNT"), "SHARD_COUNT", low=1, high=MAX_SHARDS), None)
    shard_ids = take(lambda: _shard_ids(get("SHARD_IDS"), shard_count, get("SHARD_COUNT")), None)

    config = Config(
        discord_token=token,
        openai_api_key=api_key or "",
        openai_base_url=take(lambda: _base_url(base_url or DEFAULT_BASE_URL), DEFAULT_BASE_URL),
        openai_api_type=api_type,
        azure_api_version=get("AZURE_API_VERSION") or DEFAULT_AZURE_API_VERSION,
        image_model=image_model,
        vary_model=take(lambda: _model(get("VARY_MODEL") or image_model, "VARY_MODEL", models), image_model),
        models=models,
        models_file=models_file,
        database=take(lambda: _database(get("DATABASE_URL") or DEFAULT_DATABASE_URL), "data/bot.db"),
        default_quota=number("DEFAULT_QUOTA", 25, 0, 1_000_000),
        quota_period=take(
            lambda: validate_period(
                _choice(get("QUOTA_PERIOD"), "QUOTA_PERIOD", default="day", choices=PERIODS)
            ),
            "day",
        ),
        openai_max_retries=number("OPENAI_MAX_RETRIES", 2, 0, 10),
        openai_timeout=number("OPENAI_TIMEOUT", 300, 1, 3600),
        openai_images_per_minute=number("OPENAI_IMAGES_PER_MINUTE", 50, 1, 100_000),
        openai_max_concurrency=take(
            lambda: _optional_int(
                get("OPENAI_MAX_CONCURRENCY"), "OPENAI_MAX_CONCURRENCY", low=1, high=100_000
            ),
            None,
        ),
        openai_max_inflight_mb=number("OPENAI_MAX_INFLIGHT_MB", DEFAULT_MAX_INFLIGHT_MB, 16, 65_536),
        openai_rate_window=number("OPENAI_RATE_WINDOW_SECONDS", 60, 1, 3600),
        max_jobs_per_user=number("MAX_JOBS_PER_USER", 2, 1, 100),
        shutdown_grace=number("SHUTDOWN_GRACE_SECONDS", 60, 0, 3600),
        job_retention_days=number("JOB_RETENTION_DAYS", 30, 1, 3650),
        log_level=take(
            lambda: _choice(get("LOG_LEVEL"), "LOG_LEVEL", default="info", choices=LOG_LEVELS), "info"
        ),
        log_format=take(
            lambda: _choice(get("LOG_FORMAT"), "LOG_FORMAT", default="text", choices=("text", "json")), "text"
        ),
        message_content_intent=take(
            lambda: _bool(get("MESSAGE_CONTENT_INTENT"), "MESSAGE_CONTENT_INTENT", default=True), True
        ),
        dev_guild_id=take(lambda: _snowflake(get("DEV_GUILD_ID"), "DEV_GUILD_ID"), None),
        metrics_port=take(
            lambda: _optional_int(get("METRICS_PORT"), "METRICS_PORT", low=0, high=65_535), None
        ),
        shard_count=shard_count,
        shard_ids=shard_ids,
        instance_name=take(lambda: _instance_name(get("INSTANCE_NAME"), shard_ids), socket.gethostname()),
        named=get("INSTANCE_NAME") is not None,
        instance_lease=number("INSTANCE_LEASE_SECONDS", 30, 3, 3600),
    )
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigProblems(problems)
    return config


def misspelled(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(name set, the variable it most likely means) for variables that look like the bot's but
    aren't (``DEFAULT_QOUTA``): a typo would otherwise be silently ignored."""
    env = os.environ if environ is None else environ
    known = set(VARIABLES)
    found = []
    for name in sorted(env):
        if name in known or not name.isupper():
            continue
        close = difflib.get_close_matches(name, VARIABLES, n=1, cutoff=0.85)
        if close:
            found.append((name, close[0]))
    return found


def _models(path: str | None) -> ModelCatalogue:
    if path is None:
        return BUILTIN_MODELS
    try:
        return load_models_file(path)
    except ModelsFileError as error:
        raise ConfigError("MODELS_FILE", f"({path}) {error}") from None


def _model(value: str, name: str, models: ModelCatalogue) -> str:
    spec = models.find(value)
    if spec is None:
        raise ConfigError(
            name, f"must be one of {', '.join(models)}, or a row of MODELS_FILE (got {value!r})"
        )
    return spec.name


def _base_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            "OPENAI_BASE_URL", f"must be an http(s) URL such as {DEFAULT_BASE_URL} (got {value!r})"
        )
    return value.rstrip("/")


def database(environ: Mapping[str, str] | None = None) -> str:
    """Where DATABASE_URL puts the store (default ``data/bot.db``), for commands that need only it:
    a SQLite file, or the PostgreSQL URL as given."""
    env = os.environ if environ is None else environ
    return _database((env.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL)


def _database(value: str) -> str:
    """``sqlite:///relative/path``, ``sqlite:////absolute/path``, ``sqlite:///:memory:`` (the SQLite
    file's path is returned), or ``postgresql://user:password@host:port/database`` (kept whole)."""
    prefix = "sqlite:///"
    if value.startswith(POSTGRES_SCHEMES):
        parts = urlparse(value)
        if not parts.hostname and "host=" not in parts.query:
            raise ConfigError("DATABASE_URL", f"names no PostgreSQL host (got {redact_url(value)!r})")
        return value
    if not value.startswith(prefix) or len(value) == len(prefix):
        raise ConfigError(
            "DATABASE_URL",
            f"must look like {DEFAULT_DATABASE_URL} or postgresql://user:password@host:5432/database "
            f"(got {redact_url(value)!r})",
        )
    return value[len(prefix) :]


def _shard_ids(value: str | None, count: int | None, count_set: str | None) -> tuple[int, ...] | None:
    """SHARD_IDS (``0,1``), each id once and below SHARD_COUNT; unset: every shard of SHARD_COUNT."""
    if value is None:
        return None if count is None else tuple(range(count))
    if count_set is None:
        raise ConfigError("SHARD_IDS", "needs SHARD_COUNT: the number of shards the whole bot runs on")
    if count is None:  # SHARD_COUNT itself is malformed (and told)
        return None
    parts = [part.strip() for part in value.split(",")]
    if not all(part.isdigit() for part in parts):
        raise ConfigError(
            "SHARD_IDS", f"must be shard numbers separated by commas, such as 0,1 (got {value!r})"
        )
    ids = [int(part) for part in parts]
    wrong = [shard for shard in ids if shard >= count]
    if wrong:
        raise ConfigError(
            "SHARD_IDS",
            f"must be shard numbers from 0 to {count - 1} (SHARD_COUNT is {count}; got {wrong[0]})",
        )
    twice = sorted({shard for shard in ids if ids.count(shard) > 1})
    if twice:
        raise ConfigError("SHARD_IDS", f"names shard {twice[0]} more than once (got {value!r})")
    return tuple(ids)


def _instance_name(value: str | None, shard_ids: tuple[int, ...] | None) -> str:
    """INSTANCE_NAME, else the hostname, with the shard ids when sharded (``myhost-shards-0-1``)."""
    if value is None:
        host = socket.gethostname() or "bot"
        return host if shard_ids is None else f"{host}-shards-{'-'.join(map(str, shard_ids))}"
    if not _INSTANCE_NAME.fullmatch(value):
        raise ConfigError(
            "INSTANCE_NAME",
            "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit "
            f"(got {value!r})",
        )
    return value


def _int(value: str | None, name: str, *, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(name, f"must be a whole number from {low} to {high} (got {value!r})") from None
    if not low <= number <= high:
        raise ConfigError(name, f"must be a whole number from {low} to {high} (got {number})")
    return number


def _optional_int(value: str | None, name: str, *, low: int, high: int) -> int | None:
    return None if value is None else _int(value, name, default=low, low=low, high=high)


def _choice(value: str | None, name: str, *, default: str, choices: tuple[str, ...]) -> str:
    if value is None:
        return default
    if value.lower() not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)} (got {value!r})")
    return value.lower()


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(value: str | None, name: str, *, default: bool) -> bool:
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(name, f"must be true or false (got {value!r})")


def _snowflake(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 15 <= len(value) <= 20:
        raise ConfigError(
            name, f"must be a server id (right-click the server › Copy Server ID; got {value!r})"
        )
    return int(value)
