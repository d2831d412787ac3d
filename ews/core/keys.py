"""Keys for development: generate once into the data dir when the operator set none."""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from ews.core.privacy import ContactCipher
from ews.core.settings import Settings

log = logging.getLogger(__name__)


def with_keys(settings: Settings) -> Settings:
    """Settings with sender and contact keys filled from EWS_DATA_DIR/keys.json (created if missing)."""
    if settings.sender_key and settings.contact_key:
        return settings
    path = Path(settings.data_dir) / "keys.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    changed = False
    if "sender_key" not in stored:
        stored["sender_key"] = secrets.token_hex(32)
        changed = True
    if "contact_key" not in stored:
        stored["contact_key"] = ContactCipher.new_key()
        changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0600 from the start: the keys must never be readable by other users, even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
        log.warning("generated keys in %s; set EWS_SENDER_KEY and EWS_CONTACT_KEY in production", path)
    return settings.replace(
        sender_key=settings.sender_key or stored["sender_key"],
        contact_key=settings.contact_key or stored["contact_key"],
    )
