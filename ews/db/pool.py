"""The asyncpg connection pool."""

from __future__ import annotations

import asyncpg


async def create_pool(url: str, *, max_size: int) -> asyncpg.Pool:
    """A pool of connections to `url` with UTC sessions."""
    # force_custom_plan: asyncpg prepares every statement, and PostgreSQL would otherwise keep a generic
    # plan made while a table was empty (a full scan) long after it has grown. Our statements are few and
    # cheap to plan, so planning each execution costs little and never goes stale.
    # synchronous_commit on: a receipt, and a delivery marked sent, are answered only after their commit is
    # on disk. A database or role configured with it off would otherwise lose acknowledged rows in a crash.
    settings = {"timezone": "UTC", "plan_cache_mode": "force_custom_plan", "synchronous_commit": "on"}
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=1, max_size=max_size, server_settings=settings, command_timeout=30,
    )
    return pool


async def database_ok(pool: asyncpg.Pool, *, timeout: float = 2.0) -> bool:
    """Whether the database answers a trivial query within `timeout` seconds."""
    try:
        async with pool.acquire(timeout=timeout) as conn:
            return bool(await conn.fetchval("SELECT 1", timeout=timeout) == 1)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
