"""Notifier kinds by name. Built-ins register exactly as an extension would."""

from __future__ import annotations

from collections.abc import Callable

from ews.core.settings import Settings
from notifiers.base import Notifier
from notifiers.console import ConsoleNotifier
from notifiers.twilio_sms import TwilioSmsNotifier

NotifierFactory = Callable[[Settings], Notifier]

_FACTORIES: dict[str, NotifierFactory] = {}


def register(kind: str, factory: NotifierFactory) -> None:
    """Make a notifier kind available to EWS_NOTIFIERS."""
    if kind in _FACTORIES:
        raise ValueError(f"notifier {kind!r} is already registered")
    _FACTORIES[kind] = factory


def build(settings: Settings) -> Notifier:
    """The notifier EWS_NOTIFIERS names first; call inside a running event loop."""
    kind = (settings.notifier_kinds() or ["console"])[0]
    try:
        factory = _FACTORIES[kind]
    except KeyError:
        raise ValueError(f"EWS_NOTIFIERS names {kind!r}; known: {sorted(_FACTORIES)}") from None
    return factory(settings)


def _twilio(settings: Settings) -> Notifier:
    missing = [name for name, value in (("EWS_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                                         ("EWS_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
                                         ("EWS_TWILIO_FROM", settings.twilio_from)) if not value]
    if missing:
        raise ValueError(f"EWS_NOTIFIERS=twilio_sms needs {', '.join(missing)}")
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
    return TwilioSmsNotifier(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                             sender=settings.twilio_from, api_base=settings.twilio_api_base,
                             validity_seconds=settings.sms_validity, timeout=settings.send_timeout)


register(ConsoleNotifier.kind, lambda _settings: ConsoleNotifier())
register(TwilioSmsNotifier.kind, _twilio)
