"""Phone numbers typed into report text are removed however they are written; other figures stay."""

from __future__ import annotations

import re

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from ews.core.privacy import REDACTED, redact_phones
from tests.helpers import placed, send_report

# (how it was written, the digits that must not survive) from reports and from how Kenyans write numbers.
SPELLINGS = [
    ("0711 000040", "711000040"),
    ("(0711) 000 022", "711000022"),
    ("07 11 00 00 22", "711000022"),
    ("0711 00 00 22", "711000022"),
    ("+254 (0) 711 000022", "711000022"),
    ("711 000 022", "711000022"),
    ("0712345678", "712345678"),
    ("0712 345 678", "712345678"),
    ("0712-345-678", "712345678"),
    ("0712.345.678", "712345678"),
    ("0712 345678", "712345678"),
    ("07123 45678", "712345678"),
    ("+254712345678", "712345678"),
    ("+254 712 345 678", "712345678"),
    ("+254-712-345-678", "712345678"),
    ("+254(0)722000111", "722000111"),
    ("(+254) 722 000 111", "722000111"),
    ("254712345678", "712345678"),
    ("254 722 000 111", "722000111"),
    ("00254712345678", "712345678"),
    ("712345678", "712345678"),
    ("07-22-00-01-11", "722000111"),
    ("0 7 2 2 0 0 0 1 1 1", "722000111"),
    ("+2547 1234 5678", "712345678"),
    ("0110 123 456", "110123456"),
    ("0110123456", "110123456"),
    ("+254 110 123 456", "110123456"),
    ("namba0712345678", "712345678"),
    ("piga0722000111sasa", "722000111"),
    ("tel:0722000111", "722000111"),
    ("020 2222222", "202222222"),
    ("020 222 2222", "202222222"),
    ("+254 20 2222222", "202222222"),
    ("041 2230000", "412230000"),
    ("+44 20 7946 0958", "2079460958"),
    ("+1 202 555 0143", "2025550143"),
    ("+255 754 123 456", "754123456"),
    ("+256 772 123456", "772123456"),
    ("0041 44 668 18 00", "446681800"),
    ("0722 000 111.", "722000111"),
]


@pytest.mark.parametrize(("written", "digits"), SPELLINGS)
def test_a_number_written_any_common_way_is_removed(written: str, digits: str) -> None:
    for text in (written, f"Kisumu fujo, nipigie {written} haraka", f"call {written}, they are coming"):
        scrubbed = redact_phones(text)
        assert REDACTED in scrubbed, text
        assert digits not in re.sub(r"\D", "", scrubbed), scrubbed


@pytest.mark.parametrize("text", [
    "vote on 12/10/2026 at 14:30",
    "tarehe 09/08/2027 saa 10:30",
    "on 2027-08-09 they burned the office",
    "paid KES 2,500 each",
    "walipewa 2500/= kila mmoja",
    "Ksh 25,000,000 for votes",
    "KES 150 000 000 was stolen",
    "sh. 120 000 000 zimepotea",
    "300 people gathered",
    "watu 300 wamekusanyika, 2 wamejeruhiwa",
    "1,200,000 voters in the county",
    "ward 0217 and 0218",
    "ACK 12",
    "NDIO 1234",
    "Ref EWS-4821",
    "since 2017 and 2022 elections",
    "ID 12345678 was taken",
    "polling station 012345",
    "20000 shillings",
    "3 killed, 14 injured, 40 houses burnt",
])
def test_figures_that_are_not_numbers_survive(text: str) -> None:
    assert redact_phones(text) == text


# Property: any Kenyan number, in any common spacing, embedded in words, loses every run of seven of its
# national digits.
_MOBILE = st.one_of(
    st.text("0123456789", min_size=8, max_size=8).map(lambda rest: "7" + rest),
    st.tuples(st.sampled_from("01"), st.text("0123456789", min_size=7, max_size=7)).map(
        lambda parts: "1" + parts[0] + parts[1]),
)
_AREAS = ["20", "40", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "55", "56", "57",
          "58", "59", "60", "61", "62", "64", "65", "66", "67", "68", "69"]
