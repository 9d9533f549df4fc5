"""The versioned database schema.

Each migration is a version number and an SQL script per engine. Each engine applies the pending
ones in order, each in one transaction that also records the version (SQLite's ``PRAGMA
user_version``, PostgreSQL's ``schema_version`` table), so a migration is applied entirely or not at
all (``bot.store.sqlite.migrate``, ``bot.store.postgres.migrate``). Never edit a migration that has
shipped: append a new one, with its PostgreSQL script unless the SQL is the same on both.

PostgreSQL support arrived with version 8: its version 1 creates the whole schema of version 8
(``_PG_V8``), and versions 2 to 8 have nothing left to do there.

Conventions: timestamps are integer microseconds since the Unix epoch (UTC); ids are Discord
snowflakes (SQLite INTEGER, PostgreSQL BIGINT); money is integer micro-dollars.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    script: str
    postgres: str | None = None  # PostgreSQL's script when it differs from ``script``

    def statements(self, engine: str = "sqlite") -> list[str]:
        if engine == "sqlite" or self.postgres is None:
            return split_statements(self.script)
        return split_statements(self.postgres)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements.

    ``sqlite3.Cursor.executescript`` would COMMIT any open transaction first, so migrations run
    statement by statement instead. ``sqlite3.complete_statement`` knows about string literals,
    comments and ``CREATE TRIGGER ... END;`` bodies, so a ``;`` inside them does not split.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if _has_code(statement):
                statements.append(statement)
            pending = ""
    if _has_code(pending[:-1]):
        raise ValueError(f"incomplete SQL statement at the end of the script: {pending[:-1].strip()!r}")
    return statements


def _has_code(sql: str) -> bool:
    """True unless ``sql`` is only whitespace, ``--`` comments and semicolons."""
    lines = (line.split("--", 1)[0] for line in sql.splitlines())
    return any(line.strip().strip(";").strip() for line in lines)


_V1 = """
-- A server's own quota policy; absent = the default from the environment.
CREATE TABLE guild_settings (
    guild_id    INTEGER PRIMARY KEY,
    quota_limit INTEGER NOT NULL CHECK (quota_limit BETWEEN 0 AND 1000000),
    period      TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month'))
);

-- Per-user limit overrides (replace the server limit for that user; the period stays the server's).
CREATE TABLE user_limits (
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit BETWEEN 0 AND 1000000),
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- Extra images for one user; each grant counts in the period it was created in.
CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 1),
    created_at INTEGER NOT NULL
);
CREATE INDEX grants_by_user ON grants (guild_id, user_id, created_at);

-- The last time an admin reset a user's usage: committed images settled at or before it no longer count.
CREATE TABLE usage_resets (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    reset_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- One row per image job. Today a job is a quota reservation:
--   reserved  -> images held while the job is in flight (counts `amount`)
--   committed -> delivered; counts `charged` (0..amount), the rest was released
--   refunded  -> failed or abandoned; counts nothing
-- `state` has no CHECK on purpose: the job queue will add in-flight states, and every state other
-- than 'committed' and 'refunded' holds `amount` images. AUTOINCREMENT: ids are never reused, so a
-- late settle/refund of an old job can never touch a new one.
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    channel_id INTEGER,
    kind       TEXT    NOT NULL,
    details    TEXT    NOT NULL DEFAULT '{}',
    state      TEXT    NOT NULL DEFAULT 'reserved',
    amount     INTEGER NOT NULL CHECK (amount >= 1),
    charged    INTEGER NOT NULL DEFAULT 0 CHECK (charged BETWEEN 0 AND amount),
    owner      TEXT    NOT NULL DEFAULT 'default',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    settled_at INTEGER
);
CREATE INDEX jobs_by_user ON jobs (guild_id, user_id, created_at);
CREATE INDEX jobs_in_flight ON jobs (owner, id) WHERE state NOT IN ('committed', 'refunded');

