"""The answer form for one quiz question, built from the question's definition."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectMultipleField
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from .definition import Question, localize


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def answer_form(question: Question, locale: str, current: object = None) -> FlaskForm:
    """A CSRF-protected form with one field, ``answer``, offering the question's options."""
    choices = [SelectChoice(o.value, localize(o.label, locale)) for o in question.options]
    label = localize(question.text, locale)

    class AnswerForm(FlaskForm):
        pass

    if question.type == "multi":
        validators = (
            [InputRequired(_l("Please choose at least one answer."))] if question.required else []
        )
        AnswerForm.answer = CheckboxesField(label, choices=choices, validators=validators)
    else:
        AnswerForm.answer = RadioField(
            label, choices=choices, validators=[InputRequired(_l("Please choose an answer."))]
        )
    return AnswerForm(data={"answer": current} if current is not None else None)
