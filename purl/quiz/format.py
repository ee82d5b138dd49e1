"""The quiz format, defined once: pydantic models that validate a quiz file (and, later,
console edits and API input), publish its JSON Schema (``flask quiz schema``), and build the
frozen dataclasses of ``schema`` the app runs on.

A quiz is content, reviewed like code. Every problem is a :class:`Problem`: a catalog msgid
(English) with its values and where it is (question, option), so ``flask quiz check``, the
log and the console say the same thing, each in its own language (:meth:`QuizError.messages`).
The format is documented in ``quizzes/README.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from purl.catalog.catalogs import DEFAULT as DEFAULT_CATALOG
from purl.catalog.catalogs import NAME as CATALOG
from purl.quiz.schema import (
    CHOICE_TYPES,
    AnsweredBy,
    Condition,
    Content,
    Option,
    Question,
    Quiz,
    Range,
    Text,
)

log = logging.getLogger(__name__)

QUESTION_TYPES = CHOICE_TYPES | {"range", "text"}
FILTER_FIELDS = {"category", "product_type", "tags", "price_min", "price_max", "attributes"}
EXCLUDE_FIELDS = {"category", "product_type", "tags", "attributes"}
RANGE_TARGETS = {"price_min", "price_max"}
LOCALES = ("de", "en")
TONES = ("du", "sie")
STATIC_FOLDER = Path(__file__).resolve().parent.parent.parent / "static"
TEXT_MAX_LENGTH = 500
YES_NO_LABELS = {"yes": {"de": "Ja", "en": "Yes"}, "no": {"de": "Nein", "en": "No"}}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
QUESTION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A picture uploaded in the console, named by its content (see purl.quiz.images).
UPLOADED_IMAGE = re.compile(r"^uploads/(?P<sha>[0-9a-f]{64})\.(?P<ext>png|jpg|gif|webp)$")


def N_(message: str) -> str:  # noqa: N802 - the name Babel extracts
    """Marks a message for the catalog; the surface translates it where it is shown."""
    return message


# ---------------------------------------------------------------- problems

class Problem(ValueError):
    """One thing wrong with a quiz: a catalog msgid and its values, and where it is."""

    def __init__(self, message: str, *, question: str | None = None,
                 option: str | None = None, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params
        self.question, self.option = question, option

    def render(self, gettext: Callable[[str], str] = N_) -> str:
        text = gettext(self.message)
        if not self.params:
            return text
        # A value that is itself a catalog word ("the question text") is said in kind.
        return text % {k: gettext(v) if isinstance(v, str) and v in WORDS else v
                       for k, v in self.params.items()}


QUESTION_AT = N_("question %(id)s")
QUESTION_NO = N_("question #%(number)s")
OPTION_AT = N_("option %(value)s")


class QuizError(ValueError):
    """A quiz that cannot be served; ``str()`` is its first problem in English, naming the
    source, the question and the option."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source, self.problems = source, problems
        super().__init__(self.messages()[0])

    def messages(self, gettext: Callable[[str], str] = N_) -> list[str]:
        """Each problem as one line, in the language ``gettext`` speaks."""
        lines = []
        for problem in self.problems:
            where = [self.source] if self.source else []
            if problem.question:
                number = problem.question.removeprefix("#")
                where.append(gettext(QUESTION_NO) % {"number": number}
                             if problem.question.startswith("#")
                             else gettext(QUESTION_AT) % {"id": repr(problem.question)})
            if problem.option is not None:
                where.append(gettext(OPTION_AT) % {"value": repr(problem.option)})
            lines.append(f"{', '.join(where)}: {problem.render(gettext)}" if where
                         else problem.render(gettext))
        return lines


