"""Tests for rules.gazetteer: the county table and the free-text county matcher."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import pytest

from rules.gazetteer import COUNTIES, County, _within, county_by_code, find_county

# The shared data folder sits beside the repository (in CI too: shared/ is copied next to the clone).
_REPO = Path(__file__).resolve().parents[1]
_COUNTIES_CSV_CANDIDATES = (
    _REPO.parent / "shared" / "data" / "kenya_counties.csv",
    Path("/work/shared/data/kenya_counties.csv"),
)

_NAMES = [county.name for county in COUNTIES]


def _named(name: str) -> County:
    """The county with this official name (test helper)."""
    return next(county for county in COUNTIES if county.name == name)


# --- the table ---------------------------------------------------------------------------------


def test_there_are_47_counties_with_codes_1_to_47_in_order() -> None:
    assert len(COUNTIES) == 47
    assert [county.code for county in COUNTIES] == list(range(1, 48))
    assert len(set(_NAMES)) == 47


def test_names_match_official_csv() -> None:
    path = next((p for p in _COUNTIES_CSV_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.skip("shared/data/kenya_counties.csv is not available here")
    with path.open(newline="", encoding="utf-8") as handle:
        official = {int(row["county_code"]): row["county_name"] for row in csv.DictReader(handle)}
    assert {county.code: county.name for county in COUNTIES} == official


@pytest.mark.parametrize(
    ("code", "name"),
    [(1, "Mombasa"), (21, "Murang'a"), (28, "Elgeyo-Marakwet"), (43, "Homa Bay"), (47, "Nairobi")],
)
def test_county_by_code_known(code: int, name: str) -> None:
    assert county_by_code(code) == County(code, name)


@pytest.mark.parametrize("county", COUNTIES, ids=_NAMES)
def test_county_by_code_round_trips(county: County) -> None:
    assert county_by_code(county.code) is county


@pytest.mark.parametrize("code", [0, 48, -1, 100, True, "1", 1.0, None])
def test_county_by_code_rejects_unknown(code: Any) -> None:
    with pytest.raises(KeyError):
        county_by_code(code)


def test_county_is_immutable() -> None:
    with pytest.raises(AttributeError):
        COUNTIES[0].name = "Mvita"  # type: ignore[misc]


# --- exact names -------------------------------------------------------------------------------


@pytest.mark.parametrize("county", COUNTIES, ids=_NAMES)
@pytest.mark.parametrize(
    "case", [str, str.upper, str.lower, str.title], ids=["as-is", "upper", "lower", "title"]
)
def test_every_name_matches_in_any_case(county: County, case: Any) -> None:
    assert find_county(case(county.name)) == county


@pytest.mark.parametrize("county", COUNTIES, ids=_NAMES)
def test_every_name_matches_inside_a_sentence(county: County) -> None:
    assert find_county(f"Fujo kubwa huko {county.name} leo, tumeni polisi!") == county
    assert find_county(f"Violence reported in {county.name.upper()} county this morning.") == county


@pytest.mark.parametrize("county", COUNTIES, ids=_NAMES)
def test_every_name_matches_with_swahili_locative(county: County) -> None:
    suffix = "ni" if county.name[-1] in "aeiou" else "ini"
    assert find_county(f"Kuna vurugu {county.name}{suffix} sasa hivi") == county


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("KISUMU!!", "Kisumu"),
        ("kisumu,", "Kisumu"),
        ("(Nakuru)", "Nakuru"),
        ("...mombasa...", "Mombasa"),
        ("Nakuru's youth are gathering", "Nakuru"),
        ("#Kisumu", "Kisumu"),
        ("KAKAMEGA-ward", "Kakamega"),
        ("homa bay", "Homa Bay"),
        ("HomaBay", "Homa Bay"),
        ("homa-bay", "Homa Bay"),
        ("HOMA  BAY", "Homa Bay"),
        ("uasin gishu", "Uasin Gishu"),
        ("UasinGishu", "Uasin Gishu"),
        ("tana river", "Tana River"),
        ("trans nzoia", "Trans Nzoia"),
        ("Trans-Nzoia", "Trans Nzoia"),
        ("taita taveta", "Taita-Taveta"),
        ("elgeyo marakwet", "Elgeyo-Marakwet"),
        ("Elgeyo/Marakwet", "Elgeyo-Marakwet"),
        ("tharaka nithi", "Tharaka-Nithi"),
        ("west pokot", "West Pokot"),
        ("Muranga", "Murang'a"),
        ("Murang'a", "Murang'a"),
        ("Murang’a", "Murang'a"),
        ("MURANG`A", "Murang'a"),
        ("Nakúru", "Nakuru"),
    ],
)
def test_punctuation_multiword_and_apostrophes(text: str, expected: str) -> None:
    assert find_county(text) == _named(expected)


# --- misspellings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kisumo", "Kisumu"),
        ("Nakru", "Nakuru"),
        ("Mombasaa", "Mombasa"),
        ("Kakamenga", "Kakamega"),
        ("Nairobii", "Nairobi"),
        ("Nairob", "Nairobi"),
        ("Niarobi", "Nairobi"),  # transposition
        ("Machakoz", "Machakos"),
        ("Kirinyanga", "Kirinyaga"),
        ("Nyandarwa", "Nyandarua"),
        ("Laikpia", "Laikipia"),
        ("Marsabt", "Marsabit"),
        ("Kakameg", "Kakamega"),
        ("Kakamegga", "Kakamega"),
        ("Kajiaado", "Kajiado"),
        ("Bungomma", "Bungoma"),
        ("Kisumoni", "Kisumu"),  # typo plus locative
        ("Homabey", "Homa Bay"),
        ("uasin gisu", "Uasin Gishu"),
        ("tana rivr", "Tana River"),
        ("trans nzoya", "Trans Nzoia"),
        ("taita tavetta", "Taita-Taveta"),
        ("elgeyo marakwt", "Elgeyo-Marakwet"),
        ("tharaka nithy", "Tharaka-Nithi"),
        ("wets pokot", "West Pokot"),
        ("Bometi", "Bomet"),
        ("Migorri", "Migori"),
        ("Turkanna", "Turkana"),
        ("Kericko", "Kericho"),
    ],
)
def test_misspellings_are_tolerated(text: str, expected: str) -> None:
    assert find_county(f"fujo {text} leo") == _named(expected)


@pytest.mark.parametrize(
    "text",
    [
        "Mero",  # four-letter names are exact only
        "Embo",
        "Lamo",
        "Nrb",  # too short to guess
        "Kis",
        "Kisumuuuu",  # too many edits
        "Kakmeg",  # two edits from Kakamega, but a word under eight letters takes only one
        "Machak",
        "Nkru",
        "Mbasa",
        "Wasin Gishu",  # first letter differs: not guessed
        "Gisumu",  # one edit from Kisumu, but at the first letter
        "Mairobi",
        "Hakamega",
        "East Pokot",  # a Baringo sub-county, not West Pokot
        "Pokot",  # ambiguous: West Pokot county or East Pokot in Baringo
        "Homa",  # "fever" in Swahili, not Homa Bay
    ],
)
def test_too_distant_or_ambiguous_is_none(text: str) -> None:
    assert find_county(text) is None


# --- Swahili forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kaunti ya Nakuru", "Nakuru"),
        ("kaunti ya kisumu", "Kisumu"),
        ("Jimbo la Mombasa", "Mombasa"),
        ("mjini Nakuru kuna fujo", "Nakuru"),
        ("Nairobi CBD watu wanapigana", "Nairobi"),
        ("Tuko Kisumuni, msaada!", "Kisumu"),
        ("vijana wamejaa Nakuruni", "Nakuru"),
        ("huko Eldoretini hali si shwari", "Uasin Gishu"),
        ("wamevamia Bometini", "Bomet"),
        ("Nairobini", "Nairobi"),
        ("Lamuni", "Lamu"),
        ("Homa Bayni", "Homa Bay"),
        ("kaunti ya Murang'a", "Murang'a"),
    ],
)
def test_swahili_forms(text: str, expected: str) -> None:
    assert find_county(text) == _named(expected)


# --- aliases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eldoret", "Uasin Gishu"),
        ("Kitale", "Trans Nzoia"),
        ("Thika", "Kiambu"),
        ("Naivasha", "Nakuru"),
        ("Malindi", "Kilifi"),
        ("Kapenguria", "West Pokot"),
        ("Lodwar", "Turkana"),
        ("Kapsabet", "Nandi"),
        ("Iten", "Elgeyo-Marakwet"),
        ("Marakwet", "Elgeyo-Marakwet"),
        ("Kerugoya", "Kirinyaga"),
        ("Ol Kalou", "Nyandarua"),
        ("Olkalou", "Nyandarua"),
        ("ol-kalou", "Nyandarua"),
        ("Nanyuki", "Laikipia"),
        ("Chuka", "Tharaka-Nithi"),
        ("Voi", "Taita-Taveta"),
        ("Taveta", "Taita-Taveta"),
        ("Hola", "Tana River"),
        ("Kabarnet", "Baringo"),
        ("Maralal", "Samburu"),
        ("Ukunda", "Kwale"),
        ("Kisii town", "Kisii"),
        ("Kibera", "Nairobi"),
        ("Mathare", "Nairobi"),
        ("Eastleigh", "Nairobi"),
        ("Kawangware", "Nairobi"),
        ("Kondele", "Kisumu"),
        ("Nyalenda", "Kisumu"),
        ("Likoni", "Mombasa"),
        ("Kisauni", "Mombasa"),
        ("Nyali", "Mombasa"),
        ("ELDORET!!", "Uasin Gishu"),
        ("mjini Thika", "Kiambu"),
        ("Kiberani", "Nairobi"),
    ],
)
def test_aliases(text: str, expected: str) -> None:
    assert find_county(f"vijana wanapigana {text}") == _named(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Eldorett", "Uasin Gishu"),  # aliases of 7+ letters take one edit
        ("Naivasa", "Nakuru"),
        ("Kawangwre", "Nairobi"),
        ("Kapenguira", "West Pokot"),
        ("ol kalu", "Nyandarua"),
    ],
)
def test_long_aliases_take_one_typo(text: str, expected: str) -> None:
    assert find_county(text) == _named(expected)


@pytest.mark.parametrize("text", ["Thikka", "Lodwarr", "Kiberra", "Vio", "Itten", "Eldorettt", "Naivsa"])
def test_short_aliases_are_exact_and_long_ones_take_only_one_typo(text: str) -> None:
    assert find_county(text) is None


# --- which county wins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kisumu na Nakuru", "Kisumu"),
        ("from Nakuru to Kisumu", "Nakuru"),
        ("Eldoret to Nairobi", "Uasin Gishu"),
        ("Nairobi, homa bay", "Nairobi"),
        ("homa bay then Migori", "Homa Bay"),
        ("Kisumo then Nakuru", "Kisumu"),  # a misspelling named first still comes first
        ("watu wa Kibera wameenda Nakuru", "Nairobi"),
        ("Taita Taveta na Mombasa", "Taita-Taveta"),
        # At the same word an exact name beats a misspelled one: "Hola" (a town in Tana River)
        # exactly, rather than "Hola Bay" as a one-letter typo of Homa Bay.
        ("Hola bay", "Tana River"),
    ],
)
def test_first_named_wins(text: str, expected: str) -> None:
    assert find_county(text) == _named(expected)


# --- no county ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "!!!",
        "12345 0722000000",
        "🔥🔥🔥",
        "there is a fight at the market",
        "watu wanapigana sokoni leo",
        "vijana wamebeba mapanga",
        "please send help now",
        "police are here",
        "gunshots heard near the school, people running",
        "houses burnt last night and families are fleeing",
        "the youths are blocking the road with stones",
        "many people injured, we need an ambulance urgently",
        "cattle rustlers attacked the village at dawn",
        "election results protest turning violent near the river",
        "bearing in mind the manners of the crowd, barking dogs everywhere",
        "nyumba zimechomwa moto usiku wa manane",
        "polisi wamefika kituoni lakini hawajafanya kitu",
        "kituo cha polisi kimevamiwa na wahuni",
        "siasa za chuki zinaenea mtaani",
        "amepigwa na kisu nyumbani kwake",
        "wanatukana watu wa kabila lingine",
        "nyama imeibiwa kutoka bucha",
        "wale vijana wanarudi tena na marungu",
        "nani amechoma shule yetu?",
        "wameiba ng'ombe wetu wote",
        "tunaomba msaada haraka sana",
        "maandamano yanaendelea, makundi ya vijana wamejaa barabarani",
        "mapanga na rungu, makanga wa matatu amejeruhiwa",
        "kuna matanga hapa na watu wamelewa",
        "Njeri na Kirui wamepotea tangu jana",
        "tumevamiwa na majambazi na nyuki wengi",
        "na nyuki wamewashambulia watoto",
        "I ten people were hurt",
    ],
)
def test_ordinary_sentences_have_no_county(text: str) -> None:
    assert find_county(text) is None


# Everyday Swahili and Sheng, including words one or two edits from a county name.
_SWAHILI_TEXT = """
na ya wa kwa ni za la katika kuna hakuna watu mtu vijana wanawake wanaume mwanamke mama baba watoto leo
sasa jana hapa pale huko kule sana tafadhali msaada saidia saidieni haraka polisi askari kaunti jimbo mji
mjini kijiji sokoni soko shule kanisa msikiti nyumba nyumbani barabara njia wanapigana vita ghasia fujo
vurugu wamebeba mapanga panga mawe moto wamechoma wameuawa wamejeruhiwa wanatishia hatari uchaguzi kura
wagombea chama mkutano maandamano wamekusanyika kundi makundi kubwa wengi bado tena pia lakini kama hii
hawa hao yule wale wetu yetu wangu eneo mtaa nini gani wapi lini nani kwenye juu chini mbele nyuma karibu
mbali ripoti asante habari salama usalama siasa kituo kwake tukana kisiki nyama kitu kale kisu visu
bunduki risasi mishale rungu marungu majambazi wezi mwizi ngombe mbuzi kondoo mifugo wafugaji wakulima
shamba mashambani mpakani kabila jamii ukoo chuki migogoro mgogoro mzozo ardhi maji malisho ukame njaa
chakula hospitali daktari majeruhi maiti damu moshi zimechomwa wamevamia tumevamiwa shambulizi wamefika
wanakuja wamekimbia kimbieni njooni tusaidieni usiku mchana asubuhi jioni alfajiri kesho wiki mwezi mwaka
barabarani mtoni mlimani msituni ziwani baharini uwanjani matatu pikipiki bodaboda gari basi lori dereva
makanga matanga mbunge gavana seneta diwani rais waziri serikali chifu jeshi kampeni matokeo tume
karatasi sanduku vituo hongo rushwa pesa duka maduka madukani kanisani msikitini shuleni mwalimu
mwanafunzi mzee wazee kijana msichana mvulana jirani rafiki adui ndugu tunaomba tunahitaji ametekwa
amepotea sijui mbaya nzuri kabisa kweli uongo uvumi taarifa mabomu bomu bomba milio kelele mayowe kilio
machozi machafuko mapigano walipigana amepigwa wanachoma imeungua kibanda wahuni magenge wanamgambo
amani utulivu umoja msee wasee manzi mbogi noma ganji kanjo karao sanse mathe buda maze niaje kisima mto
ziwa bahari mlima msitu bonde kilima jumatatu ijumaa moja mbili tatu tano sita saba nane tisa kumi
kulia kushoto ndani nje kati pembeni wajibu haki sheria mahakama jela mandazi chai ugali sukuma samaki
maziwa nakula nakuja naomba nataka kiatu makuti makazi makaburi msiba
"""

# Common Kenyan personal names and other proper nouns that sit near county names.
_PEOPLE_AND_PLACES_TEXT = """
Wanjiru Kamau Otieno Wambui Akinyi Muthoni Nyambura Achieng Kiprop Chebet Kiptoo Wafula Barasa Wekesa
Omondi Odhiambo Mwangi Kimani Njoroge Kariuki Maina Kiprono Cheruiyot Korir Kibet Ruto Raila Uhuru
Kalonzo Mudavadi Kenyatta Odinga Kirui Kiptui Njeri Kiambi Mutai Langat Rotich Koech Makena Nyaga
Wanyama Nekesa Mandela Nyerere Tanzania Uganda Somalia Kampala Arusha Mwanza Nauru Kwame Westport
"""


def test_common_swahili_words_are_not_counties() -> None:
    matched = {
        word: county.name for word in _SWAHILI_TEXT.split() if (county := find_county(word)) is not None
    }
    assert matched == {}


def test_common_names_are_not_counties() -> None:
    matched = {
        word: county.name
        for word in _PEOPLE_AND_PLACES_TEXT.split()
        if (county := find_county(word)) is not None
    }
    assert matched == {}


# --- the distance function ----------------------------------------------------------------------


def _reference_osa(a: str, b: str) -> int:
    """Textbook optimal-string-alignment distance, to check the library call and its cutoff against."""
    table = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
    return table[len(a)][len(b)]


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_bounded_distance_agrees_with_reference(limit: int) -> None:
    rng = random.Random(limit)  # a small alphabet makes repeats, swaps and overlaps common
    for _ in range(3000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 7)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 7)))
        expected = _reference_osa(a, b)
        assert _within(a, b, limit) == (expected if expected <= limit else None), (a, b)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kilii", "Kilifi"),  # one edit from Kilifi (3) and from Kisii (45)
        ("kisifi", "Kilifi"),
        ("kisui", "Kitui"),  # one edit from Kitui (15) and from Kisii (45)
        ("kitii", "Kitui"),
    ],
)
def test_a_tie_between_misspellings_goes_to_the_lower_county_code(text: str, expected: str) -> None:
    assert find_county(f"fujo {text} leo") == _named(expected)
