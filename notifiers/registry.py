"""Notifier kinds by name. Built-ins register exactly as an extension would: a module and one line here."""

from __future__ import annotations

from ews.core.registry import Registry
from ews.core.settings import Settings
from notifiers.africastalking_sms import AfricasTalkingSmsNotifier
from notifiers.base import Notifier
from notifiers.console import ConsoleNotifier
from notifiers.email import SECURITY_MODES, EmailNotifier
from notifiers.twilio_sms import STATUS_CALLBACK_PATH, TwilioSmsNotifier
from notifiers.webhook import WebhookNotifier, parse_secrets

NOTIFIERS: Registry[Notifier] = Registry("notifier")


def build_all(settings: Settings) -> list[Notifier]:
    """Every notifier EWS_NOTIFIERS names, in its order; call inside a running event loop."""
    built: list[Notifier] = []
    for kind in settings.notifier_kinds() or ["console"]:
        notifier = NOTIFIERS.build(kind, settings)  # ValueError names the known kinds
        if notifier is None:
            raise ValueError(f"EWS_NOTIFIERS names {kind!r}, which is not configured")
        built.append(notifier)
    return built


def _twilio(settings: Settings) -> Notifier:
    missing = [name for name, value in (("EWS_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                                         ("EWS_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
                                         ("EWS_TWILIO_FROM", settings.twilio_from)) if not value]
    if missing:
        raise ValueError(f"EWS_NOTIFIERS=twilio_sms needs {', '.join(missing)}")
    assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
    return TwilioSmsNotifier(account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
                             sender=settings.twilio_from, api_base=settings.twilio_api_base,
                             validity_seconds=settings.sms_validity, timeout=settings.send_timeout,
                             status_callback=(settings.public_url.rstrip("/") + STATUS_CALLBACK_PATH
                                              if settings.public_url else None))


NOTIFIERS.register(ConsoleNotifier.kind, lambda _settings: ConsoleNotifier())
NOTIFIERS.register(TwilioSmsNotifier.kind, _twilio)


def _africastalking(settings: Settings) -> Notifier:
    missing = [name for name, value in (("EWS_AT_USERNAME", settings.at_username),
                                         ("EWS_AT_API_KEY", settings.at_api_key)) if not value]
    if missing:
        raise ValueError(f"EWS_NOTIFIERS=africastalking_sms needs {', '.join(missing)}")
    assert settings.at_username and settings.at_api_key
    return AfricasTalkingSmsNotifier(username=settings.at_username, api_key=settings.at_api_key,
                                     sender=settings.at_sender, api_base=settings.at_api_base,
                                     timeout=settings.send_timeout, keyword=settings.at_keyword)


NOTIFIERS.register(AfricasTalkingSmsNotifier.kind, _africastalking)


def _email(settings: Settings) -> Notifier:
    missing = [name for name, value in (("EWS_SMTP_HOST", settings.smtp_host),
                                         ("EWS_SMTP_FROM", settings.smtp_from)) if not value]
    if missing:
        raise ValueError(f"EWS_NOTIFIERS=email needs {', '.join(missing)}")
    if settings.smtp_password and not settings.smtp_user:
        raise ValueError("EWS_SMTP_PASSWORD is set but EWS_SMTP_USER is not")
    security = settings.smtp_security.strip().lower()
    if security not in SECURITY_MODES:
        raise ValueError(f"EWS_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
    assert settings.smtp_host and settings.smtp_from
    return EmailNotifier(host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
                         security=security,  # narrowed to Security by the check above
                         username=settings.smtp_user, password=settings.smtp_password,
                         timeout=settings.send_timeout)


NOTIFIERS.register(EmailNotifier.kind, _email)


def _webhook(settings: Settings) -> Notifier:
    by_origin = parse_secrets(settings.webhook_secrets)  # ValueError names the setting and the form
    if not settings.webhook_secret and not by_origin:
        raise ValueError("EWS_NOTIFIERS=webhook needs EWS_WEBHOOK_SECRET or EWS_WEBHOOK_SECRETS")
    return WebhookNotifier(secret=settings.webhook_secret, secrets_by_origin=by_origin,
                           timeout=settings.send_timeout)


NOTIFIERS.register(WebhookNotifier.kind, _webhook)
