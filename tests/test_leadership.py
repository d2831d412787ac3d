"""Several processes on one database: one evaluates, the others hand it their reports with NOTIFY."""

from __future__ import annotations

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from ews.core.settings import Settings
from ews.engine.leadership import CHANNEL, ENGINE_LOCK_KEY, counties_payload, parse_counties_payload
from ews.web.app import create_app
from ews.web.appkeys import LEADERSHIP
from tests.helpers import eventually, send_report

KISUMU, NAKURU = 42, 32


def test_payload_round_trip_and_junk_ignored() -> None:
    assert counties_payload([47, 3, 17, 3]) == "3,17,47"
    assert parse_counties_payload("3,17,47") == [3, 17, 47]
    assert parse_counties_payload(" 5 ,x,0,48,-1,,12") == [5, 12]


async def _level(pool: asyncpg.Pool, county_code: int) -> int:
    level: int = await pool.fetchval("SELECT coalesce(max(level), 0) FROM engine_states WHERE county_code = $1",
                                     county_code)
    return level


async def test_reports_taken_by_a_follower_are_evaluated_by_the_leader(pool: asyncpg.Pool,
                                                                       settings: Settings) -> None:
    # No scheduled tick (eval_interval is an hour in tests): only the NOTIFY can get the follower's
    # reports evaluated in time.
    async with TestClient(TestServer(create_app(settings))) as first, \
            TestClient(TestServer(create_app(settings))) as second:
        leaders = [c for c in (first, second) if c.app[LEADERSHIP].leading]
        assert len(leaders) == 1, "exactly one process runs the engine"
        engines = sorted([(await (await c.get("/healthz")).json())["engine"] for c in (first, second)])
        assert engines == ["follower", "leader"]
        follower = second if leaders[0] is first else first
        for _ in range(2):
            await send_report(follower, "Vijana wamebeba mapanga Kisumu")
        await eventually(lambda: _is_at_least(pool, KISUMU, 1), timeout=5)


async def _is_at_least(pool: asyncpg.Pool, county_code: int, level: int) -> bool:
    return await _level(pool, county_code) >= level


async def test_a_follower_takes_over_when_the_leader_stops(pool: asyncpg.Pool, settings: Settings) -> None:
    quick = settings.replace(engine_retry_interval=0.2)
    one, two = TestClient(TestServer(create_app(quick))), TestClient(TestServer(create_app(quick)))
    await one.start_server()
    await two.start_server()
    try:
        leader, follower = (one, two) if one.app[LEADERSHIP].leading else (two, one)
        assert leader.app[LEADERSHIP].leading and not follower.app[LEADERSHIP].leading
        await leader.close()  # its session ends, and the advisory lock with it
        await eventually(lambda: _leads(follower), timeout=5)
        for _ in range(2):
            await send_report(follower, "Fujo Nakuru, watu wanapigana")
        await eventually(lambda: _is_at_least(pool, NAKURU, 1), timeout=5)
    finally:
        await one.close()
        await two.close()


async def _leads(client: TestClient) -> bool:
    return bool(client.app[LEADERSHIP].leading)


async def test_the_follower_announces_counties_on_the_channel(pool: asyncpg.Pool, settings: Settings) -> None:
    heard: list[str] = []
    async with pool.acquire() as listener:
        # This connection plays the leader: it takes the lock first, so the app below follows.
        assert await listener.fetchval("SELECT pg_try_advisory_lock($1)", ENGINE_LOCK_KEY)
        def hear(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            heard.append(str(payload))

        await listener.add_listener(CHANNEL, hear)
        try:
            async with TestClient(TestServer(create_app(settings))) as follower:
                assert not follower.app[LEADERSHIP].leading
                await send_report(follower, "Fujo Kisumu")
                await send_report(follower, "no place named here")
                await eventually(lambda: _heard(heard), timeout=5)
        finally:
            await listener.remove_listener(CHANNEL, hear)
            await listener.execute("SELECT pg_advisory_unlock_all()")
    assert str(KISUMU) in ",".join(heard).split(",")
    assert await _level(pool, KISUMU) == 0, "a follower does not evaluate on its own"


async def _heard(heard: list[str]) -> bool:
    return bool(heard)
