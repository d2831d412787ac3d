"""Phone numbers: normalise, hash with a key, encrypt, and scrub them from free text."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken

# Phone numbers as people write them: a bare run of 9-15 digits, an international number with
# separators (+254 712 345 678), or a local one (0712 345 678). Dates and times do not match.
_PHONE_LIKE = re.compile(
    r"(?<![\w+])(?:"
    r"\+?\d{9,15}"
    r"|(?:\+|00)\d{1,3}(?:[ \-.]?\(?\d{2,4}\)?){2,5}"
    r"|0\d{2,3}(?:[ \-.]\d{3,4}){2}"
    r")(?![\w])"
)
_TWO_DIGITS = re.compile(r"\d\d")
_E164 = re.compile(r"\+[1-9]\d{7,14}")
REDACTED = "[number removed]"


class InvalidPhone(ValueError):
    """A string that cannot be a phone number."""


def normalise_phone(raw: str, *, default_country: str = "254") -> str:
    """E.164 form of a number; Kenyan local forms (07.., 01.., 7..) get +254."""
    if _E164.fullmatch(raw) is not None:
        return raw  # how gateways send numbers: already canonical, so skip the rewriting below
    text = raw.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
    digits = re.sub(r"[\s\-.()]", "", text)
    if digits.startswith("+"):
        number = digits[1:]
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0"):
        number = default_country + digits[1:]
    elif len(digits) == 9 and digits[0] in "17":
        number = default_country + digits
    else:
        number = digits
    if not number.isdigit() or not 8 <= len(number) <= 15:
        raise InvalidPhone("not a phone number")
    return "+" + number


def sender_hash(key: str, address: str) -> str:
    """Keyed hash of an address: stable for dedup and trust, useless without the key."""
    try:
        canonical = normalise_phone(address)
    except InvalidPhone:
        canonical = address.strip().lower()  # short codes, channel ids: still hash, never store raw
    mac = _keyed_sha256(key).copy()  # the key schedule is computed once per key, not per report
    mac.update(canonical.encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=8)
def _keyed_sha256(key: str) -> hmac.HMAC:
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def redact_phones(text: str) -> str:
    """The text with anything that looks like a phone number replaced."""
    if _TWO_DIGITS.search(text) is None:
        return text  # every number the pattern knows has two digits in a row; most reports have none
    return _PHONE_LIKE.sub(REDACTED, text)


class ContactCipher:
    """Encrypts the phone numbers we must keep to send to (Fernet: AES-CBC with HMAC)."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def encrypt(self, phone: str) -> bytes:
        """Ciphertext of a phone number."""
        return self._fernet.encrypt(phone.encode())

    def decrypt(self, token: bytes) -> str:
        """The phone number back; ValueError if the key is wrong or the row was tampered with."""
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken as exc:
            raise ValueError("contact cannot be decrypted with EWS_CONTACT_KEY") from exc

    @staticmethod
    def new_key() -> str:
        """A fresh random key."""
        return Fernet.generate_key().decode()
