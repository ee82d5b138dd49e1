"""The answer form for one quiz question, built from the question's definition."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget, NumberInput

from purl.quiz import flow as logic
from purl.quiz.schema import Option, Question, localize
from purl.shopper.tone import current as current_tone
from purl.shopper.tone import lazy_say as _l


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NumberField(DecimalField):
    """A decimal field whose unreadable input gets the question's own message."""

    def __init__(self, *args, unreadable: str = "", **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.unreadable = unreadable

    def _value(self) -> str:
        # What the field shows again: 50, not the stored 50.0; 7.5 as a number input wants
        # it (the browser writes it the shopper's way, 7,5 in German).
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format(Decimal(str(self.data)).normalize(), "f")

    def process_formdata(self, valuelist: list) -> None:
        if valuelist and valuelist[0].strip():
            valuelist = [valuelist[0].strip().replace(",", ".")]  # German decimal comma
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(self.unreadable) from None


class ChoiceCount:
    """A multiple choice's min/max number of selections, with a message the shopper reads."""

    def __init__(self, low: int, high: int | None) -> None:
        self.low, self.high = low, high

    def __call__(self, form: FlaskForm, field: SelectMultipleField) -> None:
        count = len(field.data or [])
        if count < self.low:
            if self.low == 1:
                raise ValidationError(_l("Please choose at least one answer."))
            raise ValidationError(_l("Please choose at least %(num)s answers.", num=self.low))
        if self.high and count > self.high:
            raise ValidationError(_l("Please choose at most %(num)s answers.", num=self.high))


def answer_form(
    question: Question, locale: str, current: object = None, options: list[Option] | None = None
) -> FlaskForm:
    """A CSRF-protected form with one field, ``answer``, for the question's type.

    ``options`` is the order to offer them in (see logic.option_order).
    """
    tone = current_tone()
    label = localize(question.text, locale, tone)
    choices = [SelectChoice(o.value, localize(o.label, locale, tone))
               for o in (options if options is not None else question.options)]

    class AnswerForm(FlaskForm):
        pass

    if question.type == "multi":
        validators = [ChoiceCount(question.min_choices, question.max_choices)]
        AnswerForm.answer = CheckboxesField(label, choices=choices, validators=validators)
    elif question.type == "range":
        spec = question.range
        assert spec is not None
        message = _l("Please enter a number from %(min)s to %(max)s.", **spec.bounds)
        AnswerForm.answer = NumberField(
            label, places=None, unreadable=message,
            widget=NumberInput(step=spec.step, min=spec.min, max=spec.max),
            validators=[InputRequired(message) if question.required else Optional(),
                        NumberRange(spec.min, spec.max, message)],
        )
        if current is None:
            current = spec.default
    elif question.type == "text":
        AnswerForm.answer = StringField(
            label,
            validators=[
                InputRequired(_l("Please enter an answer.")) if question.required else Optional(),
                Length(max=question.max_length, message=_l(
                    "Please keep it to %(num)s characters.", num=question.max_length)),
            ],
            render_kw={"maxlength": question.max_length, "autocomplete": "off"},
        )
    else:
        AnswerForm.answer = RadioField(
            label, choices=choices,
            validators=[InputRequired(_l("Please choose an answer.")) if question.required
                        else Optional()],
        )
    return AnswerForm(data={"answer": current} if current is not None else None)


class VisitorLinkForm(FlaskForm):
    """The optional last step for a visitor: their email, with explicit consent, for a link."""

    email = EmailField(
        _l("Your email address"),
        validators=[InputRequired(_l("Please enter your email address.")),
                    Length(max=254),
                    # A plausibility check only: the address is proven when a mail arrives.
                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                           message=_l("Please enter a valid email address."))],
        render_kw={"autocomplete": "email"},
    )
    consent = BooleanField(
        _l("Yes, store my email address with my personal link. I can withdraw this at any time."),
        validators=[InputRequired(_l("Please confirm that we may store your address."))],
    )


def submitted_answer(question: Question, form: FlaskForm) -> object:
    """The answer a validated ``answer_form`` holds, as the quiz stores it; ValueError when
    it is no answer to this question (the validators say it kinder; this guards the data)."""
    data = form.answer.data
    raw = data if isinstance(data, list) else [data]
    return logic.clean_value(question, ["" if v is None else str(v) for v in raw])
