"""Console forms: sign-in, campaigns with their landing variants, users, sharing, teams, API
keys, webhook endpoints."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from purl.campaigns.records import OFFER_CODE, SLUG, UTM_VALUE, slug_from  # noqa: F401

VARIANT_KEY = r"^[a-z0-9][a-z0-9-]{0,31}$"
# A host name (letters, digits, dashes, dots; an IDN as its xn-- form) or an IPv4 address,
# with an optional port: what a printed link or a QR code can carry as it is.
HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}"
                  r"[a-z0-9])?(?::\d{1,5})?$")
VARIANT_ROWS = 4  # variants shown in the form; enough for an A/B/C/D test


ROLE_CHOICES = [SelectChoice("marketer", _l("Marketer")), SelectChoice("admin", _l("Admin"))]
# A campaign's members (purl.campaigns.access.MEMBER_ROLES).
SHARE_ROLE_CHOICES = [SelectChoice("viewer", _l("can view")),
                      SelectChoice("editor", _l("can edit"))]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1024)])


class VariantForm(Form):
    """One landing variant; a row left empty is no variant."""

    key = StringField(_l("Key"), validators=[
        Optional(), Regexp(VARIANT_KEY, message=_l("Use lowercase letters, digits and dashes."))])
    headline = StringField(_l("Headline"), validators=[Length(max=200)])
    message = TextAreaField(_l("Message"), validators=[Length(max=5000)])

    @property
    def is_empty(self) -> bool:
        return not any((self.key.data or "", self.headline.data or "",
                        (self.message.data or "").strip()))


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        InputRequired(_l("Please give the campaign a name.")), Length(max=200)])
    slug = StringField(_l("Short name in addresses"), validators=[
        Optional(), Regexp(SLUG, message=_l("Use lowercase letters, digits and dashes."))],
        description=_l("Leave empty to derive it from the name. It cannot change later."))
    quiz_slug = SelectField(_l("Quiz"), validators=[InputRequired()])
    locale = SelectField(_l("Language"), choices=[SelectChoice("de", _l("German")),
                                                  SelectChoice("en", _l("English"))])
    tone = SelectField(_l("Address shoppers as"),
                       choices=[SelectChoice("du", _l("du (informal)")),
                                SelectChoice("sie", _l("Sie (formal)"))])
    headline = StringField(_l("Headline"), validators=[Length(max=200)])
    message = TextAreaField(_l("Message"), validators=[Length(max=5000)])
    variants = FieldList(FormField(VariantForm), min_entries=VARIANT_ROWS,
                         max_entries=VARIANT_ROWS)
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    expires_on = DateField(_l("Links work until"), validators=[Optional()],
                           description=_l("Links answer “expired” after the end of this day."))
    utm_source = StringField("utm_source", validators=[Optional(), Length(max=100), Regexp(
        UTM_VALUE, message=_l("Use letters, digits, dots, dashes and underscores."))])
    utm_medium = StringField("utm_medium", validators=[Optional(), Length(max=100), Regexp(
        UTM_VALUE, message=_l("Use letters, digits, dots, dashes and underscores."))])
    utm_campaign = StringField("utm_campaign", validators=[Optional(), Length(max=100), Regexp(
        UTM_VALUE, message=_l("Use letters, digits, dots, dashes and underscores."))])
    offer_code = StringField(_l("Discount code"), validators=[Optional(), Length(max=64), Regexp(
        OFFER_CODE, message=_l("Use letters, digits, dashes and underscores."))])
    offer_text = TextAreaField(_l("Offer text"), validators=[Length(max=1000)])
    # Empty: the install's PURL_EVENT_RETENTION_DAYS; 0: kept for ever (privacy.purge_events).
    event_retention_days = IntegerField(
        _l("Keep events for (days)"), validators=[Optional(), NumberRange(
            0, 36500, _l("Please give a number of days from 0 to 36500."))],
        description=_l("Visits, quiz steps and clicks older than this are deleted; the "
                       "funnel's totals stay. Empty: the install's setting; 0: kept."))
    base_url = StringField(_l("Link address"), filters=[lambda v: v.strip() if v else v],
                           validators=[Optional(), Length(max=255)],
                           description=_l("Where this campaign's links start, e.g. "
                                          "https://aktion.example.de. Leave empty to use the "
                                          "installation's address."))

    def __init__(self, *args, used_variants: dict[str, int] | None = None, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.used_variants = used_variants or {}

    def validate_ends_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The campaign cannot end before it starts."))

    def validate_expires_on(self, field: DateField) -> None:
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("Links cannot expire before the campaign starts."))

    def validate_offer_text(self, field: TextAreaField) -> None:
        if (field.data or "").strip() and not self.offer_code.data:
            raise ValidationError(_l("An offer text needs a discount code."))

    def validate_base_url(self, field: StringField) -> None:
        field.data = link_address(field.data)

    def validate_variants(self, field: FieldList) -> None:
        filled = [entry for entry in field.entries if not entry.form.is_empty]
        seen: set[str] = set()
        for entry in filled:
            form = entry.form
            if not form.key.data:
                form.key.errors = [*form.key.errors, _l("Each variant needs a key.")]
            elif form.key.data in seen:
                form.key.errors = [*form.key.errors, _l("Each key can be used only once.")]
            seen.add(form.key.data or "")
            if not (form.headline.data or (form.message.data or "").strip()):
                form.headline.errors = [*form.headline.errors,
                                        _l("Give the variant a headline or a message.")]
        if len(filled) == 1:
            raise ValidationError(_l("An A/B test needs at least two variants."))
        kept = {entry.form.key.data for entry in filled}
        for key, count in sorted(self.used_variants.items()):
            if key not in kept:
                raise ValidationError(_l(
                    "Variant “%(key)s” is already assigned to %(count)d links and cannot be "
                    "removed.", key=key, count=count))
        if any(entry.form.errors for entry in filled):
            raise ValidationError(_l("Please check the variants."))

    def variant_list(self) -> list[dict[str, str]]:
        return [
            {"key": e.form.key.data, "headline": (e.form.headline.data or "").strip(),
             "message": (e.form.message.data or "").strip()}
            for e in self.variants.entries if not e.form.is_empty
        ]


def link_address(value: str | None) -> str | None:
    """A campaign's link address as links will start with it (``https://host[:port]``), or
    ValidationError: an http or https address of a site alone, without a path, query, user
    name or password (a link ``https://user@host`` would land on a phishing warning)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(_l("Enter an address starting with https://, e.g. "
                                 "https://aktion.example.de."))
    if "@" in parts.netloc:
        raise ValidationError(_l("The address must not contain a user name or password."))
    if parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValidationError(_l("Only the address of the site, without a path: "
                                 "https://aktion.example.de (links add /p/… themselves)."))
    host = parts.netloc.lower()
    if not host.isascii():  # an umlaut domain: links and QR codes carry its xn-- form
        name, colon, port = host.partition(":")
        try:
            host = name.encode("idna").decode("ascii") + colon + port
        except UnicodeError:
            raise ValidationError(_l("This is not a valid host name.")) from None
    if not HOST.match(host):
        raise ValidationError(_l("This is not a valid host name."))
    return f"{parts.scheme.lower()}://{host}"


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[
        InputRequired(), Length(max=254),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Please enter an email address."))])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    password = PasswordField(_l("Initial password"), validators=[
        InputRequired(), Length(min=10, max=1024,
                                message=_l("Use at least 10 characters."))])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class SettingsForm(FlaskForm):
    """Defaults for new campaigns (each campaign can still change them)."""

    quiz_slug = SelectField(_l("Quiz"))
    locale = CampaignForm.locale
    tone = CampaignForm.tone
    utm_source = CampaignForm.utm_source
    utm_medium = CampaignForm.utm_medium


