"""Offers by rule: besides the campaign's own offer, a discount code and text shown only to
shoppers whose answers or CRM attributes match (dog owners get ``HUND10``, segment "VIP"
another). The rules are tried in the marketer's order and the first that matches wins; a
shopper no rule matches gets the campaign's offer, if it has one.

A rule is kept on the campaign (``Campaign.offers``, a JSON list) as
``{"name", "code", "text", "source": "answer"|"attribute", "key", "values": [...]}``: it
matches when the answer to question ``key`` (one of a multiple choice's answers) or the CRM
attribute ``key`` (case and spaces ignored) is one of ``values``. The export of a recipient
list knows no answers yet, so there only attribute rules apply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from purl.models import Campaign

log = logging.getLogger(__name__)

MAX_RULES = 10
SOURCES = ("answer", "attribute")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # as the campaign's own offer code


@dataclass(frozen=True)
class Offer:
    """What a shopper is offered; ``rule`` names the rule that matched (None: the campaign's
    own offer)."""

    code: str
    text: str = ""
    rule: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    code: str
    text: str
    source: str
    key: str
    values: tuple[str, ...]

    def stored(self) -> dict[str, Any]:
        return {"name": self.name, "code": self.code, "text": self.text,
                "source": self.source, "key": self.key, "values": list(self.values)}

    def matches(self, attributes: Mapping[str, Any] | None,
                answers: Mapping[str, Any] | None) -> bool:
        if self.source == "answer":
            given = (answers or {}).get(self.key)
            chosen = given if isinstance(given, list | tuple) else [given]
            return any(_same(v) in self._wanted for v in chosen if v not in (None, ""))
        found = _attribute(attributes or {}, self.key)
        return found is not None and _same(found) in self._wanted

    @property
    def _wanted(self) -> set[str]:
        return {_same(v) for v in self.values}


OFFER_COLUMNS = ("offer_code", "offer_text")  # a list's export, when the campaign has rules


def _same(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _attribute(attributes: Mapping[str, Any], key: str) -> Any:
    """A CRM attribute by its column name, case and spaces ignored (``Segment`` = ``segment``)."""
    if key in attributes:
        return attributes[key]
    wanted = _same(key)
    for name, value in attributes.items():
        if _same(name) == wanted:
            return value
    return None


def rules_of(campaign: Campaign) -> list[Rule]:
    """The campaign's offer rules, in order (what a stored list holds that no longer reads as
    a rule is left out)."""
    rules = []
    for item in campaign.offers or []:
        try:
            rules.append(Rule(str(item["name"]), str(item["code"]), str(item.get("text") or ""),
                              str(item["source"]), str(item["key"]),
                              tuple(str(v) for v in item["values"])))
        except (KeyError, TypeError):
            log.warning("campaign %s: an offer rule that does not read: %r", campaign.id, item)
    return rules


def offer_for(campaign: Campaign | None, attributes: Mapping[str, Any] | None,
              answers: Mapping[str, Any] | None, *, with_answers: bool = True) -> Offer | None:
    """The offer a shopper gets: the first rule that matches, else the campaign's own offer,
    else None. ``with_answers=False`` (a list's export, before anyone answered) tries the
    attribute rules alone."""
    if campaign is None:
        return None
    return choose(rules_of(campaign), own_offer(campaign), attributes, answers,
                  with_answers=with_answers)


def own_offer(campaign: Campaign) -> Offer | None:
    """The campaign's own offer (for shoppers no rule matches), or None."""
    return Offer(campaign.offer_code, campaign.offer_text or "") if campaign.offer_code else None


def choose(rules: Sequence[Rule], fallback: Offer | None, attributes: Mapping[str, Any] | None,
           answers: Mapping[str, Any] | None, *, with_answers: bool = True) -> Offer | None:
    """The first of ``rules`` that matches, else ``fallback``: the one rule, for the pages and
    for a list's export (which hands the rules to its worker processes)."""
    for rule in rules:
        if rule.source == "answer" and not with_answers:
            continue
        if rule.matches(attributes, answers):
            return Offer(rule.code, rule.text, rule.name)
    return fallback


class RuleError(ValueError):
    """A rule the console refuses: ``msgid``/``params`` name the rule (its number from 1) and
    the field, for the marketer's language."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid % params)
        self.msgid, self.params = msgid, params


def N_(message: str) -> str:  # noqa: N802 - the msgid marker pybabel extracts
    return message


def parse_rules(rows: list[Mapping[str, str]],
                questions: Mapping[str, set[str]] | None = None) -> list[Rule]:
    """Rules from the console's rows (blank rows left out); RuleError for the first wrong
    field. ``questions`` (question id -> its answer values) checks answer rules against the
    campaign's quiz."""
    rules: list[Rule] = []
    for number, row in enumerate(rows, 1):
        fields = {k: (row.get(k) or "").strip() for k in ("name", "code", "text", "source",
                                                          "key", "values")}
        if not any(fields[k] for k in ("name", "code", "text", "key", "values")):
            continue
        values = tuple(v.strip() for v in re.split(r"[,;\n]", fields["values"]) if v.strip())
        if not CODE.match(fields["code"]):
            raise RuleError(N_("Rule %(number)d: the discount code takes letters, digits, - "
                               "and _ (up to 64), e.g. HUND10."), number=number)
        if fields["source"] not in SOURCES:
            raise RuleError(N_("Rule %(number)d: please choose whether it looks at an answer "
                               "or a CRM column."), number=number)
        if not fields["key"]:
            raise RuleError(N_("Rule %(number)d: please name the question or the CRM "
                               "column."), number=number)
        if not values:
            raise RuleError(N_("Rule %(number)d: please name at least one value it matches."),
                            number=number)
        if fields["source"] == "answer" and questions is not None:
            if fields["key"] not in questions:
                raise RuleError(N_("Rule %(number)d: the campaign's quiz has no question "
                                   "“%(key)s”; its questions are %(known)s."), number=number,
                                key=fields["key"], known=", ".join(sorted(questions)) or "–")
            unknown = [v for v in values if v not in questions[fields["key"]]]
            if questions[fields["key"]] and unknown:
                raise RuleError(N_("Rule %(number)d: question “%(key)s” has no answer "
                                   "“%(value)s”; its answers are %(known)s."), number=number,
                                key=fields["key"], value=unknown[0],
                                known=", ".join(sorted(questions[fields["key"]])))
        if len(fields["text"]) > 1000:
            raise RuleError(N_("Rule %(number)d: please keep the offer text to 1000 "
                               "characters."), number=number)
        rules.append(Rule(fields["name"][:100] or fields["code"], fields["code"],
                          fields["text"], fields["source"], fields["key"][:100], values))
    if len(rules) > MAX_RULES:
        raise RuleError(N_("At most %(count)d offer rules, please."), count=MAX_RULES)
    return rules


def set_rules(campaign: Campaign, rules: list[Rule]) -> None:
    """Keep the rules on the campaign (only changes the object; the caller commits)."""
    campaign.offers = [rule.stored() for rule in rules]
