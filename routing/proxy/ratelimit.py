"""Rate limits: a sliding window counter, in Redis when REDIS_URL is set, else in this process's memory.

Each limit keeps (window start, count in this window, count in the previous window). A call is allowed when
  previous × (time left in the window / window) + current < limit
which weighs the previous window by how much of it still overlaps the sliding window, so there is no 2×
burst at window edges. One call may face several limits (the route's in its environment, the API key's);
all are checked and, only when every one allows it, all are incremented, atomically: a refused call
counts against nothing.

Redis: one Lua script (registered once, EVALSHA) per call, so one round trip; the script reads the clock
with TIME so processes on different hosts agree; every counter key gets a TTL of two windows. When Redis
cannot be reached the limiter fails open: calls pass without X-RateLimit headers, `stats.redis_failures`
counts them, a warning is logged at most every LOG_EVERY seconds, and Redis is retried after
RETRY_SECONDS, so limiting resumes by itself.
"""

import asyncio
import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # after a Redis failure, skip Redis (fail open) this long before trying again
LOG_EVERY = 30.0  # seconds between "Redis unavailable" warnings


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # counter name, e.g. "route:<id>:<environment>" or "key:<id>"
    limit: int  # calls allowed per window (requests + burst)
    window: int  # seconds


class Verdict(NamedTuple):
    """One limit's answer to a call (a named tuple: one is made per limit and call)."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix time at which the current window ends
    retry_after: int  # seconds; meaningful when refused

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return headers


class Stats:
    redis_failures = 0  # calls let through unchecked because Redis was unreachable
    last_warning = 0.0


stats = Stats()


# --- The algorithm (memory backend; the Lua script below is the same arithmetic) ---------------------------


def roll(state: list[float], now: float, window: int) -> float:
    """Move `state` [start, current, previous] to the window holding `now`; return the elapsed part."""
    start = math.floor(now / window) * window
    if state[0] != start:
        state[2] = state[1] if state[0] == start - window else 0
        state[1] = 0
        state[0] = start
    return now - start


def decide(state: list[float], limit: int, window: int, elapsed: float) -> Verdict:
    """One limit's verdict: allowed, remaining after this call, window end, seconds until a call passes."""
    start, current, previous = state
    estimate = previous * (window - elapsed) / window + current
    if estimate < limit:
        return Verdict(True, limit, max(0, math.floor(limit - estimate - 1)), int(start + window), 1)
    if current >= limit:  # wait into the next window until this window's weight has faded enough
        retry = (window - elapsed) + window * (1 - limit / current) if current else window - elapsed
    else:  # the previous window's share must fade
        retry = (window - (limit - current) * window / previous) - elapsed
    return Verdict(False, limit, 0, int(start + window), max(1, math.ceil(retry)))


def _pick(verdicts: list[Verdict]) -> Verdict:
    """The verdict to report: the refusal lasting longest, else the limit closest to refusing."""
    refused = [verdict for verdict in verdicts if not verdict.allowed]
    if refused:
        return max(refused, key=lambda verdict: verdict.retry_after)
    return min(verdicts, key=lambda verdict: verdict.remaining)


class MemoryLimiter:
    """Counters in this process: exact for one process (the embedded default); the event loop serialises."""

    def __init__(self) -> None:
        self._state: dict[str, list[float]] = {}
        self._checks = 0

    async def check(self, limits: list[Limit]) -> Verdict:
        now = time.time()
        states = [self._state.setdefault(limit.name, [0.0, 0.0, 0.0]) for limit in limits]
        verdicts = [
            decide(state, limit.limit, limit.window, roll(state, now, limit.window))
            for state, limit in zip(states, limits, strict=True)
        ]
        if all(verdict.allowed for verdict in verdicts):
            for state in states:
                state[1] += 1
        self._prune(now, limits)
        return _pick(verdicts)

    def _prune(self, now: float, limits: list[Limit]) -> None:
        """Forget counters idle for two windows now and then, so memory stays bounded (the TTL's role)."""
        self._checks += 1
        if self._checks % 10_000 or len(self._state) < 10_000:
            return
        longest = max(limit.window for limit in limits)
        for name, state in list(self._state.items()):
            if state[0] + 2 * max(longest, 3600) < now:
                del self._state[name]