-- Per-database random secrets (e.g. the HMAC key that hashes user ids in logs).
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- Small facts kept between runs (e.g. a digest of the slash commands last synced).
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_V2 = """
-- The fitted input images of edit and variation jobs, so Redo works after a restart without
-- re-downloading anything (Discord's attachment links expire).
CREATE TABLE job_inputs (
    job_id   INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role     TEXT    NOT NULL CHECK (role IN ('image', 'mask')),
    filename TEXT    NOT NULL,
    content_type TEXT NOT NULL,
    data     BLOB    NOT NULL,
    PRIMARY KEY (job_id, position)
) WITHOUT ROWID;
"""

_V3 = """
-- A job refunded as the process went away, whose owner couldn't be told: the next start tells them.
ALTER TABLE jobs ADD COLUMN notice_owed INTEGER NOT NULL DEFAULT 0;
"""

_V4 = """
-- What a job cost upstream, in USD, and whether that is exact (from the backend's token usage) or
-- estimated (a price table, or token counts guessed when the backend reported none). NULL: unknown.
-- Recorded when upstream answers, whatever then happens to the delivery: the money is spent.
ALTER TABLE jobs ADD COLUMN cost_usd REAL CHECK (cost_usd IS NULL OR cost_usd >= 0);
ALTER TABLE jobs ADD COLUMN cost_exact INTEGER CHECK (cost_exact IS NULL OR cost_exact IN (0, 1));
"""

_V5 = """
-- A server's budget in money per period (absent: no budget). Money in the database is integer
-- micro-dollars (1e-6 USD), except jobs.cost_usd (REAL, from V4).
CREATE TABLE budgets (
    guild_id      INTEGER PRIMARY KEY,
    amount_micros INTEGER NOT NULL CHECK (amount_micros BETWEEN 1 AND 1000000000000),
    period        TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month'))
);
-- What a job in flight may cost at worst: held against the budget until its cost is recorded.
ALTER TABLE jobs ADD COLUMN hold_micros INTEGER NOT NULL DEFAULT 0 CHECK (hold_micros >= 0);
CREATE INDEX jobs_by_guild ON jobs (guild_id, created_at);
-- Budget alerts already posted (50, 80, 100 percent), once per server and period.
CREATE TABLE budget_alerts (
    guild_id     INTEGER NOT NULL,
    period_start INTEGER NOT NULL,
    percent      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, period_start, percent)
) WITHOUT ROWID;
-- The highest cost per image billed so far, by model, size and quality: a worst case is never below it.
CREATE TABLE cost_ceilings (
    model      TEXT NOT NULL,
    size       TEXT NOT NULL,
    quality    TEXT NOT NULL,
    usd_micros INTEGER NOT NULL CHECK (usd_micros >= 0),
    PRIMARY KEY (model, size, quality)
) WITHOUT ROWID;
-- Where a server's admin changes and budget alerts are posted.
CREATE TABLE log_channels (
    guild_id   INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL
);
"""

_V6 = """
-- Quotas by role: a member without a limit of their own gets the highest limit among their roles.
CREATE TABLE role_limits (
    guild_id    INTEGER NOT NULL,
    role_id     INTEGER NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit BETWEEN 0 AND 1000000),
    PRIMARY KEY (guild_id, role_id)
) WITHOUT ROWID;
-- Each member's roles as of their last request (a space-separated list of role ids), so a server's
-- overview counts role limits without the privileged members intent.
CREATE TABLE member_roles (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    role_ids TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
"""

_V7 = """
-- The model and the result message of each job, in columns: reports group by model without
-- reading job details (which are purged after JOB_RETENTION_DAYS), and /history links the result.
ALTER TABLE jobs ADD COLUMN model TEXT;
UPDATE jobs SET model = json_extract(details, '$.model') WHERE json_valid(details);
ALTER TABLE jobs ADD COLUMN result_channel_id INTEGER;
ALTER TABLE jobs ADD COLUMN result_message_id INTEGER;
"""

