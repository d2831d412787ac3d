"""Phone numbers: normalise, hash with a key, encrypt, and scrub them from free text."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken
from phonenumbers import Leniency, NumberParseException, PhoneNumberFormat, PhoneNumberMatcher

REDACTED = "[number removed]"

# Numbers in text are found in two passes. First phonenumbers' matcher with region KE at leniency VALID:
# the number must fit the numbering plan of its country (Kenya's for local forms), which keeps dates
# such as 2027-08-09 and 8-digit figures that POSSIBLE (length only) takes for numbers; STRICT_GROUPING
# and stricter refuse the spacings Kenyans actually write (07 11 00 00 22, 0712-345-678).
_REGION = "KE"
_LENIENCY = Leniency.VALID

# Then a pass for what the matcher leaves: a number glued to a word (namba0712345678, which VALID refuses
# by design), nine digits without the trunk 0 (711 000 022), 00254..., prefixes the plan does not know
# yet, and any other +number (or 00number) the plan calls invalid. Between any two digits it allows up
# to three spaces, dots or dashes around at most one bracket, so (0711) - 000 022, +254 (0) 711 000022
# and 0 7 1 1 ... match; commas, slashes and colons are no separators, so money (2,500), dates
# (12/10/2026) and times (14:30) never join into a number. The separator is atomic: it is never a digit,
# so its longest form is always right, and a text of near-numbers cannot make the pattern try every way
# of splitting its separators.
_SEP = r"(?>[ \t\u00a0.\-–]{0,3}[()]?[ \t\u00a0.\-–]{0,3})"
_TRUNK = r"(?:\(?(?:\+|00)?254" + _SEP + r"(?:0" + _SEP + r")?|\(?0" + _SEP + r")"
_KENYAN = re.compile(
    # A mobile number (7xx, 1xx) with or without its prefix, or a landline (020, 041, 057...) with one:
    # nine bare digits starting 2-6 are more often a sum or a count than a number.
    r"(?<!\d)(?:" + _TRUNK + r"?[17]|" + _TRUNK + r"[2-6])(?:" + _SEP + r"\d){8}(?!\d)"
)
_INTERNATIONAL = re.compile(r"(?<!\d)(?:\+|00)[1-9](?:" + _SEP + r"\d){7,14}(?!\d)")
# Nine bare digits are also how people space large sums (KES 150 000 000): kept after a currency.
_MONEY_BEFORE = re.compile(r"(?:\b(?:kes|kshs?|shs?|usd)\.?|\$)\s*$", re.IGNORECASE)
_MONEY_AFTER = re.compile(r"\s*(?:/=|/-)")
# Every number either pass finds has at least six digits (no country's plan allows fewer with its
# country code: Austria's +43 and four digits is the shortest); most reports have fewer, and then
# neither pass needs to run.
_SIX_DIGITS = re.compile(r"\d(?:\D*\d){5}")

_E164 = re.compile(r"\+[1-9]\d{7,14}")
_PHONE_CHARS = re.compile(r"\+?[\d\s\-.()]+")


class InvalidPhone(ValueError):
    """A string that cannot be a phone number."""


def normalise_phone(raw: str, *, default_country: str = "254") -> str:
    """E.164 form of a number; Kenyan local forms (07.., 01.., 7..) get +254; InvalidPhone if not a number."""
    if _E164.fullmatch(raw) is not None:
        return raw  # how gateways send numbers: already canonical, and stored hashes were made from it
    text = raw.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):].strip()
    if _PHONE_CHARS.fullmatch(text) is None:
        raise InvalidPhone("not a phone number")  # phonenumbers would read letters as a keypad's (vanity numbers)
    if text.startswith("00"):
        text = "+" + text[2:]  # the international prefix most of the world dials (Kenya's own is 000)
    region = phonenumbers.region_code_for_country_code(int(default_country))
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    # Possible (the right length for its country), not valid: an operator's newly opened prefix is
    # still somebody's number before the library's metadata knows it.
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone("not a phone number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


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
    """The text with every phone number in it replaced by REDACTED."""
    if _SIX_DIGITS.search(text) is None:
        return text
    return _redact(text)


def _redact(text: str) -> str:
    pieces: list[str] = []
    end = 0
    for match in PhoneNumberMatcher(text, _REGION, leniency=_LENIENCY):
        pieces += [text[end:match.start], REDACTED]
        end = match.end
    pieces.append(text[end:])
    # The matcher's finds are gone before the second pass, so it cannot join them to a nearby figure.
    text = _KENYAN.sub(_unless_money, "".join(pieces))
    return _INTERNATIONAL.sub(REDACTED, text)


def _unless_money(match: re.Match[str]) -> str:
    if match.group()[0] in "17":  # nine bare digits: the one form a sum of money also takes
        before, after = match.string[max(0, match.start() - 8):match.start()], match.string[match.end():]
        if _MONEY_BEFORE.search(before) or _MONEY_AFTER.match(after):
            return match.group()
    return REDACTED


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
