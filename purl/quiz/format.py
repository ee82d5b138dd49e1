"""Quiz definitions: YAML files in ``quizzes/``, loaded into the dataclasses of ``schema``.

A quiz is content, reviewed like code. Loading validates it and every problem names the file,
the question and what is wrong, so ``flask quiz check`` and the app's log say the same thing.
The format is documented in ``quizzes/README.md``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

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
STATIC_FOLDER = Path(__file__).resolve().parent.parent.parent / "static"
TEXT_MAX_LENGTH = 500
YES_NO_LABELS = {"yes": {"de": "Ja", "en": "Yes"}, "no": {"de": "Nein", "en": "No"}}

QUIZ_KEYS = {"slug", "public", "title", "intro", "questions", "visitor_campaign", "shop"}
QUESTION_KEYS = {
    "id", "type", "text", "help", "required", "options", "order", "show_if", "min_choices",
    "max_choices", "min", "max", "step", "default", "unit", "maps_to", "max_length",
    "answered_by", "match",
}
OPTION_KEYS = {"value", "label", "reason", "filter", "exclude", "prefer", "image", "content"}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
QUESTION_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class QuizError(ValueError):
    """A quiz file that cannot be served; the message names file, question and problem."""


def _value(raw: Any) -> str:
    # YAML 1.1 reads an unquoted yes/no as a boolean; authors mean the words.
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return str(raw)


def _unknown_keys(raw: dict, known: set[str], where: str) -> None:
    unknown = sorted(str(k) for k in set(raw) - known)
    if unknown:
        raise QuizError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _text(raw: Any, where: str) -> Text:
    if isinstance(raw, str) and raw.strip():
        return {"de": raw}
    if isinstance(raw, dict) and raw and all(isinstance(v, str) for v in raw.values()):
        unknown = set(raw) - set(LOCALES)
        if unknown:
            raise QuizError(f"{where}: unknown language {sorted(unknown)}, use {list(LOCALES)}")
        return dict(raw)
    raise QuizError(f"{where}: expected a text or a mapping of language to text")


def _number(raw: Any, where: str, name: str) -> Decimal:
    if isinstance(raw, bool) or raw is None:
        raise QuizError(f"{where}: {name} must be a number")
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise QuizError(f"{where}: {name} must be a number, not {raw!r}") from None
    if not number.is_finite():
        raise QuizError(f"{where}: {name} must be a number, not {raw!r}")
    return number


def _content(raw: Any, where: str) -> tuple[Content, ...]:
    items = raw if isinstance(raw, list) else [raw]
    blocks = []
    for item in items:
        if not isinstance(item, dict) or "title" not in item or "body" not in item:
            raise QuizError(f"{where}: each content block needs a title and a body")
        blocks.append(Content(_text(item["title"], f"{where}, content title"),
                              _text(item["body"], f"{where}, content body")))
    return tuple(blocks)


def _attributes(raw: Any, where: str, numeric: bool) -> dict[str, dict]:
    if not isinstance(raw, dict) or not raw:
        raise QuizError(f"{where}: attributes must map an attribute name to its values")
    specs: dict[str, dict] = {}
    for name, wanted in raw.items():
        if isinstance(wanted, dict):
            if not wanted or set(wanted) - {"min", "max"}:
                raise QuizError(f"{where}: attribute {name!r} takes values or min/max")
            spec = {k: _number(v, where, f"{name} {k}") for k, v in wanted.items()}
            if "min" in spec and "max" in spec and spec["min"] > spec["max"]:
                raise QuizError(f"{where}: attribute {name!r}: min is above max")
            specs[str(name)] = spec
        else:
            items = wanted if isinstance(wanted, list) else [wanted]
            if not items or any(isinstance(v, dict | list) or v is None for v in items):
                raise QuizError(f"{where}: attribute {name!r} takes values or min/max")
            specs[str(name)] = {"in": [_value(v) for v in items]}
    return specs


def _option(raw: Any, where: str, qtype: str) -> Option:
    if not isinstance(raw, dict) or "value" not in raw:
        raise QuizError(f"{where}: each option needs a value and a label")
    value = _value(raw["value"])
    if qtype != "yesno" and "label" not in raw:
        raise QuizError(f"{where}: each option needs a value and a label")
    where = f"{where}, option {value!r}"
    _unknown_keys(raw, OPTION_KEYS, where)
    filt = dict(raw.get("filter") or {})
    if not isinstance(raw.get("filter") or {}, dict):
        raise QuizError(f"{where}: filter must be a mapping")
    unknown = set(filt) - FILTER_FIELDS
    if unknown:
        raise QuizError(
            f"{where}: filter on unknown catalog field {sorted(unknown)[0]!r} "
            f"(known: {', '.join(sorted(FILTER_FIELDS))})"
        )
    for key in ("price_min", "price_max"):
        if key in filt:
            filt[key] = _number(filt[key], where, key)
            if filt[key] < 0:
                raise QuizError(f"{where}: {key} must not be negative")
    if "price_min" in filt and "price_max" in filt and filt["price_min"] > filt["price_max"]:
        raise QuizError(f"{where}: price_min is above price_max")
    if "attributes" in filt:
        filt["attributes"] = _attributes(filt["attributes"], where, numeric=True)
    exclude = raw.get("exclude") or {}
    if not isinstance(exclude, dict):
        raise QuizError(f"{where}: exclude must be a mapping")
    exclude = dict(exclude)
    unknown = set(exclude) - EXCLUDE_FIELDS
    if unknown:
        raise QuizError(f"{where}: exclude on unknown catalog field {sorted(unknown)[0]!r} "
                        f"(known: {', '.join(sorted(EXCLUDE_FIELDS))})")
    if "attributes" in exclude:
        exclude["attributes"] = _attributes(exclude["attributes"], where, numeric=True)
    prefer = raw.get("prefer") or {}
    if not isinstance(prefer, dict) or set(prefer) - {"tags"}:
        raise QuizError(f"{where}: prefer takes only tags: {{tag: weight}}")
    tags = prefer.get("tags", {})
    if not isinstance(tags, dict):
        raise QuizError(f"{where}: prefer.tags must map tag to weight")
    weights = {str(k): float(_number(v, where, f"weight of tag {k!r}")) for k, v in tags.items()}
    image = raw.get("image")
    if qtype == "image":
        if not isinstance(image, str) or not image:
            raise QuizError(f"{where}: an image choice needs an image (a path under static/)")
        path = (STATIC_FOLDER / image).resolve()
        if STATIC_FOLDER not in path.parents or not path.is_file():
            raise QuizError(f"{where}: image {image!r} not found under static/")
    elif image is not None:
        raise QuizError(f"{where}: only options of an image question take an image")
    label = raw.get("label") or YES_NO_LABELS.get(value)
    return Option(
        value=value,
        label=_text(label, where),
        filter=filt,
        exclude=exclude,
        prefer_tags=weights,
        image=image,
        content=_content(raw["content"], where) if raw.get("content") else (),
        reason=_text(raw["reason"], f"{where}, reason") if raw.get("reason") else None,
    )


def _condition(raw: Any, where: str, earlier: dict[str, Question], later: set[str]) -> Condition:
    if not isinstance(raw, dict) or len(raw) == 0:
        raise QuizError(f"{where}: show_if must be a mapping "
                        "(question with equals or in, or not/all/any)")
    if "not" in raw:
        if len(raw) != 1:
            raise QuizError(f"{where}: show_if 'not' stands alone")
        return Condition("not", parts=(_condition(raw["not"], where, earlier, later),))
    for combinator in ("all", "any"):
        if combinator in raw:
            parts = raw[combinator]
            if len(raw) != 1 or not isinstance(parts, list) or not parts:
                raise QuizError(f"{where}: show_if {combinator!r} takes a list of conditions")
            return Condition(combinator,
                             parts=tuple(_condition(p, where, earlier, later) for p in parts))
    _unknown_keys(raw, {"question", "equals", "in"}, f"{where}: show_if")
    ref = str(raw.get("question", ""))
    if ref in later:
        raise QuizError(f"{where}: show_if refers to question {ref!r}, which comes later "
                        "(a condition may only use earlier answers)")
    target = earlier.get(ref)
    if target is None:
        raise QuizError(f"{where}: show_if refers to unknown question {ref!r}")
    if not target.has_options:
        raise QuizError(f"{where}: show_if can only test choice questions, "
                        f"{ref!r} is a {target.type} question")
    if ("equals" in raw) == ("in" in raw):
        raise QuizError(f"{where}: show_if on {ref!r} needs either equals or in")
    values = [raw["equals"]] if "equals" in raw else raw["in"]
    if not isinstance(values, list) or not values:
        raise QuizError(f"{where}: show_if 'in' takes a list of option values")
    values = [_value(v) for v in values]
    for value in values:
        if target.option(value) is None:
            raise QuizError(f"{where}: show_if tests {ref!r} for {value!r}, "
                            "which is not one of its options")
    return Condition("in", question=ref, values=frozenset(values))


def _range(raw: dict, where: str) -> Range:
    for key in ("min", "max"):
        if key not in raw:
            raise QuizError(f"{where}: a range question needs min and max")
    low, high = _number(raw["min"], where, "min"), _number(raw["max"], where, "max")
    if low >= high:
        raise QuizError(f"{where}: bad range bounds: min ({low}) must be below max ({high})")
    step = _number(raw.get("step", 1), where, "step")
    if step <= 0 or step > high - low:
        raise QuizError(f"{where}: step must be above 0 and at most max - min")
    default = _number(raw.get("default", high), where, "default")
    if not low <= default <= high:
        raise QuizError(f"{where}: default ({default}) lies outside {low}–{high}")
    maps_to = raw.get("maps_to")
    attribute, bound = None, "max"
    if isinstance(maps_to, dict):
        if (set(maps_to) - {"attribute", "bound"} or not isinstance(maps_to.get("attribute"), str)
                or maps_to.get("bound", "max") not in ("min", "max")):
            raise QuizError(f"{where}: maps_to takes an attribute and a bound (min or max)")
        attribute, bound = maps_to["attribute"], maps_to.get("bound", "max")
    elif maps_to is not None:
        if maps_to not in RANGE_TARGETS:
            raise QuizError(f"{where}: maps_to {maps_to!r} is not a catalog filter "
                            f"(known: {', '.join(sorted(RANGE_TARGETS))})")
        attribute, bound = "price", maps_to.removeprefix("price_")
    if attribute == "price" and low < 0:
        raise QuizError(f"{where}: a price range cannot go below 0")
    return Range(low, high, step, default, str(raw.get("unit", "")), attribute, bound)


def _answered_by(raw: Any, where: str, options: tuple[Option, ...]) -> AnsweredBy:
    if (not isinstance(raw, dict) or not isinstance(raw.get("attribute"), str)
            or not isinstance(raw.get("map"), dict) or not raw["map"]):
        raise QuizError(f"{where}: answered_by needs an attribute and a map of its values "
                        "to option values")
    mapping = {str(k): _value(v) for k, v in raw["map"].items()}
    offered = {o.value for o in options}
    for key, value in mapping.items():
        if value not in offered:
            raise QuizError(f"{where}: answered_by maps {key!r} to {value!r}, "
                            "which is not one of the options")
    return AnsweredBy(raw["attribute"], mapping)


def _question(raw: Any, where: str, earlier: dict[str, Question], later: set[str]) -> Question:
    if not isinstance(raw, dict) or not raw.get("id"):
        raise QuizError(f"{where}: every question needs an id")
    qid = str(raw["id"])
    where = f"{where.rsplit(',', 1)[0]}, question {qid!r}"
    if not QUESTION_ID.match(qid):
        raise QuizError(f"{where}: an id takes lower-case letters, digits, - and _ only")
    _unknown_keys(raw, QUESTION_KEYS, where)
    qtype = raw.get("type", "single")
    if qtype not in QUESTION_TYPES:
        known = ", ".join(sorted(QUESTION_TYPES))
        raise QuizError(f"{where}: unknown type {qtype!r} (known: {known})")
    raw_options = raw.get("options")
    options: tuple[Option, ...] = ()
    if qtype == "yesno":
        raw_options = raw_options or [{"value": "yes"}, {"value": "no"}]
        values = sorted(_value(o.get("value")) for o in raw_options if isinstance(o, dict))
        if values != ["no", "yes"]:
            raise QuizError(f"{where}: a yes/no question's options are exactly yes and no")
    if qtype in CHOICE_TYPES:
        if not isinstance(raw_options, list) or len(raw_options) < 2:
            raise QuizError(f"{where}: needs at least two options")
        options = tuple(_option(o, where, qtype) for o in raw_options)
        seen: set[str] = set()
        for option in options:
            if option.value in seen:
                raise QuizError(f"{where}: duplicate option value {option.value!r}")
            seen.add(option.value)
    elif raw_options:
        raise QuizError(f"{where}: a {qtype} question has no options")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise QuizError(f"{where}: required is true or false")
    order = raw.get("order", "fixed")
    if order not in ("fixed", "shuffled"):
        raise QuizError(f"{where}: order is fixed or shuffled, not {order!r}")
    min_choices, max_choices = raw.get("min_choices"), raw.get("max_choices")
    if (min_choices is not None or max_choices is not None) and qtype != "multi":
        raise QuizError(f"{where}: min_choices/max_choices apply to multi questions only")
    if qtype == "multi":
        for name, bound in (("min_choices", min_choices), ("max_choices", max_choices)):
            if bound is not None and (not isinstance(bound, int) or isinstance(bound, bool)
                                      or not 1 <= bound <= len(options)):
                raise QuizError(f"{where}: {name} must be a whole number from 1 to "
                                f"{len(options)} (the number of options)")
        if min_choices and max_choices and min_choices > max_choices:
            raise QuizError(f"{where}: min_choices ({min_choices}) is above "
                            f"max_choices ({max_choices})")
    range_keys = {"min", "max", "step", "default", "unit", "maps_to"} & set(raw)
    if qtype != "range" and range_keys:
        raise QuizError(f"{where}: {sorted(range_keys)[0]} applies to range questions only")
    max_length = raw.get("max_length", 200)
    if qtype == "text" and (not isinstance(max_length, int) or isinstance(max_length, bool)
                            or not 1 <= max_length <= TEXT_MAX_LENGTH):
        raise QuizError(f"{where}: max_length must be from 1 to {TEXT_MAX_LENGTH}")
    answered_by = None
    if raw.get("answered_by") is not None:
        if qtype not in ("single", "image", "yesno", "multi"):
            raise QuizError(f"{where}: answered_by applies to choice questions only")
        answered_by = _answered_by(raw["answered_by"], where, options)
    match = raw.get("match", "auto")
    if match not in ("must", "nice", "auto"):
        raise QuizError(f"{where}: match is must, nice or auto, not {match!r}")
    return Question(
        id=qid,
        match=match,
        type=qtype,
        text=_text(raw.get("text"), where),
        options=options,
        help=_text(raw["help"], where) if raw.get("help") else {},
        required=required,
        shuffle=order == "shuffled",
        show_if=(_condition(raw["show_if"], where, earlier, later)
                 if raw.get("show_if") is not None else None),
        min_choices=min_choices or (1 if qtype == "multi" and required else 0),
        max_choices=max_choices,
        range=_range(raw, where) if qtype == "range" else None,
        max_length=max_length if qtype == "text" else 200,
        answered_by=answered_by,
    )


def parse_quiz(content: str, source: str) -> Quiz:
    """Parse and validate one quiz file's text; raise QuizError naming ``source``."""
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise QuizError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise QuizError(f"{source}: expected a mapping with slug, title and questions")
    _unknown_keys(raw, QUIZ_KEYS, source)
    slug = raw.get("slug")
    if not slug or not isinstance(slug, str):
        raise QuizError(f"{source}: missing slug")
    if not SLUG.match(slug):
        raise QuizError(f"{source}: slug {slug!r} takes lower-case letters, digits and - only")
    questions_raw = raw.get("questions")
    if not isinstance(questions_raw, list) or not questions_raw:
        raise QuizError(f"{source}: needs a list of questions")
    all_ids = [str(q["id"]) for q in questions_raw if isinstance(q, dict) and q.get("id")]
    for qid in all_ids:
        if all_ids.count(qid) > 1:
            raise QuizError(f"{source}, question {qid!r}: duplicate question id")
    earlier: dict[str, Question] = {}
    questions = []
    for i, raw_question in enumerate(questions_raw):
        later = set(all_ids[i:])  # this question and those after it
        question = _question(raw_question, f"{source}, question #{i + 1}", earlier, later)
        earlier[question.id] = question
        questions.append(question)
    campaign = raw.get("visitor_campaign")
    if campaign is not None and (not isinstance(campaign, str) or not SLUG.match(campaign)):
        raise QuizError(f"{source}: visitor_campaign must be a campaign slug")
    shop = raw.get("shop")
    if shop is not None and (not isinstance(shop, str) or not shop.strip() or len(shop) > 100):
        raise QuizError(f"{source}: shop must be the shop's name (up to 100 characters)")
    return Quiz(
        slug=slug,
        # The content hash lets old answers be read against the file they were given to.
        version=hashlib.sha256(content.encode()).hexdigest()[:12],
        title=_text(raw.get("title", slug), f"{source}: title"),
        intro=_text(raw["intro"], f"{source}: intro") if raw.get("intro") else {},
        questions=tuple(questions),
        public=bool(raw.get("public", True)),
        source=source,
        visitor_campaign=campaign,
        shop=shop.strip() if shop else None,
    )


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
