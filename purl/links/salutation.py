"""Salutation lines in the shop's languages and tones.

German letters address people differently by tone ("du" or "Sie") and gender; when the gender
is unknown or diverse, a neutral greeting is the respectful choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache


def salutation_line(
    first_name: str | None,
    last_name: str | None,
    gender: str | None = None,
    title: str | None = None,
    locale: str = "de",
    tone: str = "du",
) -> str:
    """``Liebe Anna,`` / ``Sehr geehrter Herr Dr. Müller,`` / ``Hallo Kim,`` / ``Dear Anna,``."""
    first = (first_name or "").strip()
    last = (last_name or "").strip()
    title = (title or "").strip()
    gender = (gender or "").lower()[:1] or None

    if locale.startswith("en"):
        if tone == "sie" and last and gender in ("f", "m"):
            honorific = {"f": "Ms", "m": "Mr"}[gender]
            return f"Dear {' '.join(p for p in (honorific, title, last) if p)},"
        name = first or " ".join(p for p in (title, last) if p)
        return f"Dear {name}," if name else "Hello,"

    if tone == "sie":
        if last and gender in ("f", "m"):
            opener = "Sehr geehrte Frau" if gender == "f" else "Sehr geehrter Herr"
            return f"{' '.join(p for p in (opener, title, last) if p)},"
        full = " ".join(p for p in (title, first, last) if p)
        return f"Guten Tag {full}," if full else "Guten Tag,"
    if first and gender == "f":
        return f"Liebe {first},"
    if first and gender == "m":
        return f"Lieber {first},"
    if first:
        return f"Hallo {first},"
    return "Hallo,"


def salutation_for(recipient: object, campaign: object) -> str:
    """Salutation line for a recipient object within its campaign's locale and tone."""
    return salutation_line(
        getattr(recipient, "first_name", None),
        getattr(recipient, "last_name", None),
        getattr(recipient, "gender", None),
        getattr(recipient, "title", None),
        locale=getattr(campaign, "locale", "de"),
        tone=getattr(campaign, "tone", "du"),
    )


GENDER_WORDS: Mapping[str, str] = {
    # What CRM exports put in an "Anrede"/"Salutation"/"Gender" column.
    "frau": "f", "f": "f", "w": "f", "female": "f", "weiblich": "f", "ms": "f", "mrs": "f",
    "ms.": "f", "mrs.": "f", "miss": "f",
    "fr": "f", "herr": "m", "herrn": "m", "hr": "m", "m": "m", "male": "m", "männlich": "m",
    "mr": "m", "mr.": "m",
    "divers": "d", "d": "d", "diverse": "d", "x": "d",
}


def parse_gender(value: str | None) -> str | None:
    word = (value or "").strip().lower()
    return GENDER_WORDS.get(word) or GENDER_WORDS.get(word.rstrip("."))


# How an academic title starts, lower case without its dot: "Dr.", "Prof. Dr.", "Dipl.-Ing.".
TITLE_STARTS = ("dr", "prof", "professor", "professorin", "dipl", "mag", "ing", "lic", "priv")
TITLE_LIMIT = 50  # the recipient table's title column


@lru_cache(maxsize=4096)  # a list holds a handful of different salutations, a million times
def parse_salutation(value: str | None) -> tuple[str | None, str | None]:
    """(gender, title) from a salutation cell as CRMs export it: ``Frau Dr.`` -> ("f", "Dr."),
    ``Herr Prof. Dr.`` -> ("m", "Prof. Dr."), ``Dr.`` -> (None, "Dr."), ``Mrs`` -> ("f",
    None). Words after the gender that do not start a title (``Herr und Frau``) are dropped,
    as is a title longer than the title column."""
    words = (value or "").split()
    if not words:
        return None, None
    gender = parse_gender(words[0])
    rest = words[1:] if gender else words
    if not rest or rest[0].lower().rstrip(".").split(".")[0].split("-")[0] not in TITLE_STARTS:
        return gender, None
    title = " ".join(rest)
    return gender, title if len(title) <= TITLE_LIMIT else None
