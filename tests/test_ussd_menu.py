"""The USSD menu as a pure function of AT's `text`: every screen fits, every option leads somewhere."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from ews.intake.menus import ussd_menu_data
from ingest.ussd_menu import MAX_ANSWERS, MAX_SCREEN, MAX_TEXT, MenuData, Option, Screen, screen_for, thanks

# Two counties with constituencies, so the optional step and its paging are walked too.
_BASE = ussd_menu_data()
DATA = MenuData(
    counties=_BASE.counties,
    constituencies={
        42: tuple(Option(code, name, name) for code, name in
                  ((229, "Kisumu East"), (230, "Kisumu West"), (231, "Kisumu Central"), (232, "Seme"),
                   (233, "Nyando"), (234, "Muhoroni"), (235, "Nyakach"))),
        47: tuple(Option(273 + i, f"Constituency number {i + 1} of Nairobi", f"Eneo bunge {i + 1}")
                  for i in range(17)),
    },
    incident_types=_BASE.incident_types,
    county_named=_BASE.county_named,
)


def numbers_on(screen: Screen) -> list[str]:
    """The choices a screen offers (the leading number of each line after the first)."""
    found = []
    for line in screen.text.split("\n")[1:]:
        head = line.split(" ", 1)[0]
        if head.isdigit():
            found.append(head)
    return found


def walk_everything(language_choice: str) -> dict[str, Screen]:
    """Every distinct screen reachable by choosing offered options (and a typed text), breadth first.

    A screen already expanded is not expanded again: the same screen offers the same options.
    """
    seen: dict[str, Screen] = {}
    expanded: set[str] = set()
    queue = deque([language_choice])
    while queue:
        path = queue.popleft()
        screen = screen_for(path, DATA)
        seen[path] = screen
        if screen.ends or screen.text in expanded:
            continue
        expanded.add(screen.text)
        answers = numbers_on(screen)
        if "Describe" in screen.text or "Eleza" in screen.text:
            answers = ["watu wanakusanyika", "1"]
        for answer in answers:
            following = f"{path}*{answer}"
            if following not in seen and answer != "0":
                queue.append(following)
    return seen


def test_every_reachable_screen_fits_starts_right_and_every_option_leads_somewhere() -> None:
    for language in ("1", "2"):
        screens = walk_everything(language)
        assert len({s.text for s in screens.values()}) > 15
        for path, screen in screens.items():
            rendered = screen.render() if not screen.submit else thanks("EWS-123456789", "sw")
            assert len(rendered) <= MAX_SCREEN, (path, rendered)
            assert rendered.startswith(("CON ", "END ")), path
            if not screen.ends:
                for answer in numbers_on(screen):
                    following = screen_for(f"{path}*{answer}", DATA)
                    assert "Chaguo si sahihi" not in following.text and "Not a valid" not in following.text, \
                        (path, answer, following.text)


def test_every_confirm_screen_fits_for_every_county_and_type() -> None:
    for language in ("1", "2"):
        for county in DATA.counties:
            for kind in DATA.incident_types:
                skip = "*98" if county.number in DATA.constituencies else ""
                screen = screen_for(f"{language}*{county.number}{skip}*{kind.number}*1*1", DATA)
                assert screen.text.startswith(("Tuma ripoti?", "Send the report?")), screen.text
                assert len(screen.render()) <= MAX_SCREEN, screen.text


def test_the_refusal_hint_still_fits_on_every_list_page() -> None:
    for path in ("1*99", "1*99*99", "1*99*99*99", "2*99*99*99", "1*42", "1*47*99", "2*1*99"):
        refused = screen_for(path + "*777", DATA)
        assert len(refused.render()) <= MAX_SCREEN, refused.render()
        assert refused.text.startswith(("Chaguo si sahihi.", "Not a valid choice.", "Kaunti haikupatikana."))


def test_a_whole_session_in_swahili_gives_the_structured_fields() -> None:
    assert screen_for("", DATA).render().startswith("CON Karibu")
    assert "Kaunti gani" in screen_for("1", DATA).text
    assert "Eneo bunge" in screen_for("1*42", DATA).text
    assert "Nini kimetokea" in screen_for("1*42*3", DATA).text  # Kisumu Central, the third listed
    assert "waliojeruhiwa" in screen_for("1*42*3*3", DATA).text
    confirm = screen_for("1*42*3*3*4*watu wamekusanyika na mapanga", DATA)
    assert "Kaunti: Kisumu" in confirm.text and "Tukio: Shambulio la silaha" in confirm.text
    sent = screen_for("1*42*3*3*4*watu wamekusanyika na mapanga*1", DATA)
    assert sent.ends and sent.submit is not None
    draft = sent.submit
    assert (draft.language, draft.county_code, draft.constituency_code, draft.incident_type_number,
            draft.casualties, draft.text) == ("sw", 42, 231, 3, 6, "watu wamekusanyika na mapanga")
    assert thanks("EWS-12", "sw").startswith("END Asante") and "EWS-12" in thanks("EWS-12", "sw")


def test_a_whole_session_in_english_by_county_name_and_skipping_the_optional_steps() -> None:
    assert "Which county" in screen_for("2", DATA).text
    # A county with no known constituencies goes straight to the incident type.
    assert "What happened" in screen_for("2*nakru", DATA).text
    sent = screen_for("2*nakru*1*5*1*1", DATA)
    assert sent.submit is not None
    assert (sent.submit.language, sent.submit.county_code, sent.submit.incident_type_number,
            sent.submit.casualties, sent.submit.text) == ("en", 32, 1, None, "")
    assert screen_for("2*42*98*2*1*1*1", DATA).submit is not None  # 98 skips the constituency
    assert screen_for("2*42*98*2*1*1*1", DATA).submit.constituency_code is None  # type: ignore[union-attr]


def test_zero_goes_back_one_screen_and_double_zero_to_the_start() -> None:
    assert screen_for("1*42*0", DATA).text == screen_for("1", DATA).text
    assert screen_for("1*99*99*0", DATA).text == screen_for("1*99", DATA).text
    assert screen_for("1*42*3*00", DATA).text == screen_for("", DATA).text
    assert screen_for("0", DATA).text == screen_for("", DATA).text  # nothing before the first screen
    # Back from the confirm screen to the text step; the new text replaces the old one.
    sent = screen_for("2*32*1*1*first text*0*second text*1", DATA)
    assert sent.submit is not None and sent.submit.text == "second text"


def test_a_star_inside_the_text_is_part_of_the_text() -> None:
    confirm = screen_for("2*32*1*1*vijana 40*wamebeba mapanga", DATA)
    assert not confirm.ends and "Send the report" in confirm.text
    sent = screen_for("2*32*1*1*vijana 40*wamebeba mapanga*1", DATA)
    assert sent.submit is not None and sent.submit.text == "vijana 40*wamebeba mapanga"
    # A 1 or 2 that is not the last answer cannot have been the confirm choice (the session would have ended).
    sent = screen_for("2*32*1*1*chumba 1*2*moto*1", DATA)
    assert sent.submit is not None and sent.submit.text == "chumba 1*2*moto"
    cancelled = screen_for("2*32*1*1*text*2", DATA)
    assert cancelled.ends and cancelled.cancelled and cancelled.submit is None


def test_invalid_choices_reprompt_with_a_hint_and_keep_the_place() -> None:
    assert screen_for("3", DATA).text.startswith("Chaguo si sahihi.\nKaribu")
    assert screen_for("1*Atlantis", DATA).text.startswith("Kaunti haikupatikana.")
    assert screen_for("2*48", DATA).text.startswith("County not found.")
    refused = screen_for("2*32*15", DATA)
    assert refused.text.startswith("Not a valid choice.\nWhat happened")
    # After a refusal the session goes on from the same screen.
    assert screen_for("2*32*15*1*1*1*1", DATA).submit is not None


def test_a_hostile_path_gets_a_clear_end_screen() -> None:
    too_long = screen_for("*".join(["1"] * (MAX_ANSWERS + 1)), DATA)
    assert too_long.ends and too_long.submit is None and len(too_long.render()) <= MAX_SCREEN
    sent = screen_for("2*32*1*1*" + "x" * 5000 + "*1", DATA)
    assert sent.submit is not None and len(sent.submit.text) == MAX_TEXT


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(["0", "00", "1", "2", "3", "42", "98", "99", "nakuru", ""]),
                          st.text(max_size=30)), max_size=MAX_ANSWERS + 3))
def test_any_path_gives_a_screen_that_fits(answers: list[str]) -> None:
    screen = screen_for("*".join(answers), DATA)
    rendered = screen.render() if not screen.submit else thanks("EWS-999999999", screen.submit.language)
    assert rendered.startswith(("CON ", "END "))
    # Typed text is never echoed, so a screen's length does not depend on what the reporter typed.
    assert len(rendered) <= MAX_SCREEN
    if screen.submit is not None:
        assert screen.submit.county_code is not None and screen.submit.incident_type_number is not None
