"""The USSD reporting menu as a pure function of the answers so far (Africa's Talking sends them all each time).

AT's `text` joins every answer of the session with `*`, so the screen to show is decided by walking that
path from the first screen: no session table, and the same path always gives the same screen. The walk
keeps a stack of the screens passed, so `0` goes back one screen and `00` starts again.

Steps: language -> county (its official code or name typed, or picked from a paged list) -> constituency
(optional, paged, numbered 1..n within the county, `98` skips it; no screen where none are known) -> what
happened (the 14 types, shown with their fixed numbers) -> is anyone hurt -> a short text (optional) ->
confirm. Lists show fixed numbers (county codes,
type numbers) so that a number means the same on every page, and `99` turns the page, so that `0` stays
free for "back".

A `*` typed inside the free text cannot be told from AT's separator. The rule: from the text step on, every
answer belongs to the text except a last answer that is a choice of the confirm screen (`1` send, `2`
cancel) and a `0`, which goes back to the text step (so "back, then type again" works, and the new text
replaces the old). A text that itself ends in `*1` is therefore sent at once; one with `*0*` inside keeps
only what follows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ews.core.models import Language

MAX_SCREEN = 182  # characters a USSD screen may hold, "CON "/"END " included
MAX_ANSWERS = 40  # a longer path is no honest session (the menu needs at most about a dozen)
MAX_TEXT = 160  # characters of free text kept
NEXT_PAGE = "99"
SKIP = "98"
BACK = "0"
START = "00"
SEND = "1"
CANCEL = "2"


@dataclass(frozen=True, slots=True)
class Option:
    """One numbered choice of a list: the number the reporter types and its label in each language."""

    number: int
    label_en: str
    label_sw: str
    code: str = ""  # what the choice stands for where the number alone does not say (an incident type)

    def label(self, language: Language) -> str:
        """The label in the reporter's language."""
        return self.label_sw if language == "sw" else self.label_en


@dataclass(frozen=True, slots=True)
class MenuData:
    """What the menu offers, handed in by the composition root (ingest/ does not import rules/)."""

    counties: Sequence[Option]  # numbered by official county code
    constituencies: Mapping[int, Sequence[Option]]  # by county code; each Option.number its national code
    incident_types: Sequence[Option]  # numbered by the vocabulary's fixed type number
    county_named: Callable[[str], int | None]  # a typed county name -> its code, matched like SMS text


# Is anyone hurt: options and the casualties each stands for (the lower bound; None = not known).
_HURT: tuple[tuple[Option, int | None], ...] = (
    (Option(1, "No one", "Hakuna"), 0),
    (Option(2, "1 person", "Mtu 1"), 1),
    (Option(3, "2 to 5", "2 hadi 5"), 2),
    (Option(4, "More than 5", "Zaidi ya 5"), 6),
    (Option(5, "Don't know", "Sijui"), None),
)


@dataclass(frozen=True, slots=True)
class Draft:
    """What the reporter has chosen so far."""

    language: Language = "sw"
    county_code: int | None = None
    constituency_code: int | None = None
    incident_type_number: int | None = None
    casualties: int | None = None
    casualties_known: bool = False
    text: str = ""


Step = Literal["language", "county", "county_list", "constituency", "type", "hurt", "text", "confirm"]


@dataclass(frozen=True, slots=True)
class _At:
    """One screen of the walk: which step, which page of its list, and the draft on arrival."""

    step: Step
    draft: Draft
    page: int = 0


@dataclass(frozen=True, slots=True)
class Screen:
    """What to answer AT: a screen that continues (`CON`) or ends (`END`) the session.

    `submit` is set on the reporter's confirmation: the channel stores it and then answers `thanks`.
    """

    text: str
    ends: bool = False
    submit: Draft | None = None
    cancelled: bool = False

    def render(self) -> str:
        """The body AT expects: `CON ...` or `END ...`."""
        return ("END " if self.ends else "CON ") + self.text


@dataclass(slots=True)
class _Walk:
    data: MenuData
    stack: list[_At] = field(default_factory=list)
    hint: bool = False  # the last answer was not a valid choice: say so on the screen shown again


