"""Durations as people write them in routing files and commands: "30s", "15m", "2h", "1d", "1h30m" (pure)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d{1,6})([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """A duration from "90s", "15m", "2h", "1d", "1h30m" (units s m h d w); ValueError saying what is wrong."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw or _PART.sub("", raw) != "":
        raise ValueError(f"duration {text!r} is not like 30s, 15m, 2h, 1d or 1h30m")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(raw))
    found = timedelta(seconds=seconds)
    if found > MAX:
        raise ValueError(f"duration {text!r} is over {MAX.days} days")
    return found


def format_duration(value: timedelta) -> str:
    """The shortest text parse_duration reads back as `value` ("1h30m", "0s")."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
