"""The quiz as the app uses it: plain, frozen dataclasses that ``purl.quiz.format`` builds from
a validated quiz file, and the helpers that read them (``localize``, ``plain``).

The format is documented in ``quizzes/README.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CHOICE_TYPES = {"single", "multi", "image", "yesno"}

# language -> text; a text written in du and Sie keeps its Sie form under "<language>:sie".
Text = dict[str, str]
TONES = ("du", "sie")
# The du-forms a Sie page must never show (German): a text with one and no Sie form speaks du.
DU_FORMS = re.compile(r"\b(du|dich|dir|dein|deine|deinen|deinem|deiner|deines|euch|euer|"
                      r"eure|euren|eurem|eurer|eures)\b", re.IGNORECASE)


def localize(text: Text, locale: str, tone: str = "du") -> str:
    """The text in ``locale`` and ``tone``, falling back to German, then to whatever there is;
    a text without a Sie form is the same in both tones."""
    for language in (locale[:2], "de"):
        if text.get(language):
            return (text.get(f"{language}:sie") if tone == "sie" else None) or text[language]
    return next(iter(text.values()), "")


def speaks(text: Text, locale: str, tone: str) -> bool:
    """Whether the text can be said in ``tone`` without a du-form slipping into a Sie page."""
    if tone != "sie":
        return True
    language = locale[:2] if text.get(locale[:2]) else "de"
    return f"{language}:sie" in text or not DU_FORMS.search(localize(text, language))


@dataclass(frozen=True)
class Content:
    """A content block for the showroom (advice, a how-to), shown when its option is chosen."""

    title: Text
    body: Text


@dataclass(frozen=True)
class Option:
    value: str
    label: Text
    filter: dict[str, Any] = field(default_factory=dict)
    exclude: dict[str, Any] = field(default_factory=dict)
    prefer_tags: dict[str, float] = field(default_factory=dict)
    image: str | None = None  # a path under static/, for image choices
    content: tuple[Content, ...] = ()
    reason: Text | None = None  # how the showroom and chips name it, if not by its label


@dataclass(frozen=True)
class Condition:
    """``show_if``: ``equals``/``in`` test one earlier answer; ``not``/``all``/``any`` combine."""

    kind: str  # "in", "not", "all" or "any"
    question: str = ""
    values: frozenset[str] = frozenset()
    parts: tuple[Condition, ...] = ()

    def holds(self, answers: dict[str, Any]) -> bool:
        if self.kind == "not":
            return not self.parts[0].holds(answers)
        if self.kind == "all":
            return all(p.holds(answers) for p in self.parts)
        if self.kind == "any":
            return any(p.holds(answers) for p in self.parts)
        given = answers.get(self.question)
        given = given if isinstance(given, list) else [given]
        return any(v in self.values for v in given if v is not None)

    def questions(self) -> set[str]:
        if self.question:
            return {self.question}
        return set().union(*(p.questions() for p in self.parts))


def plain(number: Decimal) -> str:
    """A number as people write it: 40, not 4E+1 or 40.00."""
    return format(number.normalize(), "f")


@dataclass(frozen=True)
class Range:
    min: Decimal
    max: Decimal
    step: Decimal
    default: Decimal
    unit: str = ""
    attribute: str | None = None  # "price", a numeric product attribute, or None (not mapped)
    bound: str = "max"  # the shopper's number is the highest ("max") or lowest ("min") value

    @property
    def bounds(self) -> dict[str, str]:
        return {"min": plain(self.min), "max": plain(self.max)}


@dataclass(frozen=True)
class AnsweredBy:
    """A recipient attribute (a CRM column) that answers the question: raw value -> option."""

    attribute: str
    map: dict[str, str]

    def value_for(self, attributes: dict[str, Any] | None) -> str | None:
        attributes = attributes or {}
        raw = attributes.get(self.attribute)
        if raw is None:  # CRM exports vary in case: "Haustier", "haustier", "HAUSTIER"
            wanted_key = self.attribute.casefold()
            raw = next((v for k, v in attributes.items() if str(k).casefold() == wanted_key),
                       None)
        if raw is None:
            return None
        wanted = str(raw).strip().casefold()
        return next((v for k, v in self.map.items() if k.casefold() == wanted), None)


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: Text
    options: tuple[Option, ...] = ()
    help: Text = field(default_factory=dict)
    required: bool = True
    shuffle: bool = False
    show_if: Condition | None = None
    min_choices: int = 0
    max_choices: int | None = None
    range: Range | None = None
    max_length: int = 200
    answered_by: AnsweredBy | None = None
    match: str = "auto"  # must | nice | auto: how far the showroom may give way on it

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    @property
    def has_options(self) -> bool:
        return self.type in CHOICE_TYPES


@dataclass(frozen=True)
class Quiz:
    slug: str
    version: str
    title: Text
    intro: Text
    questions: tuple[Question, ...]
    public: bool = True
    source: str = ""
    visitor_campaign: str | None = None
    shop: str | None = None  # the shop's name in the header, when not the install's own
    catalog: str = "default"  # the catalog its showroom draws from (purl.catalog.catalogs)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def index(self, question_id: str) -> int:
        return next(i for i, q in enumerate(self.questions) if q.id == question_id)

    def texts(self) -> list[Text]:
        """Every text a shopper may read: title, intro, questions, help, options, reasons,
        content blocks."""
        found = [self.title, self.intro]
        for question in self.questions:
            found += [question.text, question.help]
            for option in question.options:
                found += [option.label, option.reason or {}]
                found += [t for block in option.content for t in (block.title, block.body)]
        return [t for t in found if t]

    def tone(self, locale: str, wanted: str) -> str:
        """The tone this quiz's pages speak for a campaign that wants ``wanted``: Sie only
        when every text can say it, else du throughout, so no page mixes the two."""
        if wanted == "sie" and all(speaks(t, locale, "sie") for t in self.texts()):
            return "sie"
        return "du"

    def lacking_sie(self, locale: str = "de") -> list[str]:
        """Texts in du with no Sie form (for ``quiz check``): a Sie campaign falls back to du."""
        return [localize(t, locale) for t in self.texts() if not speaks(t, locale, "sie")]