_WORDS: dict[str, dict[Language, str]] = {
    "welcome": {"sw": "Karibu. Ripoti tukio la usalama (ni siri).",
                "en": "Welcome. Report a security incident (confidential)."},
    "county": {"sw": "Kaunti gani? Andika jina au namba ya kaunti", "en": "Which county? Type its name or number"},
    "county_list": {"sw": "Chagua kaunti", "en": "Choose the county"},
    "list": {"sw": "Orodha", "en": "List"},
    "constituency": {"sw": "Eneo bunge (si lazima)", "en": "Constituency (optional)"},
    "skip": {"sw": "Ruka", "en": "Skip"},
    "type": {"sw": "Nini kimetokea?", "en": "What happened?"},
    "hurt": {"sw": "Kuna waliojeruhiwa au kuuawa?", "en": "Is anyone hurt or killed?"},
    "text": {"sw": "Eleza kwa ufupi (si lazima). Andika 1 kuruka", "en": "Describe briefly (optional). Type 1 to skip"},
    "confirm": {"sw": "Tuma ripoti?", "en": "Send the report?"},
    "send": {"sw": "Tuma", "en": "Send"},
    "cancel": {"sw": "Ghairi", "en": "Cancel"},
    "more": {"sw": "Zaidi", "en": "More"},
    "back": {"sw": "Rudi", "en": "Back"},
    "invalid": {"sw": "Chaguo si sahihi.", "en": "Not a valid choice."},
    "not_found": {"sw": "Kaunti haikupatikana.", "en": "County not found."},
    "cancelled": {"sw": "Ripoti haikutumwa. Piga tena wakati wowote.", "en": "Report not sent. Dial again any time."},
    "too_long": {"sw": "Kikao kimezidi. Tafadhali piga tena.", "en": "Session too long. Please dial again."},
    "thanks": {"sw": "Asante. Ripoti imepokelewa. Kumbukumbu {reference}. Ukiwa hatarini piga 999 au 112.",
               "en": "Thank you. Report received. Ref {reference}. If you are in danger call 999 or 112."},
    "county_label": {"sw": "Kaunti", "en": "County"},
    "type_label": {"sw": "Tukio", "en": "Incident"},
}


def _say(key: str, language: Language) -> str:
    return _WORDS[key][language]


def thanks(reference: str, language: Language) -> str:
    """The END screen once the report is stored: the reference, nothing of its content."""
    return Screen(_say("thanks", language).format(reference=reference), ends=True).render()


def screen_for(text: str, data: MenuData) -> Screen:
    """The screen to show after the answers in AT's `text` (empty on the session's first request)."""
    answers = text.split("*") if text else []
    if len(answers) > MAX_ANSWERS:
        return Screen(_say("too_long", "sw") + " / " + _say("too_long", "en"), ends=True)
    walk = _Walk(data, [_At("language", Draft())])
    for index, answer in enumerate(answers):
        last = index == len(answers) - 1
        outcome = _answer(walk, answer.strip(), last=last)
        if outcome is not None:
            return outcome
    return _show(walk)


def _answer(walk: _Walk, answer: str, *, last: bool) -> Screen | None:
    """Apply one answer to the walk; a Screen when it ends the session (sent or cancelled)."""
    at = walk.stack[-1]
    if answer == START:
        walk.stack[:] = walk.stack[:1]
        walk.hint = False
        return None
    if answer == BACK:
        if len(walk.stack) > 1:
            walk.stack.pop()
        walk.hint = False
        return None
    if at.step == "confirm" and last and answer in (SEND, CANCEL):
        if answer == CANCEL:
            return Screen(_say("cancelled", at.draft.language), ends=True, cancelled=True)
        return Screen("", ends=True, submit=at.draft)
    if at.step == "confirm":
        # Not a choice of this screen, or not the last answer: the free text had a `*` in it (see above).
        draft = replace(at.draft, text=(at.draft.text + "*" + answer)[:MAX_TEXT])
        walk.stack[-1] = replace(at, draft=draft)
        walk.hint = False
        return None
    following = _next(walk.data, at, answer)
    walk.hint = following is None
    if following is not None:
        walk.stack.append(following)
    return None


def _next(data: MenuData, at: _At, answer: str) -> _At | None:
    """The screen an answer leads to from `at`, or None when it is not a valid choice there."""
    draft = at.draft
    number = int(answer) if answer.isascii() and answer.isdigit() and len(answer) <= 3 else None
    if at.step == "language":
        languages: dict[int | None, Language] = {1: "sw", 2: "en"}
        if number not in languages:
            return None
        return _At("county", replace(draft, language=languages[number]))
    if at.step in ("county", "county_list"):
        if at.step == "county" and number == int(NEXT_PAGE):
            return _At("county_list", draft)
        if at.step == "county_list" and number == int(NEXT_PAGE):
            return _turn_page(at, _county_pages(data, draft.language))
        code = number if number is not None and any(o.number == number for o in data.counties) else None
        if code is None and number is None and at.step == "county":
            code = data.county_named(answer)
        if code is None:
            return None
        chosen = replace(draft, county_code=code)
        if data.constituencies.get(code):
            return _At("constituency", chosen)
        return _At("type", chosen)
    if at.step == "constituency":
        options = data.constituencies.get(draft.county_code or 0, ())
        if number == int(NEXT_PAGE):
            return _turn_page(at, _constituency_pages(data, draft))
        if number == int(SKIP):
            return _At("type", draft)
        if number is not None and 1 <= number <= len(options):
            return _At("type", replace(draft, constituency_code=options[number - 1].number))
        return None
    if at.step == "type":
        if number == int(NEXT_PAGE):
            return _turn_page(at, _type_pages(data, draft.language))
        if number is not None and any(o.number == number for o in data.incident_types):
            return _At("hurt", replace(draft, incident_type_number=number))
        return None
    if at.step == "hurt":
        for option, casualties in _HURT:
            if number == option.number:
                return _At("text", replace(draft, casualties=casualties, casualties_known=True))
        return None
    if at.step == "text":
        text = "" if answer == "1" else answer[:MAX_TEXT]
        return _At("confirm", replace(draft, text=text))
    return None