# Messages for what pydantic finds by itself (a wrong kind of value).
FIELD_WORDS = {
    "slug": N_("the quiz's address (slug)"), "public": N_("“public”"),
    "title": N_("the title"), "intro": N_("the introduction"), "questions": N_("the questions"),
    "id": N_("the question's id"), "type": N_("the question type"),
    "text": N_("the question text"), "help": N_("the help text"),
    "required": N_("“required”"), "options": N_("the answer options"),
    "order": N_("the order of the options"), "show_if": N_("the condition (show_if)"),
    "min_choices": N_("the fewest answers (min_choices)"),
    "max_choices": N_("the most answers (max_choices)"),
    "min": N_("the lowest value (min)"), "max": N_("the highest value (max)"),
    "step": N_("the step"), "default": N_("the starting value (default)"),
    "unit": N_("the unit"), "maps_to": N_("what the number filters (maps_to)"),
    "max_length": N_("the longest answer (max_length)"),
    "answered_by": N_("the CRM column that answers it (answered_by)"),
    "match": N_("how firmly it filters (match)"),
    "value": N_("the option's value"), "label": N_("the option's label"),
    "reason": N_("the reason"), "filter": N_("the filter"), "exclude": N_("the exclusion"),
    "prefer": N_("the preference"), "image": N_("the picture"),
    "content": N_("the content block"),
}
WRONG_KIND = {
    "bool": N_("%(field)s is true or false"),
    "int": N_("%(field)s must be a whole number"),
    "string": N_("%(field)s must be a text"),
    "dict": N_("%(field)s must be a mapping (key: value)"),
    "list": N_("%(field)s must be a list"),
    "literal": N_("%(field)s takes one of: %(expected)s"),
    "missing": N_("%(field)s is missing"),
}
NOT_VALID = N_("%(field)s is not valid")
WORDS = {*FIELD_WORDS.values(), N_("the quiz"), N_("filter"), N_("exclude"), N_("this")}
UNKNOWN_KEY = N_("unknown key %(key)s (known: %(known)s)")
UNKNOWN_KEY_LIKE = N_("unknown key %(key)s: did you mean %(suggestion)s?")
UNKNOWN_FIELD = N_("%(what)s on unknown catalog field %(key)s (known: %(known)s)")


def _problem_from(error: dict, raw: Any) -> Problem:
    """A pydantic error as a :class:`Problem`, located by the question and option it is in."""
    loc = list(error.get("loc", ()))
    question = option = None
    node, field = raw, ""
    for i, part in enumerate(loc):
        if i >= 1 and loc[i - 1] == "questions" and isinstance(part, int):
            qid = node[part].get("id") if isinstance(node, list) and part < len(node) \
                and isinstance(node[part], dict) else None
            question = str(qid) if qid else f"#{part + 1}"
        if i >= 1 and loc[i - 1] == "options" and isinstance(part, int):
            value = node[part].get("value") if isinstance(node, list) and part < len(node) \
                and isinstance(node[part], dict) else None
            option = _value(value) if value is not None else f"#{part + 1}"
        if isinstance(part, str) and part in FIELD_WORDS:
            field = part
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    found = (error.get("ctx") or {}).get("error")
    if isinstance(found, Problem):
        found.question = found.question or question
        found.option = found.option if found.option is not None else option
        return found
    kind = error.get("type", "")
    words = FIELD_WORDS.get(field, field or N_("the quiz"))
    for prefix, message in WRONG_KIND.items():
        if kind.startswith(prefix):
            expected = str((error.get("ctx") or {}).get("expected", ""))
            return Problem(message, question=question, option=option, field=words,
                           **({"expected": expected} if prefix == "literal" else {}))
    return Problem(NOT_VALID, question=question, option=option, field=words)


# ---------------------------------------------------------------- value types

def _value(raw: Any) -> str:
    # YAML 1.1 reads an unquoted yes/no as a boolean; authors mean the words.
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return str(raw)


def _option_value(raw: Any) -> str:
    if raw is None or isinstance(raw, dict | list) or _value(raw).strip() == "":
        raise Problem(N_("each option needs a value and a label"))
    return _value(raw)


BAD_TEXT = N_("expected a text or a mapping of language to text")
BAD_LANGUAGE = N_("unknown language %(languages)s, use %(known)s")
BAD_TONE = N_("a text in du and Sie gives both: {du: …, sie: …}")


