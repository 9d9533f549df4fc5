"""Quota models and the SQL that computes a user's quota status.

Counting rules (all per guild and user, for the period containing ``now``, which is the server's
period, or the default one):

- ``used``: ``charged`` of committed jobs *created* in the period and *settled* strictly after the
  user's last reset (a settle at the very microsecond of a reset counts as before it). A job
  reserved before a period boundary and settled after it counts in the period it was reserved in.
- ``reserved``: ``amount`` of jobs still in flight (any state but committed/refunded) created in the
  period. A reset does not release them: they are charged when they settle.
- ``granted``: grants created in the period.
- ``remaining = max(0, limit + granted - used - reserved)``.

Everything is read at ``now``: changing the server's period just re-reads with the new boundaries.
The functions here run inside a transaction opened by ``Store``; they never open one themselves.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from bot.errors import UserInputError
from bot.store.database import Connection
from bot.store.periods import Period, period_end, period_start, to_micros, validate_period

MAX_LIMIT = 1_000_000
MAX_AMOUNT = 1_000_000

LimitSource = Literal["user", "role", "server", "default"]

# Job states. Any other state (the job queue may add some) is "in flight" and holds its amount; the
# SQL spells that `state NOT IN ('committed', 'refunded')`.
RESERVED = "reserved"
COMMITTED = "committed"
REFUNDED = "refunded"


@dataclass(frozen=True)
class QuotaPolicy:
    limit: int
    period: Period

    def __post_init__(self) -> None:
        check_limit(self.limit)
        validate_period(self.period)


@dataclass(frozen=True)
class QuotaStatus:
    guild_id: int
    user_id: int
    limit: int  # effective base limit: the user's override, else their best role's, else the server's
    limit_source: LimitSource
    granted: int  # extra images granted this period
    used: int  # charged images of jobs reserved this period and settled after the user's last reset
    reserved: int  # images held by jobs in flight
    remaining: int  # max(0, limit + granted - used - reserved)
    period: Period
    period_start: datetime
    resets_at: datetime
    role_id: int | None = None  # with limit_source "role": the role whose limit applies

    @property
    def allowance(self) -> int:
        """Images the user may make this period in total: ``limit + granted``."""
        return self.limit + self.granted


class QuotaExceeded(UserInputError):
    """A reservation asked for more images than the user has left this period. Nothing was written."""

    def __init__(self, status: QuotaStatus, requested: int) -> None:
        super().__init__(
            f"{requested} image(s) requested but only {status.remaining} left this {status.period} "
            f"(limit {status.limit}, granted {status.granted}, used {status.used}, "
            f"in progress {status.reserved}); resets at {status.resets_at.isoformat()}"
        )
        self.status = status
        self.requested = requested


@dataclass(frozen=True)
class Reservation:
    id: int
    guild_id: int
    user_id: int
    amount: int
    created_at: datetime
    status_after: QuotaStatus
    channel_id: int | None = None


# --- validation (ValueError: these are programming errors, never user input) ---


def check_int(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return value


def check_id(name: str, value: object) -> int:
    return check_int(name, value, 0, 2**63 - 1)


def check_limit(value: object) -> int:
    return check_int("limit", value, 0, MAX_LIMIT)


def check_amount(value: object, name: str = "amount") -> int:
    return check_int(name, value, 1, MAX_AMOUNT)


# --- reading ---


@dataclass(frozen=True)
class _GuildContext:
    policy: QuotaPolicy
    source: Literal["server", "default"]
    start: datetime
    end: datetime


async def server_policy(
    db: Connection, guild_id: int, default: QuotaPolicy
) -> tuple[QuotaPolicy, Literal["server", "default"]]:
    rows = list(
        await db.execute_fetchall(
            "SELECT quota_limit, period FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
    )
    if not rows:
        return default, "default"
    limit, period = rows[0]
    return QuotaPolicy(limit, period), "server"


async def _context(db: Connection, guild_id: int, default: QuotaPolicy, now: datetime) -> _GuildContext:
    policy, source = await server_policy(db, guild_id, default)
    return _GuildContext(policy, source, period_start(policy.period, now), period_end(policy.period, now))


def _make_status(
    guild_id: int,
    user_id: int,
    ctx: _GuildContext,
    *,
    override: int | None,
    granted: int,
    used: int,
    reserved: int,
    role_limit: tuple[int, int] | None = None,
) -> QuotaStatus:
    source: LimitSource
    if override is not None:
        limit, source, role_id = override, "user", None
    elif role_limit is not None:
        (role_id, limit), source = role_limit, "role"
    else:
        limit, source, role_id = ctx.policy.limit, ctx.source, None
    return QuotaStatus(
        guild_id=guild_id,
        user_id=user_id,
        limit=limit,
        limit_source=source,
        granted=granted,
        used=used,
        reserved=reserved,
        remaining=max(0, limit + granted - used - reserved),
        period=ctx.policy.period,
        period_start=ctx.start,
        resets_at=ctx.end,
        role_id=role_id,
    )


def with_reserved(status: QuotaStatus, extra: int) -> QuotaStatus:
    """``status`` after holding ``extra`` more images (without re-reading the database)."""
    reserved = status.reserved + extra
    remaining = max(0, status.allowance - status.used - reserved)
    return replace(status, reserved=reserved, remaining=remaining)


_USAGE_SQL = """
SELECT j.user_id,
       SUM(CASE WHEN j.state = 'committed' AND (r.reset_at IS NULL OR j.settled_at > r.reset_at)
                  THEN j.charged ELSE 0 END),
       SUM(CASE WHEN j.state NOT IN ('committed', 'refunded') THEN j.amount ELSE 0 END)