EMAIL_SHAPE = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Please enter an email address."))


def _stripped(value: str | None) -> str | None:
    # An address pasted from a mail client often brings a space along.
    return value.strip() if isinstance(value, str) else value


class ShareForm(FlaskForm):
    """Share a campaign with a user (by email) or a team; the page offers one at a time."""

    email = EmailField(_l("Email of the user"), filters=[_stripped],
                       validators=[Optional(), Length(max=254), EMAIL_SHAPE])
    team = SelectField(_l("Team"), validators=[Optional()])  # choices: the view's teams
    role = SelectField(_l("Right"), choices=SHARE_ROLE_CHOICES)

    def validate(self, extra_validators=None) -> bool:  # noqa: ANN001
        if not super().validate(extra_validators):
            return False
        if bool(self.email.data) == bool(self.team.data):
            self.email.errors = [*self.email.errors,
                                 _l("Enter a user's email address or choose a team.")]
            return False
        return True


class MemberRoleForm(FlaskForm):
    role = SelectField(_l("Right"), choices=SHARE_ROLE_CHOICES)


class TeamForm(FlaskForm):
    name = StringField(_l("Name of the team"), validators=[
        InputRequired(_l("Please give the team a name.")), Length(max=100)])


class TeamMemberForm(FlaskForm):
    email = EmailField(_l("Email of the user"), filters=[_stripped],
                       validators=[InputRequired(), Length(max=254), EMAIL_SHAPE])


