"""Du or Sie on the shopper's pages: the journey's tone (``g.tone``) picks the formal
translation (context ``formal``, the same the console uses) of every page text that has one.

Templates of the shopper blueprint get ``_``/``gettext``/``ngettext`` from here (a context
processor), Python code ``say`` and the lazy ``lazy_say``; all keep the msgids ``pybabel``
extracts, so a text without a formal form is simply the plain one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g
from flask_babel import LazyString, force_locale, get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

FORMAL = "formal"


@contextmanager
def speaking(locale: str, tone: str) -> Iterator[None]:
    """Render in ``locale`` and ``tone`` for a while (the builder's previews and test run
    show the shopper's pages inside a console request); the request's own tone after."""
    was = g.get("tone")
    g.tone = tone
    try:
        with force_locale(locale):
            yield
    finally:
        g.tone = was


def current() -> str:
    return g.get("tone", "du")


def _translations() -> Any:
    """The request's translations, looked up once per locale and request: a shopper's page
    asks for a dozen texts, and Flask-Babel finds its context three times for each."""
    locale = get_locale()
    held = g.get("_tone_translations")
    if held is None or held[0] is not locale:
        held = g._tone_translations = (locale, get_translations())
    return held[1]


def _text(string: str) -> str:
    translations = _translations()
    if current() == "sie":
        formal = translations.pgettext(FORMAL, string)
        if formal != string:
            return formal
    return translations.gettext(string)


def _plural(singular: str, plural: str, num: int) -> str:
    translations = _translations()
    if current() == "sie":
        formal = translations.npgettext(FORMAL, singular, plural, num)
        if formal not in (singular, plural):
            return formal
    return translations.ngettext(singular, plural, num)


def say(string: str, **variables: Any) -> str:
    """gettext in the journey's tone."""
    text = _text(string)
    return text % variables if variables else text


def lazy_say(string: str, **variables: Any) -> LazyString:
    """lazy_gettext in the tone of the request it is shown in (form labels, validators)."""
    return LazyString(say, string, **variables)


@pass_context
def _gettext(context: Context, string: str, **variables: Any) -> str:
    # As Jinja's newstyle gettext: the translation is trusted, the values escaped.
    text = _text(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    text = _plural(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def template_context() -> dict[str, Any]:
    return {"_": _gettext, "gettext": _gettext, "ngettext": _ngettext, "tone": current()}


def _formal_forms() -> None:  # pragma: no cover - never called
    """The page texts with a formal (Sie) form, spelled out so ``pybabel extract`` keeps
    their ``formal`` entries in the catalog (the lookups above are by variable)."""
    from flask_babel import npgettext, pgettext

    pgettext("formal", "Please keep it to %(num)s characters.")
    pgettext("formal", "Your email address")
    pgettext("formal", "Please enter your email address.")
    pgettext("formal", "Please confirm that we may store your address.")
    pgettext("formal", "Your personal link")
    pgettext("formal", "This link always leads back to your selection. Keep it to yourself: "
                       "it opens your answers.")
    pgettext("formal", "Keep your selection?")
    pgettext("formal", "Leave your email address and get a personal link back to your "
                       "selection. This step is optional.")
    pgettext("formal", "We keep your address with this link and use it for nothing else "
                       "without asking you.")
    pgettext("formal", "Your personal offer")
    pgettext("formal", "Your code")
    pgettext("formal", "Only a few products matched every answer, so we relaxed “%(answers)s”.")
    pgettext("formal", "%(num)s of %(all)s products match your filters.")
    pgettext("formal", "Nothing in the catalog matches all your answers right now.")
    pgettext("formal", "Answer a few quick questions and get a selection made for you.")
    pgettext("formal", "Continue where you left off")
    pgettext("formal", "We use your answers only to put together your personal selection.")
    pgettext("formal", "Your selection")
    pgettext("formal", "Picked for you")
    pgettext("formal", "Your answers")
    pgettext("formal", "Tips for you")
    pgettext("formal", "Please choose at least one answer.")
    pgettext("formal", "Please choose at least %(num)s answers.")
    pgettext("formal", "Please choose at most %(num)s answers.")
    pgettext("formal", "Please enter a number from %(min)s to %(max)s.")
    pgettext("formal", "Please enter an answer.")
    pgettext("formal", "Please choose an answer.")
    pgettext("formal", "Please enter a valid email address.")
    pgettext("formal", "This form has expired. Nothing was saved, please answer again.")
    npgettext("formal", "%(num)s product matches your answers.",
              "%(num)s products match your answers.", 2)
