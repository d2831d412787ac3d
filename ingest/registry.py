"""The channels the service mounts. Built-ins register exactly as an extension would."""

from __future__ import annotations

from collections.abc import Callable

from ews.core.settings import Settings
from ingest.base import Ingester
from ingest.twilio_sms import TwilioSms

IngesterFactory = Callable[[Settings], Ingester]

_FACTORIES: dict[str, IngesterFactory] = {}


def register(name: str, factory: IngesterFactory) -> None:
    """Make a channel available under `name`."""
    if name in _FACTORIES:
        raise ValueError(f"ingester {name!r} is already registered")
    _FACTORIES[name] = factory


def build_all(settings: Settings) -> list[Ingester]:
    """One instance of every registered channel."""
    return [factory(settings) for factory in _FACTORIES.values()]


register(TwilioSms.name, lambda s: TwilioSms(auth_token=s.twilio_auth_token, public_url=s.signing_url))