class ApiKeyForm(FlaskForm):
    """A new API key: its name, all campaigns or some (choices: the view's), read-only."""

    name = StringField(_l("Name of the key"), validators=[
        InputRequired(_l("Please give the key a name.")), Length(max=100)],
        description=_l("What it is for, e.g. the name of your CRM."))
    campaigns = SelectMultipleField(_l("Campaigns"), validators=[Optional()],
                                    description=_l("None chosen: every campaign you can see, "
                                                   "now and in future."))
    read_only = BooleanField(_l("Read only (the key never changes anything)"))


# The webhook event types in words (purl.webhooks.EVENT_TYPES, in its order).
WEBHOOK_EVENT_CHOICES = [
    SelectChoice("recipient.visited", _l("A recipient opens their link for the first time")),
    SelectChoice("quiz.started", _l("Quiz started")),
    SelectChoice("quiz.completed", _l("Quiz completed (with the answers)")),
    SelectChoice("product.clicked", _l("Product clicked in the showroom")),
    SelectChoice("lead.created", _l("A visitor left their email address")),
    SelectChoice("batch.finished", _l("A list of links is ready")),
]


class _WebhookFields(FlaskForm):
    """What a new and an edited endpoint share; the view checks the address
    (purl.webhooks.endpoints)."""

    url = StringField(_l("Address (URL)"), validators=[
        InputRequired(_l("Please give the address your tool receives events at.")),
        Length(max=2000)],
        description=_l("Where purl sends the events, e.g. https://crm.example/purl-hook."))
    event_types = SelectMultipleField(
        _l("Events"), choices=WEBHOOK_EVENT_CHOICES, validators=[Optional()],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        description=_l("None ticked: every event, also those added in future."))
    description = StringField(_l("Description"), validators=[Length(max=200)],
                              description=_l("What it is, e.g. the name of your CRM."))


class WebhookEditForm(_WebhookFields):
    enabled = BooleanField(_l("Switched on (purl sends events)"))


class WebhookForm(_WebhookFields):
    """A new endpoint: the settings and whose events (choices: the view's)."""

    # "" is the whole install, offered to admins alone (the choices check it).
    scope = SelectField(_l("Events of"))


# --- the quiz builder ----------------------------------------------------------------------

QUESTION_TYPE_CHOICES = [
    SelectChoice("single", _l("One answer")), SelectChoice("multi", _l("Several answers")),
    SelectChoice("image", _l("One answer with pictures")), SelectChoice("yesno", _l("Yes or no")),
    SelectChoice("range", _l("A number on a slider")), SelectChoice("text", _l("Free text")),
]