def _turn_page(at: _At, pages: Sequence[str]) -> _At | None:
    """The next page of the same list, or None (not valid) on the last page."""
    if at.page + 1 >= len(pages):
        return None
    return replace(at, page=at.page + 1)


def _show(walk: _Walk) -> Screen:
    """The screen of where the walk stands, with a hint when the last answer was refused."""
    at = walk.stack[-1]
    language = at.draft.language
    body = _body(walk.data, at)
    if walk.hint:
        hint = _say("not_found" if at.step == "county" else "invalid", language)
        body = f"{hint}\n{body}"
    return Screen(body)


def _body(data: MenuData, at: _At) -> str:
    language = at.draft.language
    if at.step == "language":
        return f"{_say('welcome', 'sw')}\n1 Kiswahili\n2 English"
    if at.step == "county":
        return f"{_say('county', language)}\n{NEXT_PAGE} {_say('list', language)}\n{BACK} {_say('back', language)}"
    if at.step == "county_list":
        return _county_pages(data, language)[at.page]
    if at.step == "constituency":
        return _constituency_pages(data, at.draft)[at.page]
    if at.step == "type":
        return _type_pages(data, language)[at.page]
    if at.step == "hurt":
        lines = [_say("hurt", language)] + [f"{o.number} {o.label(language)}" for o, _ in _HURT]
        return "\n".join([*lines, f"{BACK} {_say('back', language)}"])
    if at.step == "text":
        return f"{_say('text', language)}\n{BACK} {_say('back', language)}"
    return _confirm_body(data, at.draft)


def _confirm_body(data: MenuData, draft: Draft) -> str:
    language = draft.language
    county = next((o.label(language) for o in data.counties if o.number == draft.county_code), "")
    kind = next((o.label(language) for o in data.incident_types if o.number == draft.incident_type_number), "")
    lines = [_say("confirm", language), f"{_say('county_label', language)}: {county}",
             f"{_say('type_label', language)}: {kind}",
             f"{SEND} {_say('send', language)}", f"{CANCEL} {_say('cancel', language)}",
             f"{BACK} {_say('back', language)}"]
    return "\n".join(lines)


def _constituency_pages(data: MenuData, draft: Draft) -> list[str]:
    # Numbered by position: a constituency's national code (up to 290) means nothing to a reporter.
    options = data.constituencies.get(draft.county_code or 0, ())
    local = [Option(i, o.label_en, o.label_sw) for i, o in enumerate(options, 1)]
    return _list_pages(_say("constituency", draft.language), local, draft.language,
                       extra=f"{SKIP} {_say('skip', draft.language)}")


def _county_pages(data: MenuData, language: Language) -> list[str]:
    return _list_pages(_say("county_list", language), data.counties, language)


def _type_pages(data: MenuData, language: Language) -> list[str]:
    return _list_pages(_say("type", language), data.incident_types, language)


def _list_pages(title: str, options: Sequence[Option], language: Language, *, extra: str = "") -> list[str]:
    """A list split into screens that each fit MAX_SCREEN, with "99 More" on all but the last, "0 Back" on all.

    The budget leaves room for the hint line a refused answer adds above the screen.
    """
    budget = MAX_SCREEN - len("CON ") - len(_say("invalid", language)) - 1
    more = f"{NEXT_PAGE} {_say('more', language)}"
    back = f"{BACK} {_say('back', language)}"
    pages: list[str] = []
    lines = [title] + ([extra] if extra else [])
    for option in options:
        line = f"{option.number} {option.label(language)}"
        if len("\n".join([*lines, line, more, back])) > budget and len(lines) > 1:
            pages.append("\n".join([*lines, more, back]))
            lines = [title]
        lines.append(line)
    pages.append("\n".join([*lines, back]))
    return pages