def _text(raw: Any) -> Text:
    """A text as written: one German string, language -> text, or language -> {du, sie}.

    Kept as language -> text, with the Sie form under ``<language>:sie``."""
    if isinstance(raw, str) and raw.strip():
        return {"de": raw}
    if not isinstance(raw, dict) or not raw:
        raise Problem(BAD_TEXT)
    unknown = sorted(str(k) for k in set(raw) - set(LOCALES))
    if unknown:
        raise Problem(BAD_LANGUAGE, languages=", ".join(unknown), known=", ".join(LOCALES))
    text: Text = {}
    for language, value in raw.items():
        if isinstance(value, str) and value.strip():
            text[language] = value
        elif isinstance(value, dict):
            if set(value) != set(TONES) or not all(isinstance(v, str) and v.strip()
                                                    for v in value.values()):
                raise Problem(BAD_TONE)
            text[language], text[f"{language}:sie"] = value["du"], value["sie"]
        else:
            raise Problem(BAD_TEXT)
    return text


NOT_A_NUMBER = N_("%(name)s must be a number")


def _number(raw: Any, name: str = "") -> Decimal:
    if isinstance(raw, bool) or raw is None or isinstance(raw, dict | list):
        raise Problem(NOT_A_NUMBER, name=name or N_("this"))
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise Problem(NOT_A_NUMBER, name=name or N_("this")) from None
    if not number.is_finite():
        raise Problem(NOT_A_NUMBER, name=name or N_("this"))
    return number


def _values(raw: Any) -> str | list[str]:
    if isinstance(raw, list) and raw and all(not isinstance(v, dict | list) for v in raw):
        return [_value(v) for v in raw]
    if raw is not None and not isinstance(raw, dict | list) and _value(raw).strip():
        return _value(raw)
    raise Problem(N_("expected a value or a list of values"))


ATTRIBUTES = N_("attributes map an attribute name to its values, or to min and max")
ATTRIBUTE_SPEC = N_("attribute %(name)s takes values, or min and max")
ATTRIBUTE_ORDER = N_("attribute %(name)s: min is above max")


def _attributes(raw: Any) -> dict[str, dict]:
    if not isinstance(raw, dict) or not raw:
        raise Problem(ATTRIBUTES)
    specs: dict[str, dict] = {}
    for name, wanted in raw.items():
        if isinstance(wanted, dict):
            if not wanted or set(wanted) - {"min", "max"}:
                raise Problem(ATTRIBUTE_SPEC, name=repr(name))
            spec = {k: _number(v, f"{name} {k}") for k, v in wanted.items()}
            if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
                raise Problem(ATTRIBUTE_ORDER, name=repr(name))
            specs[str(name)] = spec
        else:
            items = wanted if isinstance(wanted, list) else [wanted]
            if not items or any(isinstance(v, dict | list) or v is None for v in items):
                raise Problem(ATTRIBUTE_SPEC, name=repr(name))
            specs[str(name)] = {"in": [_value(v) for v in items]}
    return specs


_TEXT_SCHEMA = {
    "description": "German text, or language -> text, or language -> {du: …, sie: …}",
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "additionalProperties": False, "minProperties": 1,
         "properties": {lang: {"anyOf": [
             {"type": "string", "minLength": 1},
             {"type": "object", "additionalProperties": False, "required": list(TONES),
              "properties": {t: {"type": "string", "minLength": 1} for t in TONES}},
         ]} for lang in LOCALES}},
    ],
}
_SCALAR = {"type": ["string", "number", "boolean"]}
_VALUES_SCHEMA = {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR, "minItems": 1}]}
_ATTRIBUTES_SCHEMA = {
    "type": "object", "minProperties": 1,
    "description": "attribute name -> a value, a list of values, or {min, max} for numbers",
    "additionalProperties": {"anyOf": [
        _SCALAR, {"type": "array", "items": _SCALAR, "minItems": 1},
        {"type": "object", "additionalProperties": False, "minProperties": 1,
         "properties": {"min": {"type": "number"}, "max": {"type": "number"}}},
    ]},
}
_CONDITION_SCHEMA = {
    "description": "{question, equals} | {question, in} | {not} | {all} | {any}",
    "type": "object", "minProperties": 1,
    "properties": {"question": {"type": "string"}, "equals": _SCALAR,
                   "in": {"type": "array", "items": _SCALAR, "minItems": 1},
                   "not": {"type": "object"}, "all": {"type": "array", "minItems": 1},
                   "any": {"type": "array", "minItems": 1}},
    "additionalProperties": False,
}