class QuizCreateForm(FlaskForm):
    """A new quiz: its title, address, and what it starts from (choices: the view's)."""

    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    slug = StringField(_l("Address (optional)"), validators=[
        Optional(), Length(max=64),
        Regexp(SLUG, message=_l("Lower-case letters, digits and dashes only."))],
        description=_l("Shoppers without a personal link find the quiz at /q/ and this "
                       "address; made from the title if left empty."))
    start = SelectField(_l("Start from"), default="")


def _text_fields(label: str) -> tuple[StringField, StringField, StringField]:
    return (TextAreaField(_l("%(what)s, German (du)", what=label),
                          validators=[Optional(), Length(max=500)]),
            TextAreaField(_l("%(what)s, German (Sie)", what=label),
                          validators=[Optional(), Length(max=500)],
                          description=_l("Left empty, the du text is shown in Sie "
                                         "campaigns too.")),
            TextAreaField(_l("%(what)s, English", what=label),
                          validators=[Optional(), Length(max=500)]))


class QuizTextsForm(FlaskForm):
    """The quiz's title and introduction in each language and tone."""

    title_de, title_de_sie, title_en = _text_fields(_l("Title"))
    intro_de, intro_de_sie, intro_en = _text_fields(_l("Introduction"))
    # Choices: the install's catalogs (the view's).
    catalog = SelectField(_l("Catalog"), validate_choice=False, description=_l(
        "The products its showroom draws from: one shop's catalog."))


class QuestionAddForm(FlaskForm):
    type = SelectField(_l("Type"), choices=QUESTION_TYPE_CHOICES)


MATCH_CHOICES = [
    SelectChoice("auto", _l("Gives way by what it filters, when too few products are left")),
    SelectChoice("must", _l("Must: never loosened")),
    SelectChoice("nice", _l("Nice to have: loosened first")),
]


def _picks(label: str) -> SelectMultipleField:
    return SelectMultipleField(label, choices=[], validate_choice=False)


class OptionForm(Form):
    """One answer option (a row of the question form; choices: the view's, from the
    catalog)."""

    value = StringField(_l("Value (stored with the answer)"), validators=[
        InputRequired(), Length(max=64)])
    label_de, label_de_sie, label_en = _text_fields(_l("Label"))
    reason_de = StringField(_l("Reason in the showroom, German (du)"),
                            validators=[Optional(), Length(max=200)])
    reason_de_sie = StringField(_l("Reason in the showroom, German (Sie)"),
                                validators=[Optional(), Length(max=200)])
    reason_en = StringField(_l("Reason in the showroom, English"),
                            validators=[Optional(), Length(max=200)])
    image = StringField(_l("Picture (path under static/)"),
                        validators=[Optional(), Length(max=200)])
    filter_category = _picks(_l("Only these categories"))
    filter_product_type = _picks(_l("Only these product types"))
    filter_tags = _picks(_l("Only with one of these tags"))
    filter_price_min = StringField(_l("Only from this price (€)"),
                                   validators=[Optional(), Length(max=20)])
    filter_price_max = StringField(_l("Only up to this price (€)"),
                                   validators=[Optional(), Length(max=20)])
    filter_attribute = SelectField(_l("Only with this attribute"), choices=[],
                                   validate_choice=False)
    filter_attribute_values = StringField(_l("… with one of these values (comma between)"),
                                          validators=[Optional(), Length(max=500)])
    filter_attribute_min = StringField(_l("… at least"), validators=[Optional(), Length(max=20)])
    filter_attribute_max = StringField(_l("… at most"), validators=[Optional(), Length(max=20)])
    exclude_category = _picks(_l("Never these categories"))
    exclude_product_type = _picks(_l("Never these product types"))
    exclude_tags = _picks(_l("Never with these tags"))
    content_title_de = StringField(_l("Advice in the showroom: title (German, du)"),
                                   validators=[Optional(), Length(max=200)])
    content_title_de_sie = StringField(_l("Advice in the showroom: title (German, Sie)"),
                                       validators=[Optional(), Length(max=200)])
    content_title_en = StringField(_l("Advice in the showroom: title (English)"),
                                   validators=[Optional(), Length(max=200)])
    content_body_de = TextAreaField(_l("Advice in the showroom: text (German, du)"),
                                    validators=[Optional(), Length(max=500)])
    content_body_de_sie = TextAreaField(_l("Advice in the showroom: text (German, Sie)"),
                                        validators=[Optional(), Length(max=500)])
    content_body_en = TextAreaField(_l("Advice in the showroom: text (English)"),
                                    validators=[Optional(), Length(max=500)])