_V8 = """
-- A server's rules on models and options: models it denies, and ceilings on quality and size.
CREATE TABLE denied_models (
    guild_id INTEGER NOT NULL,
    model    TEXT    NOT NULL,
    PRIMARY KEY (guild_id, model)
) WITHOUT ROWID;
CREATE TABLE option_ceilings (
    guild_id    INTEGER PRIMARY KEY,
    max_quality TEXT,
    max_pixels  INTEGER CHECK (max_pixels IS NULL OR max_pixels > 0)
);
"""

_PG_V8 = """
CREATE TABLE guild_settings (
    guild_id    BIGINT PRIMARY KEY,
    quota_limit INTEGER NOT NULL CHECK (quota_limit BETWEEN 0 AND 1000000),
    period      TEXT    NOT NULL CHECK (period IN ('day', 'week', 'month'))
);
CREATE TABLE user_limits (
    guild_id    BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit BETWEEN 0 AND 1000000),
    PRIMARY KEY (guild_id, user_id)
);
CREATE TABLE grants (
    id         BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    guild_id   BIGINT  NOT NULL,
    user_id    BIGINT  NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 1),
    created_at BIGINT  NOT NULL
);
CREATE INDEX grants_by_user ON grants (guild_id, user_id, created_at);
CREATE TABLE usage_resets (
    guild_id BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    reset_at BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
-- An identity never reuses a value, like SQLite's AUTOINCREMENT.
CREATE TABLE jobs (
    id          BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    guild_id    BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL,
    channel_id  BIGINT,
    kind        TEXT    NOT NULL,
    details     TEXT    NOT NULL DEFAULT '{}',
    state       TEXT    NOT NULL DEFAULT 'reserved',
    amount      INTEGER NOT NULL CHECK (amount >= 1),
    charged     INTEGER NOT NULL DEFAULT 0 CHECK (charged BETWEEN 0 AND amount),
    owner       TEXT    NOT NULL DEFAULT 'default',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    settled_at  BIGINT,
    notice_owed INTEGER NOT NULL DEFAULT 0,
    cost_usd    DOUBLE PRECISION CHECK (cost_usd IS NULL OR cost_usd >= 0),
    cost_exact  INTEGER CHECK (cost_exact IS NULL OR cost_exact IN (0, 1)),
    hold_micros BIGINT  NOT NULL DEFAULT 0 CHECK (hold_micros >= 0),
    model       TEXT,
    result_channel_id BIGINT,
    result_message_id BIGINT
);
CREATE INDEX jobs_by_user ON jobs (guild_id, user_id, created_at);
CREATE INDEX jobs_in_flight ON jobs (owner, id) WHERE state NOT IN ('committed', 'refunded');
CREATE INDEX jobs_by_guild ON jobs (guild_id, created_at);
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE job_inputs (
    job_id   BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role     TEXT    NOT NULL CHECK (role IN ('image', 'mask')),
    filename TEXT    NOT NULL,
    content_type TEXT NOT NULL,
    data     BYTEA   NOT NULL,
    PRIMARY KEY (job_id, position)
);
CREATE TABLE budgets (
    guild_id      BIGINT PRIMARY KEY,
    amount_micros BIGINT NOT NULL CHECK (amount_micros BETWEEN 1 AND 1000000000000),
    period        TEXT   NOT NULL CHECK (period IN ('day', 'week', 'month'))
);
CREATE TABLE budget_alerts (
    guild_id     BIGINT  NOT NULL,
    period_start BIGINT  NOT NULL,
    percent      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, period_start, percent)
);
CREATE TABLE cost_ceilings (
    model      TEXT   NOT NULL,
    size       TEXT   NOT NULL,
    quality    TEXT   NOT NULL,
    usd_micros BIGINT NOT NULL CHECK (usd_micros >= 0),
    PRIMARY KEY (model, size, quality)
);
CREATE TABLE log_channels (
    guild_id   BIGINT PRIMARY KEY,
    channel_id BIGINT NOT NULL
);
CREATE TABLE role_limits (
    guild_id    BIGINT  NOT NULL,
    role_id     BIGINT  NOT NULL,
    quota_limit INTEGER NOT NULL CHECK (quota_limit BETWEEN 0 AND 1000000),
    PRIMARY KEY (guild_id, role_id)
);
CREATE TABLE member_roles (
    guild_id BIGINT NOT NULL,
    user_id  BIGINT NOT NULL,
    role_ids TEXT   NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
CREATE TABLE denied_models (
    guild_id BIGINT NOT NULL,
    model    TEXT   NOT NULL,
    PRIMARY KEY (guild_id, model)
);
CREATE TABLE option_ceilings (
    guild_id    BIGINT PRIMARY KEY,
    max_quality TEXT,
    max_pixels  BIGINT CHECK (max_pixels IS NULL OR max_pixels > 0)
);
"""