FROM jobs AS j
LEFT JOIN usage_resets AS r ON r.guild_id = j.guild_id AND r.user_id = j.user_id
WHERE j.guild_id = :guild AND j.created_at >= :start AND (CAST(:user AS BIGINT) IS NULL OR j.user_id = :user)
GROUP BY j.user_id
"""

_GRANTS_SQL = """
SELECT user_id, SUM(amount) FROM grants
WHERE guild_id = :guild AND created_at >= :start AND (CAST(:user AS BIGINT) IS NULL OR user_id = :user)
GROUP BY user_id
"""

_OVERRIDES_SQL = """
SELECT user_id, quota_limit FROM user_limits
WHERE guild_id = :guild AND (CAST(:user AS BIGINT) IS NULL OR user_id = :user)
"""


_ROLE_LIMITS_SQL = "SELECT role_id, quota_limit FROM role_limits WHERE guild_id = :guild"


def best_role(roles: Collection[int], limits: Mapping[int, int]) -> tuple[int, int] | None:
    """(role id, limit) of the highest limit among ``roles`` (the lowest id on a tie); None: none has one."""
    tiered = [(limits[role], -role) for role in roles if role in limits]
    if not tiered:
        return None
    limit, negative_id = max(tiered)
    return -negative_id, limit


async def role_limits(db: Connection, guild_id: int) -> dict[int, int]:
    return {
        int(r): int(limit) for r, limit in await db.execute_fetchall(_ROLE_LIMITS_SQL, {"guild": guild_id})
    }


def _upsert(table: str, column: str) -> tuple[str, str]:
    return (
        f"DELETE FROM {table} WHERE guild_id = ? AND {column} = ?",  # noqa: S608 (names, not input)
        f"INSERT INTO {table} (guild_id, {column}, quota_limit) VALUES (?, ?, ?) "  # noqa: S608
        f"ON CONFLICT (guild_id, {column}) DO UPDATE SET quota_limit = excluded.quota_limit",
    )


#: (delete, upsert) statements for the limits set for one member or one role
_LIMIT_SQL = {"user": _upsert("user_limits", "user_id"), "role": _upsert("role_limits", "role_id")}


async def set_limit(
    db: Connection, whom: Literal["user", "role"], guild_id: int, key: int, limit: int | None
) -> None:
    """Set (or with None remove) the limit of one member or one role of the server."""
    delete, upsert = _LIMIT_SQL[whom]
    if limit is None:
        await db.execute(delete, (guild_id, key))
    else:
        await db.execute(upsert, (guild_id, key, limit))


async def remembered_roles(
    db: Connection, guild_id: int, user_id: int | None = None
) -> dict[int, Collection[int]]:
    rows = await db.execute_fetchall(
        "SELECT user_id, role_ids FROM member_roles "
        "WHERE guild_id = ? AND (CAST(? AS BIGINT) IS NULL OR user_id = ?)",
        (guild_id, user_id, user_id),
    )
    return {int(uid): tuple(int(r) for r in ids.split()) for uid, ids in rows}


async def remember_roles(db: Connection, guild_id: int, user_id: int, roles: Collection[int]) -> None:
    await db.execute(
        "INSERT INTO member_roles (guild_id, user_id, role_ids) VALUES (?, ?, ?) "
        "ON CONFLICT (guild_id, user_id) DO UPDATE SET role_ids = excluded.role_ids",
        (guild_id, user_id, " ".join(str(r) for r in sorted(roles))),
    )


async def statuses(
    db: Connection,
    guild_id: int,
    default: QuotaPolicy,
    now: datetime,
    user_id: int | None = None,
    roles: Mapping[int, Collection[int]] | None = None,
    tiers: Mapping[int, int] | None = None,
) -> dict[int, QuotaStatus]:
    """Quota status of ``user_id`` (always present in the result), or of every user of the guild
    who has usage, reservations or grants this period or a limit override. ``roles``: the role ids
    of the members whose role limits count (a member not in it is judged without roles)."""
    everyone, found = await snapshot(db, guild_id, default, now, user_id, roles, tiers)
    if user_id is not None and user_id not in found:
        found[user_id] = replace(everyone, user_id=user_id)
    return found


async def snapshot(
    db: Connection,
    guild_id: int,
    default: QuotaPolicy,
    now: datetime,
    user_id: int | None = None,
    roles: Mapping[int, Collection[int]] | None = None,
    tiers: Mapping[int, int] | None = None,
) -> tuple[QuotaStatus, dict[int, QuotaStatus]]:
    """The status of a member with nothing recorded this period (``user_id`` 0, no roles), and of
    every member (or just ``user_id``) with usage, reservations, grants or an override, or whose
    roles are given. ``tiers``: the server's role limits, when the caller has read them already."""
    ctx = await _context(db, guild_id, default, now)
    params = {"guild": guild_id, "start": to_micros(ctx.start), "user": user_id}
    usage = {uid: (int(used), int(held)) for uid, used, held in await db.execute_fetchall(_USAGE_SQL, params)}
    grants = {uid: int(total) for uid, total in await db.execute_fetchall(_GRANTS_SQL, params)}
    overrides = {uid: int(lim) for uid, lim in await db.execute_fetchall(_OVERRIDES_SQL, params)}
    if tiers is None:
        tiers = await role_limits(db, guild_id)
    member_roles: dict[int, Collection[int]] = {}
    if tiers and (user_id is None or user_id not in (roles or {})):  # roles as last seen, unless given now
        member_roles = await remembered_roles(db, guild_id, user_id)
    member_roles |= {uid: ids for uid, ids in (roles or {}).items() if user_id is None or uid == user_id}
    everyone = _make_status(guild_id, 0, ctx, override=None, granted=0, used=0, reserved=0)
    found = {
        uid: _make_status(
            guild_id,
            uid,
            ctx,
            override=overrides.get(uid),
            granted=grants.get(uid, 0),
            used=usage.get(uid, (0, 0))[0],
            reserved=usage.get(uid, (0, 0))[1],
            role_limit=best_role(member_roles.get(uid, ()), tiers),
        )
        for uid in usage.keys() | grants.keys() | overrides.keys() | (roles or {}).keys()
        if user_id is None or uid == user_id
    }
    return everyone, found


async def status(
    db: Connection,
    guild_id: int,
    user_id: int,
    default: QuotaPolicy,
    now: datetime,
    roles: Collection[int] = (),
    tiers: Mapping[int, int] | None = None,
) -> QuotaStatus:
    return (await statuses(db, guild_id, default, now, user_id, {user_id: roles}, tiers))[user_id]


async def job_row(db: Connection, job_id: int) -> tuple[int, int, int, str, int, int] | None:
    """(guild_id, user_id, amount, state, created_at µs, charged) of a job, or None."""
    rows = list(
        await db.execute_fetchall(
            "SELECT guild_id, user_id, amount, state, created_at, charged FROM jobs WHERE id = ?", (job_id,)
        )
    )
    return tuple(rows[0]) if rows else None
