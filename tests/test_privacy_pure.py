"""Phone numbers: normalising, keyed hashing and scrubbing from text (pure functions)."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from ews.core.privacy import REDACTED, InvalidPhone, _redact, normalise_phone, redact_phones, sender_hash

KEY = "test-sender-key-" + "9" * 24


@pytest.mark.parametrize(("raw", "e164"), [
    ("+254712345678", "+254712345678"),
    ("0712 345 678", "+254712345678"),
    ("0712-345-678", "+254712345678"),
    ("712345678", "+254712345678"),
    ("00254712345678", "+254712345678"),
    ("whatsapp:+254712345678", "+254712345678"),
    ("tel:+44 20 7946 0958", "+442079460958"),
    ("0110 123 456", "+254110123456"),
    ("+254 (0) 712 345 678", "+254712345678"),
    ("(0712) 345-678", "+254712345678"),
    ("0041 44 668 18 00", "+41446681800"),
])
def test_numbers_normalise_to_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "hello", "+12", "+2547123456789012345", "07x2345678",
                                 "0712 ABC DEF", "tel:0800-FLOWERS"])  # letters are not read as a keypad's
def test_non_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_one_person_hashes_the_same_however_the_number_is_written() -> None:
    spellings = ["+254712345678", "0712345678", "0712 345 678", "whatsapp:+254712345678", "254712345678"[3:]]
    expected = hmac.new(KEY.encode(), b"+254712345678", hashlib.sha256).hexdigest()
    assert {sender_hash(KEY, s) for s in spellings} == {expected}
    assert sender_hash("another-key-" + "1" * 28, "+254712345678") != expected  # useless without the key


def test_addresses_that_are_not_numbers_are_still_hashed_not_kept() -> None:
    assert sender_hash(KEY, " ShortCode ") == hmac.new(KEY.encode(), b"shortcode", hashlib.sha256).hexdigest()
    assert "Short" not in sender_hash(KEY, "ShortCode")


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("call me on 0712345678 now", f"call me on {REDACTED} now"),
    ("my number +254 712 345 678.", f"my number {REDACTED}."),
    ("namba yangu ni 0712 345 678", f"namba yangu ni {REDACTED}"),
    ("+44 20 7946 0958 saw it", f"{REDACTED} saw it"),
    ("254712345678", REDACTED),
    ("vote on 09/08/2027 at 10:30, 2 groups, 300 youths", "vote on 09/08/2027 at 10:30, 2 groups, 300 youths"),
    ("no digits at all", "no digits at all"),
])
def test_numbers_typed_in_text_are_scrubbed_and_dates_kept(text: str, scrubbed: str) -> None:
    assert redact_phones(text) == scrubbed


def test_the_six_digits_shortcut_never_changes_the_answer() -> None:
    # redact_phones skips both passes when the text has fewer than six digits; over random texts built
    # from digits, separators and letters it must agree with running them every time.
    rng = random.Random(2027)
    alphabet = "0123456789 +-.()abc"
    for _ in range(3_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert redact_phones(text) == _redact(text), text
