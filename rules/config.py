"""Read escalation rules from the text of a rules file (TOML): the live engine's window-count rules.

To be replaced by rules file v2 (rules/rulebook.py, where window_count is one detector kind) when the live
engine switches over to rules.escalation.step; kept until then so the running service is unchanged.
"""

from __future__ import annotations

import tomllib
from datetime import timedelta
from typing import Any

from rules.window_count import WindowCountRule

_KINDS = {"window_count"}
_REQUIRED = ("name", "window_minutes", "watch", "warning", "alert")


class RulesError(ValueError):
    """The rules file is malformed; the message says where."""


def parse_rules(text: str) -> list[WindowCountRule]:
    """The rules defined in `text`; RulesError on anything malformed."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file is not valid TOML: {exc}") from exc
    entries = document.get("rule")
    if not isinstance(entries, list) or not entries:
        raise RulesError("rules file defines no [[rule]]")
    rules = [_rule(i, entry) for i, entry in enumerate(entries, start=1)]
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RulesError(f"rule names must be unique: {names}")
    return rules


def _rule(position: int, entry: dict[str, Any]) -> WindowCountRule:
    where = f"rule #{position}"
    kind = entry.get("kind", "window_count")
    if kind not in _KINDS:
        raise RulesError(f"{where}: unknown kind {kind!r}; known: {sorted(_KINDS)}")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise RulesError(f"{where}: missing {', '.join(missing)}")
    try:
        return WindowCountRule(
            name=str(entry["name"]),
            window=timedelta(minutes=_number(entry, "window_minutes")),
            watch=int(_number(entry, "watch")),
            warning=int(_number(entry, "warning")),
            alert=int(_number(entry, "alert")),
            hold_down=timedelta(minutes=_number(entry, "hold_down_minutes", default=30)),
            unit=entry.get("count", "senders"),
        )
    except ValueError as exc:
        raise RulesError(f"{where}: {exc}") from exc


def _number(entry: dict[str, Any], key: str, default: float | None = None) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)