# KEYS: one hash per limit. ARGV: limit1, window1, limit2, window2, ...
# Returns {allowed, then per limit: allowed, remaining, reset, retry_after}.
SLIDING_WINDOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = #KEYS
local states, results = {}, {}
local all_allowed = 1
for i = 1, n do
  local limit, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local raw = redis.call('HMGET', KEYS[i], 's', 'c', 'p')
  local s, c, p = tonumber(raw[1]) or 0, tonumber(raw[2]) or 0, tonumber(raw[3]) or 0
  local start = math.floor(now / window) * window
  if s ~= start then
    if s == start - window then p = c else p = 0 end
    c = 0
    s = start
  end
  local elapsed = now - start
  local estimate = p * (window - elapsed) / window + c
  local allowed, remaining, retry = 1, math.max(0, math.floor(limit - estimate - 1)), 0
  if estimate >= limit then
    allowed, remaining, all_allowed = 0, 0, 0
    if c >= limit then
      retry = (window - elapsed) + window * (1 - limit / c)
    else
      retry = (window - (limit - c) * window / p) - elapsed
    end
  end
  states[i] = {s, c, p, window}
  results[i] = {allowed, remaining, start + window, math.max(1, math.ceil(retry))}
end
local out = {all_allowed}
for i = 1, n do
  local s, c, p, window = states[i][1], states[i][2], states[i][3], states[i][4]
  if all_allowed == 1 then c = c + 1 end
  redis.call('HSET', KEYS[i], 's', s, 'c', c, 'p', p)
  redis.call('EXPIRE', KEYS[i], 2 * window + 1)
  for j = 1, 4 do out[#out + 1] = results[i][j] end
end
return out
"""


class RedisLimiter:
    """Counters shared by every gateway process through Redis; fails open when Redis is unreachable."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as redis
        from redis.exceptions import NoScriptError

        self._errors = (redis.RedisError, OSError, asyncio.TimeoutError)
        self._no_script = NoScriptError
        self._connection_errors = (redis.ConnectionError, redis.TimeoutError, OSError, asyncio.TimeoutError)
        # redis-py makes the connections (the URL's host, database, password, TLS), but they are held here, a
        # few of them: a script call takes microseconds, and a storm of callers must not become a storm of
        # Redis connections. Not in its pool: checking a connection out and in, and its command layers, cost
        # about 60 of the 117 µs of CPU a check took (a storm of 20,000 checks, 32 callers, 8 connections).
        self._factory = redis.ConnectionPool.from_url(
            url, socket_connect_timeout=settings.RATE_LIMIT_REDIS_TIMEOUT
        )
        self._idle: list = []
        # Calls queue here for a connection, first come first served, and wait no longer than the timeout
        # (redis-py's BlockingConnectionPool let a newcomer take a connection before the waiter it was
        # released to: with 32 callers on 8 connections, a quarter of the checks waited out the 2 s timeout
        # and passed unchecked).
        self._turns = asyncio.Semaphore(settings.RATE_LIMIT_REDIS_MAX_CONNECTIONS)
        self._sha = hashlib.sha1(SLIDING_WINDOW_LUA.encode()).hexdigest()
        self._prefix = prefix
        self._down_until = 0.0
        self._probing = False
        self._warming: asyncio.Task | None = None

    async def _warm_pool(self) -> None:
        """Open every connection at once, so a burst of calls never waits for connections to be made."""
        made = [self._factory.make_connection() for _ in range(settings.RATE_LIMIT_REDIS_MAX_CONNECTIONS)]
        try:
            async with asyncio.timeout(settings.RATE_LIMIT_REDIS_TIMEOUT):
                await asyncio.gather(*(conn.connect() for conn in made))
        except self._errors as exc:
            log.info("could not open the rate limiter's Redis connections yet: %s", exc)
            for conn in made:
                await conn.disconnect(nowait=True)
            return
        for conn in made:
            self._put_back(conn)

    def _put_back(self, conn) -> None:
        if len(self._idle) < settings.RATE_LIMIT_REDIS_MAX_CONNECTIONS:
            self._idle.append(conn)
        else:
            asyncio.ensure_future(conn.disconnect(nowait=True))

    async def _evalsha(self, keys: list[str], args: list[int]) -> list:
        """One script call on a connection of ours. A connection whose exchange did not end cleanly (an
        error, a timeout, a cancelled call) is closed, never reused; after a connection error every idle one
        goes too (a restarted Redis left them all dead), so the next call connects afresh."""
        conn = self._idle.pop() if self._idle else self._factory.make_connection()
        try:
            async with asyncio.timeout(settings.RATE_LIMIT_REDIS_TIMEOUT):
                await conn.send_command("EVALSHA", self._sha, len(keys), *keys, *args)
                try:
                    raw = await conn.read_response()
                except self._no_script:  # a new or flushed Redis: load the script once, then call it again
                    await conn.send_command("SCRIPT", "LOAD", SLIDING_WINDOW_LUA)
                    await conn.read_response()
                    await conn.send_command("EVALSHA", self._sha, len(keys), *keys, *args)
                    raw = await conn.read_response()
        except BaseException as exc:
            await conn.disconnect(nowait=True)
            if isinstance(exc, self._connection_errors):
                while self._idle:
                    await self._idle.pop().disconnect(nowait=True)
            raise
        self._put_back(conn)
        return raw

    async def check(self, limits: list[Limit]) -> Verdict | None:
        if self._down_until:
            # Redis failed lately: until RETRY_SECONDS pass, and while one call probes it, fail open at once.
            if self._probing or self._down_until > time.monotonic():
                return self._failed_open(None)
            self._probing = True
        if self._warming is None:
            self._warming = asyncio.create_task(self._warm_pool())
        keys = [self._prefix + limit.name for limit in limits]
        args = [value for limit in limits for value in (limit.limit, limit.window)]
        try:
            await self._take_turn()
            try:
                raw = await self._evalsha(keys, args)
            finally:
                self._turns.release()
        except self._errors as exc:
            self._down_until = time.monotonic() + RETRY_SECONDS
            return self._failed_open(exc)
        finally:
            self._probing = False
        self._down_until = 0.0
        answers = [raw[1 + 4 * i : 5 + 4 * i] for i in range(len(limits))]
        return _pick(
            [
                Verdict(bool(allowed), limit.limit, int(remaining), int(reset), int(retry))
                for (allowed, remaining, reset, retry), limit in zip(answers, limits, strict=True)
            ]
        )

    async def _take_turn(self) -> None:
        """A connection's turn, waited for no longer than the Redis timeout (then the call fails open)."""
        if not self._turns.locked():
            await self._turns.acquire()  # free now: no timer to set up
            return
        async with asyncio.timeout(settings.RATE_LIMIT_REDIS_TIMEOUT):
            await self._turns.acquire()

    def _failed_open(self, exc: Exception | None) -> None:
        stats.redis_failures += 1
        now = time.monotonic()
        if now - stats.last_warning >= LOG_EVERY:
            stats.last_warning = now
            log.warning(
                "rate limiting is failing open: Redis unreachable (%s); %d calls passed unchecked so far",
                exc or "retrying shortly",
                stats.redis_failures,
            )
        return None


# --- Choosing the backend and the limits of a call ----------------------------------------------------------

_limiters: dict[tuple[int, str], MemoryLimiter | RedisLimiter] = {}


def get_limiter() -> MemoryLimiter | RedisLimiter:
    """This event loop's limiter for the configured backend (a Redis client belongs to one loop)."""
    url = settings.REDIS_URL
    slot = (id(asyncio.get_running_loop()), url)
    limiter = _limiters.get(slot)
    if limiter is None:
        limiter = RedisLimiter(url, settings.RATE_LIMIT_KEY_PREFIX) if url else MemoryLimiter()
        _limiters[slot] = limiter
    return limiter


MEMO_BOUND = 10_000  # API key ids remembered per route object; keys come and go, the table's calls refill it


def limits_for(route, key) -> list[Limit]:
    """The route's limit in its environment (effective config) and the API key's own, when set.

    Worked out once per route object and key object (both belong to a route table; a new table's are new
    objects) and kept on the route object, so it goes with its table. A release's candidate is an object of
    its own with its own memo, so calls alternating between the sides recompute nothing; its limits are the
    stable side's (a candidate sets no rate-limit field, and counts under the same route and environment),
    and the proxy checks them before it picks a side anyway (split.choose_side)."""
    memo = route.limits_by_key
    key_id = key.id if key is not None else ""
    cached = memo.get(key_id)
    if cached is not None and cached[0] is key:  # the memo holds `key`, so its identity cannot be reused
        return cached[1]
    limits = _work_out_limits(route, key)
    if len(memo) >= MEMO_BOUND:
        memo.clear()
    memo[key_id] = (key, limits)
    return limits


def _work_out_limits(route, key) -> list[Limit]:
    limits = []
    config = route.config
    if config["rate_limit_enabled"]:
        allowance = config["rate_limit_requests"] + (config["rate_limit_burst"] or 0)
        name = f"route:{route.route_id}:{route.environment}"
        limits.append(Limit(name, allowance, config["rate_limit_window_sec"]))
    if key is not None and key.rate_limit_requests:
        limits.append(Limit(f"key:{key.id}", key.rate_limit_requests, key.rate_limit_window_sec or 60))
    return limits


async def check_limits(route, key) -> Verdict | None:
    """None when no limit applies (or Redis is failing open); otherwise the verdict to enforce and report."""
    limits = limits_for(route, key)
    if not limits:
        return None
    return await get_limiter().check(limits)