_V9 = """
-- Each process sharing the database, and how long it is known to be alive: a process whose lease ran
-- out vanished, and another refunds the jobs it left in flight.
CREATE TABLE instances (
    owner       TEXT    PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    lease_until INTEGER NOT NULL
);
-- The upstream limiter shared by every process (bot.store.turns): the members each process has
-- waiting for a turn, the number of the turn each member last had (round-robin across processes), the images
-- sent within the window, and a pause every process keeps after a 429.
CREATE TABLE turn_requests (
    owner  TEXT    NOT NULL,
    member TEXT    NOT NULL,
    images INTEGER NOT NULL CHECK (images >= 1),
    since  INTEGER NOT NULL,
    PRIMARY KEY (owner, member)
);
CREATE TABLE turn_members (
    member      TEXT    PRIMARY KEY,
    last_turn   INTEGER NOT NULL
);
CREATE TABLE turns_sent (
    id      INTEGER PRIMARY KEY,
    sent_at INTEGER NOT NULL,
    images  INTEGER NOT NULL CHECK (images >= 1)
);
CREATE INDEX turns_sent_by_time ON turns_sent (sent_at);
CREATE TABLE turn_pause (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    paused_until INTEGER NOT NULL
);
"""

_PG_V9 = """
CREATE TABLE instances (
    owner       TEXT   PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);
CREATE TABLE turn_requests (
    owner  TEXT    NOT NULL,
    member TEXT    NOT NULL,
    images INTEGER NOT NULL CHECK (images >= 1),
    since  BIGINT  NOT NULL,
    PRIMARY KEY (owner, member)
);
CREATE TABLE turn_members (
    member      TEXT   PRIMARY KEY,
    last_turn   BIGINT NOT NULL
);
CREATE TABLE turns_sent (
    id      BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    sent_at BIGINT  NOT NULL,
    images  INTEGER NOT NULL CHECK (images >= 1)
);
CREATE INDEX turns_sent_by_time ON turns_sent (sent_at);
CREATE TABLE turn_pause (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    paused_until BIGINT  NOT NULL
);
"""

_PG_INCLUDED = ""  # already in PostgreSQL's version 1 (see the module's docstring)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "quotas, jobs, secrets, meta", _V1, postgres=_PG_V8),
    Migration(2, "job inputs", _V2, postgres=_PG_INCLUDED),
    Migration(3, "notices owed for interrupted jobs", _V3, postgres=_PG_INCLUDED),
    Migration(4, "job cost", _V4, postgres=_PG_INCLUDED),
    Migration(5, "budgets, cost ceilings, log channels", _V5, postgres=_PG_INCLUDED),
    Migration(6, "quotas by role", _V6, postgres=_PG_INCLUDED),
    Migration(7, "job model and result message columns", _V7, postgres=_PG_INCLUDED),
    Migration(8, "server rules on models and options", _V8, postgres=_PG_INCLUDED),
    Migration(9, "instance leases and the shared upstream limiter", _V9, postgres=_PG_V9),
)
LATEST_VERSION = MIGRATIONS[-1].version