TextField = Annotated[Text, BeforeValidator(_text), WithJsonSchema(_TEXT_SCHEMA)]
Number = Annotated[Decimal, BeforeValidator(_number), WithJsonSchema({"type": "number"})]
Values = Annotated[str | list[str], BeforeValidator(_values), WithJsonSchema(_VALUES_SCHEMA)]
Attributes = Annotated[dict[str, dict], BeforeValidator(_attributes),
                       WithJsonSchema(_ATTRIBUTES_SCHEMA)]
OptionValue = Annotated[str, BeforeValidator(_option_value), WithJsonSchema(_SCALAR)]
ShowIf = Annotated[dict[str, Any], WithJsonSchema(_CONDITION_SCHEMA)]


class _Part(BaseModel):
    """A part of the file: unknown keys (typos) are refused, naming what is known."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
    unknown_message: ClassVar[str] = UNKNOWN_KEY
    what: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            known = {f.alias or name for name, f in cls.model_fields.items()}
            unknown = sorted(str(k) for k in set(raw) - known)
            if unknown:
                like = difflib.get_close_matches(unknown[0], sorted(known), n=1)
                if like and cls.unknown_message == UNKNOWN_KEY:
                    raise Problem(UNKNOWN_KEY_LIKE, key=repr(unknown[0]),
                                  suggestion=repr(like[0]))
                raise Problem(cls.unknown_message, key=repr(unknown[0]),
                              known=", ".join(sorted(known)), what=cls.what)
        return raw


class ContentModel(_Part):
    title: TextField
    body: TextField

    @model_validator(mode="before")
    @classmethod
    def _both(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or "title" not in raw or "body" not in raw:
            raise Problem(N_("each content block needs a title and a body"))
        return raw


PRICE_NEGATIVE = N_("%(key)s must not be negative")
PRICE_ORDER = N_("price_min is above price_max")


class FilterModel(_Part):
    """Hard filter: a product must have all of these (a list: any of its values)."""

    unknown_message: ClassVar[str] = UNKNOWN_FIELD
    what: ClassVar[str] = N_("filter")
    category: Values | None = None
    product_type: Values | None = None
    tags: Values | None = None
    price_min: Number | None = None
    price_max: Number | None = None
    attributes: Attributes | None = None

    @model_validator(mode="after")
    def _prices(self) -> FilterModel:
        for key in ("price_min", "price_max"):
            if getattr(self, key) is not None and getattr(self, key) < 0:
                raise Problem(PRICE_NEGATIVE, key=key)
        if (self.price_min is not None and self.price_max is not None
                and self.price_min > self.price_max):
            raise Problem(PRICE_ORDER)
        return self


class ExcludeModel(_Part):
    """Products with any of these are left out."""

    unknown_message: ClassVar[str] = UNKNOWN_FIELD
    what: ClassVar[str] = N_("exclude")
    category: Values | None = None
    product_type: Values | None = None
    tags: Values | None = None
    attributes: Attributes | None = None


class PreferModel(_Part):
    """Soft preference: tag -> weight; ranks, never hides."""

    tags: dict[str, Number] = Field(default_factory=dict)


NO_IMAGE = N_("an image choice needs an image (a path under static/)")
IMAGE_MISSING = N_("image %(image)s not found under static/")
IMAGE_ONLY = N_("only options of an image question take an image")


class OptionModel(_Part):
    value: OptionValue
    label: TextField | None = None
    reason: TextField | None = None
    filter: FilterModel | None = None
    exclude: ExcludeModel | None = None
    prefer: PreferModel | None = None
    image: str | None = None
    content: ContentModel | list[ContentModel] | None = None

    @model_validator(mode="before")
    @classmethod
    def _has_value(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or "value" not in raw:
            raise Problem(N_("each option needs a value and a label"))
        return raw

    def build(self, qtype: str) -> Option:
        if qtype == "image":
            if not self.image:
                raise Problem(NO_IMAGE, option=self.value)
            path = (STATIC_FOLDER / self.image).resolve()
            if not UPLOADED_IMAGE.match(self.image) and (
                    STATIC_FOLDER not in path.parents or not path.is_file()):
                raise Problem(IMAGE_MISSING, option=self.value, image=repr(self.image))
        elif self.image is not None:
            raise Problem(IMAGE_ONLY, option=self.value)
        label = self.label or YES_NO_LABELS.get(self.value) if qtype == "yesno" else self.label
        if label is None:
            raise Problem(N_("each option needs a value and a label"), option=self.value)
        content = self.content if isinstance(self.content, list) else (
            [self.content] if self.content else [])
        return Option(
            value=self.value, label=label,
            filter=self.filter.model_dump(exclude_none=True) if self.filter else {},
            exclude=self.exclude.model_dump(exclude_none=True) if self.exclude else {},
            prefer_tags={k: float(v) for k, v in (self.prefer.tags if self.prefer else {}).items()},
            image=self.image,
            content=tuple(Content(c.title, c.body) for c in content),
            reason=self.reason,
        )


class AttributeTarget(_Part):
    attribute: str = Field(min_length=1, max_length=64)
    bound: Literal["min", "max"] = "max"


class AnsweredByModel(_Part):
    attribute: str = Field(min_length=1)
    map: dict[str, OptionValue] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, raw: Any) -> Any:
        if (not isinstance(raw, dict) or not isinstance(raw.get("attribute"), str)
                or not isinstance(raw.get("map"), dict) or not raw["map"]):
            raise Problem(N_("answered_by needs an attribute and a map of its values to "
                             "option values"))
        return {**raw, "map": {str(k): v for k, v in raw["map"].items()}}


class QuestionModel(_Part):
    id: str
    type: Literal["single", "multi", "image", "yesno", "range", "text"] = "single"
    text: TextField
    help: TextField | None = None
    required: StrictBool = True
    order: Literal["fixed", "shuffled"] = "fixed"
    options: list[OptionModel] | None = None
    show_if: ShowIf | None = None
    min_choices: StrictInt | None = None
    max_choices: StrictInt | None = None
    min: Number | None = None
    max: Number | None = None
    step: Number | None = None
    default: Number | None = None
    unit: str | None = None
    maps_to: Literal["price_min", "price_max"] | AttributeTarget | None = None
    max_length: StrictInt | None = None
    answered_by: AnsweredByModel | None = None
    match: Literal["must", "nice", "auto"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _id_and_kind(cls, raw: Any) -> Any:
        if not isinstance(raw, dict) or not raw.get("id"):
            raise Problem(N_("every question needs an id"))
        qid = str(raw["id"])
        if not QUESTION_ID.match(qid):
            raise Problem(N_("an id takes lower-case letters, digits, - and _ only"),
                          question=qid)
        qtype = raw.get("type", "single")
        if qtype not in QUESTION_TYPES:
            raise Problem(N_("unknown type %(type)s (known: %(known)s)"), question=qid,
                          type=repr(qtype), known=", ".join(sorted(QUESTION_TYPES)))
        maps_to = raw.get("maps_to")
        if isinstance(maps_to, str) and maps_to not in RANGE_TARGETS:
            raise Problem(N_("maps_to %(target)s is not a catalog filter (known: %(known)s, "
                             "or {attribute: NAME, bound: min|max})"), question=qid,
                          target=repr(maps_to), known=", ".join(sorted(RANGE_TARGETS)))
        if qtype == "yesno":
            options = raw.get("options") or [{"value": "yes"}, {"value": "no"}]
            values = sorted(_value(o.get("value")) for o in options if isinstance(o, dict))
            if values != ["no", "yes"]:
                raise Problem(N_("a yes/no question's options are exactly yes and no"),
                              question=qid)
            raw = {**raw, "options": options}
        return {**raw, "id": qid}

    def build(self, earlier: dict[str, Question], later: set[str]) -> Question:  # noqa: C901
        qid, qtype = self.id, self.type

        def problem(message: str, **params: Any) -> Problem:
            return Problem(message, question=qid, **params)

        options: tuple[Option, ...] = ()
        if qtype in CHOICE_TYPES:
            if not self.options or len(self.options) < 2:
                raise problem(N_("needs at least two options"))
            options = tuple(o.build(qtype) for o in self.options)
            seen: set[str] = set()
            for option in options:
                if option.value in seen:
                    raise problem(N_("duplicate option value %(value)s"),
                                  value=repr(option.value))
                seen.add(option.value)
        elif self.options:
            raise problem(N_("a %(type)s question has no options"), type=qtype)
        if (self.min_choices is not None or self.max_choices is not None) and qtype != "multi":
            raise problem(N_("min_choices/max_choices apply to multi questions only"))
        if qtype == "multi":
            for name, bound in (("min_choices", self.min_choices),
                                ("max_choices", self.max_choices)):
                if bound is not None and not 1 <= bound <= len(options):
                    raise problem(N_("%(name)s must be a whole number from 1 to %(count)s "
                                     "(the number of options)"), name=name, count=len(options))
            if self.min_choices and self.max_choices and self.min_choices > self.max_choices:
                raise problem(N_("min_choices (%(low)s) is above max_choices (%(high)s)"),
                              low=self.min_choices, high=self.max_choices)
        range_keys = sorted(k for k in ("min", "max", "step", "default", "unit", "maps_to")
                            if getattr(self, k) is not None)
        if qtype != "range" and range_keys:
            raise problem(N_("%(key)s applies to range questions only"), key=range_keys[0])
        if qtype == "text" and self.max_length is not None \
                and not 1 <= self.max_length <= TEXT_MAX_LENGTH:
            raise problem(N_("max_length must be from 1 to %(most)s"), most=TEXT_MAX_LENGTH)
        answered_by = None
        if self.answered_by is not None:
            if qtype not in CHOICE_TYPES:
                raise problem(N_("answered_by applies to choice questions only"))
            offered = {o.value for o in options}
            for key, value in self.answered_by.map.items():
                if value not in offered:
                    raise problem(N_("answered_by maps %(key)s to %(value)s, which is not one "
                                     "of the options"), key=repr(key), value=repr(value))
            answered_by = AnsweredBy(self.answered_by.attribute, dict(self.answered_by.map))
        return Question(
            id=qid, type=qtype, text=self.text, options=options, help=self.help or {},
            required=self.required, shuffle=self.order == "shuffled",
            show_if=(_condition(self.show_if, qid, earlier, later)
                     if self.show_if is not None else None),
            min_choices=self.min_choices or (1 if qtype == "multi" and self.required else 0),
            max_choices=self.max_choices,
            range=self._range() if qtype == "range" else None,
            max_length=self.max_length or 200 if qtype == "text" else 200,
            answered_by=answered_by, match=self.match,
        )

    def _range(self) -> Range:
        def problem(message: str, **params: Any) -> Problem:
            return Problem(message, question=self.id, **params)

        if self.min is None or self.max is None:
            raise problem(N_("a range question needs min and max"))
        low, high = self.min, self.max
        if low >= high:
            raise problem(N_("bad range bounds: min (%(low)s) must be below max (%(high)s)"),
                          low=low, high=high)
        step = self.step if self.step is not None else Decimal(1)
        if step <= 0 or step > high - low:
            raise problem(N_("step must be above 0 and at most max - min"))
        default = self.default if self.default is not None else high
        if not low <= default <= high:
            raise problem(N_("default (%(default)s) lies outside %(low)s–%(high)s"),
                          default=default, low=low, high=high)
        attribute, bound = None, "max"
        if isinstance(self.maps_to, AttributeTarget):
            attribute, bound = self.maps_to.attribute, self.maps_to.bound
        elif self.maps_to:
            attribute, bound = "price", self.maps_to.removeprefix("price_")
        if attribute == "price" and low < 0:
            raise problem(N_("a price range cannot go below 0"))
        return Range(low, high, step, default, self.unit or "", attribute, bound)


def _condition(raw: Any, qid: str, earlier: dict[str, Question], later: set[str]) -> Condition:
    def problem(message: str, **params: Any) -> Problem:
        return Problem(message, question=qid, **params)

    if not isinstance(raw, dict) or len(raw) == 0:
        raise problem(N_("show_if must be a mapping (question with equals or in, or "
                         "not/all/any)"))
    if "not" in raw:
        if len(raw) != 1:
            raise problem(N_("show_if 'not' stands alone"))
        return Condition("not", parts=(_condition(raw["not"], qid, earlier, later),))
    for combinator in ("all", "any"):
        if combinator in raw:
            parts = raw[combinator]
            if len(raw) != 1 or not isinstance(parts, list) or not parts:
                raise problem(N_("show_if %(name)s takes a list of conditions"),
                              name=repr(combinator))
            return Condition(combinator,
                             parts=tuple(_condition(p, qid, earlier, later) for p in parts))
    unknown = sorted(str(k) for k in set(raw) - {"question", "equals", "in"})
    if unknown:
        raise problem(N_("show_if: unknown key %(key)s (known: %(known)s)"),
                      key=repr(unknown[0]), known="equals, in, question")
    ref = str(raw.get("question", ""))
    if ref in later:
        raise problem(N_("show_if refers to question %(ref)s, which comes later (a condition "
                         "may only use earlier answers)"), ref=repr(ref))
    target = earlier.get(ref)
    if target is None:
        raise problem(N_("show_if refers to unknown question %(ref)s"), ref=repr(ref))
    if not target.has_options:
        raise problem(N_("show_if can only test choice questions, %(ref)s is a %(type)s "
                         "question"), ref=repr(ref), type=target.type)
    if ("equals" in raw) == ("in" in raw):
        raise problem(N_("show_if on %(ref)s needs either equals or in"), ref=repr(ref))
    values = [raw["equals"]] if "equals" in raw else raw["in"]
    if not isinstance(values, list) or not values:
        raise problem(N_("show_if 'in' takes a list of option values"))
    values = [_value(v) for v in values]
    for value in values:
        if target.option(value) is None:
            raise problem(N_("show_if tests %(ref)s for %(value)s, which is not one of its "
                             "options"), ref=repr(ref), value=repr(value))
    return Condition("in", question=ref, values=frozenset(values))


class QuizModel(_Part):
    """A quiz file: see quizzes/README.md."""

    model_config = ConfigDict(title="purl quiz", extra="forbid", populate_by_name=True,
                              frozen=True)
    slug: str
    public: StrictBool = True
    title: TextField | None = None
    intro: TextField | None = None
    questions: list[QuestionModel] = Field(min_length=1)
    visitor_campaign: str | None = None
    shop: str | None = None
    catalog: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _slug_and_questions(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise Problem(N_("expected a mapping with slug, title and questions"))
        slug = raw.get("slug")
        if not slug or not isinstance(slug, str):
            raise Problem(N_("missing slug"))
        if not SLUG.match(slug):
            raise Problem(N_("slug %(slug)s takes lower-case letters, digits and - only"),
                          slug=repr(slug))
        questions = raw.get("questions")
        if not isinstance(questions, list) or not questions:
            raise Problem(N_("needs a list of questions"))
        ids = [str(q["id"]) for q in questions if isinstance(q, dict) and q.get("id")]
        for qid in ids:
            if ids.count(qid) > 1:
                raise Problem(N_("duplicate question id"), question=qid)
        campaign = raw.get("visitor_campaign")
        if campaign is not None and (not isinstance(campaign, str) or not SLUG.match(campaign)):
            raise Problem(N_("visitor_campaign must be a campaign slug"))
        shop = raw.get("shop")
        if shop is not None and (not isinstance(shop, str) or not shop.strip()
                                 or len(shop) > 100):
            raise Problem(N_("shop must be the shop's name (up to 100 characters)"))
        catalog = raw.get("catalog")
        if catalog is not None and (not isinstance(catalog, str) or not CATALOG.match(catalog)):
            raise Problem(N_("catalog must be a catalog's name (lower-case letters, digits "
                             "and -)"))
        return raw

    def build(self, version: str, source: str) -> Quiz:
        ids = [q.id for q in self.questions]
        earlier: dict[str, Question] = {}
        questions = []
        for i, model in enumerate(self.questions):
            try:
                question = model.build(earlier, set(ids[i:]))  # this one and those after it
            except Problem as problem:
                problem.question = problem.question or model.id
                raise
            earlier[question.id] = question
            questions.append(question)
        return Quiz(
            slug=self.slug, version=version, title=self.title or {"de": self.slug},
            intro=self.intro or {}, questions=tuple(questions), public=self.public,
            source=source, visitor_campaign=self.visitor_campaign,
            shop=self.shop.strip() if self.shop else None,
            catalog=self.catalog or DEFAULT_CATALOG,
        )


def json_schema() -> dict[str, Any]:
    """The quiz file format as JSON Schema, for editors that check YAML as it is typed."""
    schema = QuizModel.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def validate_quiz(raw: Any, source: str = "", version: str = "") -> Quiz:
    """Validate quiz data (a parsed file, a console edit, API input) and build the quiz;
    raise QuizError with every problem pydantic finds, or the first the build does."""
    try:
        model = QuizModel.model_validate(raw)
    except ValidationError as exc:
        raise QuizError(source, [_problem_from(e, raw) for e in exc.errors()]) from None
    except Problem as problem:  # raised outside pydantic's own validation
        raise QuizError(source, [problem]) from None
    try:
        return model.build(version, source)
    except Problem as problem:
        raise QuizError(source, [problem]) from None


# libyaml's parser where PyYAML was built with it (the wheels are): the same safe subset,
# a tenth of the pure-Python parser's time, which a quiz file took 40 ms in.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def load_yaml(text: str) -> Any:
    """YAML as ``yaml.safe_load`` reads it."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader


def content_version(content: str) -> str:
    """A quiz text's version: the hash answers and events carry as ``quiz_version`` (and
    stored versions keep; migration 0013 computes it the same way)."""
    return hashlib.sha256(content.encode()).hexdigest()[:12]


def parse_quiz(content: str, source: str) -> Quiz:
    """Parse and validate one quiz file's text; raise QuizError naming ``source``."""
    try:
        raw = load_yaml(content)
    except yaml.YAMLError as exc:
        raise QuizError(source, [Problem(N_("not valid YAML: %(error)s"), error=str(exc))]) \
            from None
    # The content hash lets old answers be read against the file they were given to.
    version = content_version(content)
    return validate_quiz(raw, source, version)


_cache: dict[Path, tuple[float, Quiz]] = {}


def load_quiz_file(path: Path) -> Quiz:
    """Load one file, reusing the parsed quiz until the file changes."""
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    quiz = parse_quiz(path.read_text(encoding="utf-8"), path.name)
    _cache[path] = (mtime, quiz)
    return quiz


def _valid_files(folder: Path) -> list[tuple[Path, Quiz]]:
    found = []
    for path in sorted(folder.glob("*.y*ml")):
        try:
            found.append((path, load_quiz_file(path)))
        except QuizError as exc:
            log.error("quiz not served: %s", exc)
    return found


def list_quizzes(folder: str | Path) -> list[Quiz]:
    """Every valid quiz in ``folder``; invalid ones are logged and not served."""
    return [quiz for _path, quiz in _valid_files(Path(folder))]


def get_quiz(folder: str | Path, slug: str) -> Quiz | None:
    """The valid quiz ``slug`` in ``folder``, or None.

    Every shopper page asks this, so which file holds which slug is remembered; a slug that
    is not (or no longer) where it was remembered looks the folder through again, and the
    file itself is still checked for edits on every call by ``load_quiz_file``.
    """
    folder = Path(folder)
    # Remembered first, then looked up afresh; only afresh when nothing is remembered yet.
    for fresh in (True,) if folder not in _slugs else (False, True):
        if fresh:
            _slugs[folder] = {q.slug: p for p, q in reversed(_valid_files(folder))}
        path = _slugs[folder].get(slug)
        if path is None:
            continue
        try:
            quiz = load_quiz_file(path)
        except (OSError, QuizError):
            continue
        if quiz.slug == slug:
            return quiz
    return None


_slugs: dict[Path, dict[str, Path]] = {}
