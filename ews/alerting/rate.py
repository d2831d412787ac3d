"""Per-sender send rate (pure, handed `now`): a token bucket per notifier, so a burst to many recipients goes
out at the provider's rate for one sender instead of being refused by it (Twilio queues or answers 20429/429
past it; PROVIDERS.md §3.8). One bucket per notifier, since each notifier sends from one sender."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. A send of cost c waits until c tokens are there."""

    rate: float
    burst: float
    tokens: float = -1.0  # -1: full, set on first use
    at: float | None = None  # the `now` tokens were last counted at

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError("rate must be above 0 (leave the notifier out of the limits for no limit)")
        if not self.burst >= 1:
            raise ValueError("burst must be at least 1")
        if self.tokens < 0:
            self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if self.at is not None and now > self.at:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        if self.at is None or now > self.at:
            self.at = now

    def wait(self, now: float, cost: float = 1.0) -> float:
        """Seconds until a send of `cost` may go (0: now); reserves nothing."""
        self._refill(now)
        cost = min(cost, self.burst)  # a message longer than the burst goes once the bucket is full
        return max(0.0, (cost - self.tokens) / self.rate)

    def take(self, now: float, cost: float = 1.0) -> float:
        """Reserve a send of `cost`; the seconds the caller must wait before sending it (0: now).

        Tokens may go below zero: each reservation queues behind the ones before it, so sends spread out at
        `rate` in the order they were reserved."""
        delay = self.wait(now, cost)
        self.tokens -= min(cost, self.burst)
        return delay


class SenderLimits:
    """The buckets of the rate-limited notifiers (kind -> sends or segments a second); others are unlimited."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        # A second's worth saved up, and at least one message: a quiet sender answers the first at once.
        self._buckets = {kind: TokenBucket(rate, max(1.0, rate)) for kind, rate in rates.items() if rate > 0}
        self._horizon: dict[str, float] = {}  # kind -> when the last send handed back for later is due

    def wait(self, kind: str, now: float, cost: float = 1.0) -> float:
        """Seconds until `kind` may send a message of `cost` (0: now, or not limited); reserves nothing."""
        bucket = self._buckets.get(kind)
        return bucket.wait(now, cost) if bucket else 0.0

    def take(self, kind: str, now: float, cost: float = 1.0) -> float:
        """Reserve a send through `kind`; the seconds to wait before it."""
        bucket = self._buckets.get(kind)
        return bucket.take(now, cost) if bucket else 0.0

    def later(self, kind: str, now: float, cost: float = 1.0) -> float:
        """Seconds from `now` a send handed back for later should be due: when the sender has room, and after
        the ones handed back before it, one `cost` at the rate apart, so they come back in turn, not all at once.
        Reserves nothing in the bucket (the send takes its tokens when it comes back)."""
        bucket = self._buckets.get(kind)
        if bucket is None:
            return 0.0
        due = max(now + bucket.wait(now, cost), self._horizon.get(kind, now) + min(cost, bucket.burst) / bucket.rate)
        self._horizon[kind] = due
        return due - now

    def limited(self, kind: str) -> bool:
        """Whether `kind` has a rate."""
        return kind in self._buckets