class QuestionForm(FlaskForm):
    """One question's settings and its options."""

    text_de, text_de_sie, text_en = _text_fields(_l("Question"))
    help_de, help_de_sie, help_en = _text_fields(_l("Help text"))
    required = BooleanField(_l("An answer is required"))
    match = SelectField(_l("How firmly the answer filters"), choices=MATCH_CHOICES)
    show_if = SelectMultipleField(_l("Ask only when an earlier answer was"), choices=[],
                                  validate_choice=False)
    min_choices = IntegerField(_l("Fewest answers"), validators=[Optional(), NumberRange(1, 50)])
    max_choices = IntegerField(_l("Most answers"), validators=[Optional(), NumberRange(1, 50)])
    range_min = StringField(_l("Lowest value"), validators=[Optional(), Length(max=20)])
    range_max = StringField(_l("Highest value"), validators=[Optional(), Length(max=20)])
    range_step = StringField(_l("Step"), validators=[Optional(), Length(max=20)])
    range_default = StringField(_l("Starting value"), validators=[Optional(), Length(max=20)])
    range_unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    maps_to = SelectField(_l("The number filters"), choices=[], validate_choice=False)
    max_length = IntegerField(_l("Longest answer (characters)"),
                              validators=[Optional(), NumberRange(1, 500)])
    options = FieldList(FormField(OptionForm))


class QuizImportForm(FlaskForm):
    """A quiz file (YAML, as `flask quiz export` writes it) to store as a draft."""

    file = FileField(_l("Quiz file (.yaml)"), validators=[
        FileRequired(_l("Please choose a quiz file."))])


class ShowroomForm(FlaskForm):
    """A campaign's showroom as its marketer curates it."""

    heading_de, heading_de_sie, heading_en = _text_fields(_l("Heading"))
    intro_de, intro_de_sie, intro_en = _text_fields(_l("Introduction"))
    pinned = TextAreaField(_l("Pinned products"), validators=[Length(max=20_000)],
                           description=_l("SKUs, one a line, in the order shown: first in "
                                          "this campaign's showroom."))
    pin_mode = RadioField(_l("Pinned products come first"), default="fit", choices=[
        ("fit", _l("when they fit the shopper's answers")), ("always", _l("always"))])
    excluded = TextAreaField(_l("Excluded products"), validators=[Length(max=20_000)],
                             description=_l("SKUs, one a line: never shown in this "
                                            "campaign."))
    per_page = SelectField(_l("Products per page"), coerce=int, default=24,
                           choices=[(12, "12"), (24, "24"), (48, "48")])
    # Content blocks of the campaign's own (MAX_BLOCKS), above the quiz's advice; each for
    # every shopper or for those who gave one of some answers to a question.
    block1_title_de, block1_title_de_sie, block1_title_en = _text_fields(_l("Block 1, title"))
    block1_body_de, block1_body_de_sie, block1_body_en = _text_fields(_l("Block 1, text"))
    block1_question = SelectField(_l("Block 1 is shown"), default="", choices=[("", "")])
    block1_values = StringField(_l("… when the answer is one of (separated by commas)"),
                                validators=[Length(max=500)])
    block2_title_de, block2_title_de_sie, block2_title_en = _text_fields(_l("Block 2, title"))
    block2_body_de, block2_body_de_sie, block2_body_en = _text_fields(_l("Block 2, text"))
    block2_question = SelectField(_l("Block 2 is shown"), default="", choices=[("", "")])
    block2_values = StringField(_l("… when the answer is one of (separated by commas)"),
                                validators=[Length(max=500)])
