"""A registry of named factories: how channels and notifiers (built-in or extension) make themselves known."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from ews.core.settings import Settings

T = TypeVar("T")


class Registry(Generic[T]):
    """Factories by name; each builds one instance from the settings, or None when it is not configured."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._factories: dict[str, Callable[[Settings], T | None]] = {}

    def register(self, name: str, factory: Callable[[Settings], T | None]) -> None:
        """Make `name` available; registering a name twice is an error, not a silent override."""
        if name in self._factories:
            raise ValueError(f"{self._what} {name!r} is already registered")
        self._factories[name] = factory

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._factories)

    def build(self, name: str, settings: Settings) -> T | None:
        """The instance `name` makes from `settings` (None: not configured); ValueError for an unknown name."""
        try:
            factory = self._factories[name]
        except KeyError:
            raise ValueError(f"unknown {self._what} {name!r}; known: {', '.join(sorted(self._factories))}") from None
        return factory(settings)

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)