_LANDLINE = st.tuples(st.sampled_from(_AREAS), st.text("0123456789", min_size=7, max_size=7)).map("".join)
_GROUPINGS = [(3, 3, 3), (4, 3, 3), (2, 2, 2, 2, 2), (4, 6), (3, 6), (3, 7), (2, 3, 5), (10,), (1,) * 10]
_SEPARATORS = [" ", "-", ".", "", "  ", " - "]
_WORDS = ["Kisumu", "fujo", "watu", "wanapigana", "nipigie", "call", "me", "on", "namba", "yangu", "police",
          "sokoni", "leo", "saa", "asubuhi", "tafadhali", "help", "vijana"]


@st.composite
def written_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(a Kenyan number as someone might type it, its national significant digits)."""
    mobile = draw(st.booleans())
    nsn = draw(_MOBILE if mobile else _LANDLINE)
    prefixes = ["0", "+254", "254", "+254 (0)", "+254(0)", "(+254)", "00254", "+254 0"] + (["", "0"] if mobile else [])
    prefix = draw(st.sampled_from(prefixes))
    digits = nsn if prefix.endswith(("254", "(0)", "254)", " 0")) or prefix == "" else "0" + nsn
    groups = draw(st.sampled_from(_GROUPINGS))
    parts: list[str] = []
    position = 0
    for size in groups:
        if position < len(digits):
            parts.append(digits[position:position + size])
            position += size
    if position < len(digits):
        parts.append(digits[position:])
    if prefix == "0" and draw(st.booleans()):
        parts[0] = f"({parts[0]})"  # (0711) 000 022
    written = parts[0]
    for part in parts[1:]:
        written += draw(st.sampled_from(_SEPARATORS)) + part
    if prefix and prefix != "0":
        written = prefix + draw(st.sampled_from([" ", "-", ""])) + written
    return written, nsn


@settings(max_examples=400, deadline=None)
@given(number=written_numbers(), before=st.lists(st.sampled_from(_WORDS), max_size=4),
       after=st.lists(st.sampled_from(_WORDS), max_size=4), glue=st.sampled_from(["", " ", ": ", ", ", " ("]),
       tail=st.sampled_from(["", " ", ".", "!", ") ", "sasa"]))
def test_no_generated_kenyan_number_survives(number: tuple[str, str], before: list[str], after: list[str],
                                             glue: str, tail: str) -> None:
    written, nsn = number
    text = " ".join(before) + glue + written + tail + " ".join(after)
    left = re.sub(r"\D", "", redact_phones(text))
    runs = {nsn[i:i + 7] for i in range(len(nsn) - 6)}
    assert [run for run in runs if run in left] == [], (text, redact_phones(text))


async def test_the_senders_own_number_in_the_text_is_neither_stored_nor_served(
        client: TestClient, pool: asyncpg.Pool) -> None:
    sender = "+254711000022"
    for spelling in ("(0711) 000 022", "07 11 00 00 22", "+254 (0) 711 000022", "711 000 022"):
        await send_report(client, f"Kisumu: vijana wanapigana sokoni, nipigie {spelling}", sender=sender)
    bodies = [row["body"] for row in await pool.fetch("SELECT body FROM reports")]
    assert len(bodies) == 4
    assert all(REDACTED in body and "711000022" not in re.sub(r"\D", "", body) for body in bodies), bodies
    await placed(pool)  # until its text is read, a report is hidden as sensitive
    response = await client.get("/api/v1/reports")
    assert response.status == 200
    served = [report["body"] for report in (await response.json())["reports"]]
    assert sorted(served) == sorted(bodies)
    assert "711000022" not in re.sub(r"\D", "", await response.text())
