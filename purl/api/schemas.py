"""The API's request and response schemas (pydantic 2): they validate every request and
response and, through spectree, are the OpenAPI document.

Request bodies forbid unknown fields, so a field the API does not let a client change (a
campaign's slug, its owner) answers 422 naming it instead of being ignored.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from purl.campaigns.records import OFFER_CODE, SLUG, UTM_VALUE
from purl.webhooks import EVENT_TYPES

Slug = Annotated[str, StringConstraints(pattern=SLUG)]
Utm = Annotated[str, StringConstraints(pattern=UTM_VALUE, max_length=100)]
OfferCode = Annotated[str, StringConstraints(pattern=OFFER_CODE, max_length=64)]
# No control characters: PostgreSQL cannot store a NUL, and no name holds a tab.
Line = r"^[^\x00-\x1f\x7f]*$"
_NO_AT = r"[^@\s\x00-\x1f]+"
Email = Annotated[str, StringConstraints(pattern=rf"^{_NO_AT}@{_NO_AT}\.{_NO_AT}$",
                                         max_length=254)]
Channel = Literal["email", "print", "sms", "whatsapp", "push"]


def _text(max_length: int, min_length: int = 0):  # noqa: ANN202 - an Annotated type
    return Annotated[str, StringConstraints(max_length=max_length, min_length=min_length,
                                            pattern=Line)]


def _long_text(max_length: int):  # noqa: ANN202
    # Several lines allowed (a message), still no NUL.
    return Annotated[str, StringConstraints(max_length=max_length, pattern=r"^[^\x00]*$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- problems ----------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is: a body field, `query.limit`, a header")
    message: str


class Problem(BaseModel):
    """An error in the shape of RFC 9457 (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


# --- pagination --------------------------------------------------------------------------


class PageQuery(_Input):
    limit: int = Field(50, ge=1, le=500, description="Items per page")
    cursor: _text(100) | None = Field(None, description="`next_cursor` of the page before")


# --- campaigns ---------------------------------------------------------------------------


class _CampaignFields(_Input):
    name: _text(200, 1) | None = None
    quiz_slug: Slug | None = Field(None, description="A quiz of the install (`quiz check`)")
    locale: Literal["de", "en"] | None = None
    tone: Literal["du", "sie"] | None = Field(None, description="How shoppers are addressed")
    headline: _text(200) | None = None
    message: _long_text(5000) | None = None
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    expires_on: dt.date | None = Field(None, description="Links work until the end of this "
                                       "day (shop time)")
    utm_source: Utm | None = None
    utm_medium: Utm | None = None
    utm_campaign: Utm | None = None
    offer_code: OfferCode | None = None
    offer_text: _long_text(1000) | None = None
    event_retention_days: int | None = Field(
        None, ge=0, le=36500, description="Delete its events (visits, quiz steps, clicks) "
        "older than this many days; the funnel's totals stay. null: the install's setting; "
        "0: kept")


class CampaignCreate(_CampaignFields):
    slug: Slug | None = Field(None, description="Short name in addresses; from the name "
                              "when left out. It never changes.")
    name: _text(200, 1)
    quiz_slug: Slug


class CampaignUpdate(_CampaignFields):
    """The fields to change; those left out stay as they are."""


class Campaign(BaseModel):
    slug: str
    name: str
    quiz_slug: str
    locale: str
    tone: str
    headline: str
    message: str
    starts_on: dt.date | None
    ends_on: dt.date | None
    expires_on: dt.date | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    offer_code: str | None
    offer_text: str | None
    event_retention_days: int | None
    archived: bool
    revoked: bool
    created_at: dt.datetime


class CampaignPage(BaseModel):
    items: list[Campaign]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null "
                                    "on the last")


# --- recipients --------------------------------------------------------------------------


class _Person(_Input):
    external_id: _text(128, 1) | None = Field(None, description="The CRM's id of the person")
    email: Email | None = None
    first_name: _text(100) | None = None
    last_name: _text(100) | None = None
    gender: Literal["f", "m", "d"] | None = Field(None, description="Drives the salutation")
    title: _text(50) | None = None
    company: _text(200) | None = None
    is_seed: bool = Field(False, description="A test recipient: its visits never count")

    @model_validator(mode="after")
    def _someone(self) -> _Person:
        if not (self.external_id or self.email or self.first_name or self.last_name
                or self.company):
            raise ValueError("needs an external_id, an email or a name")
        return self


class RecipientCreate(_Person):
    channel: Channel = "email"


BULK_LIMIT = 10_000


class RecipientsCreate(_Input):
    channel: Channel = Field("email", description="The channel of every link of the call")
    recipients: list[_Person] = Field(min_length=1, max_length=BULK_LIMIT,
                                      description=f"Up to {BULK_LIMIT:,} people")


class MintedLink(BaseModel):
    index: int = Field(description="The person's place in `recipients`, from 0")
    id: int
    external_id: str | None
    code: str = Field(description="Typeable code, as printed on letters")
    link: str
    qr_url: str
    salutation: str


class RejectedPerson(BaseModel):
    index: int = Field(description="The person's place in `recipients`, from 0")
    reason: str = Field(description="Why no link was made, in the campaign's language (a "
                        "duplicate names the earlier person by the row a spreadsheet of the "
                        "call would show: index + 2)")


class RecipientsCreated(BaseModel):
    batch: int = Field(description="The batch the call ran as (it shows in the console)")
    minted: int = Field(description="New links")
    reused: int = Field(description="People who had a link already: theirs, details corrected")
    rejected: int
    items: list[MintedLink] = Field(description="A link per person, in the call's order")
    errors: list[RejectedPerson]


class RecipientUpdate(_Input):
    first_name: _text(100) | None = None
    last_name: _text(100) | None = None
    gender: Literal["f", "m", "d"] | None = None
    title: _text(50) | None = None
    company: _text(200) | None = None
    attributes: dict[_text(100, 1), _text(1000) | None] = Field(
        None, max_length=100, description="Extra columns to set; null removes one. The "
        "others stay")


class RecipientQuery(PageQuery):
    external_id: _text(128, 1) | None = Field(None, description="Only this CRM id")


class Recipient(BaseModel):
    id: int
    campaign: str = Field(description="The campaign's slug")
    external_id: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    gender: str | None
    title: str | None
    company: str | None
    channel: str
    is_seed: bool
    variant: str | None
    code: str = Field(description="Typeable code, as printed on letters")
    link: str = Field(description="The signed personal link")
    qr_url: str = Field(description="The link's QR code (SVG)")
    salutation: str
    attributes: dict[str, Any] = Field(
        description="Extra columns of the person, as their list or the API gave them")
    status: Literal["active", "revoked", "expired"]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class RecipientExport(BaseModel):
    recipient: dict[str, Any] = Field(description="Their fields, link code, variant, status")
    profile: dict[str, Any] | None = Field(description="What they told the shop: an email "
                                           "left with consent")
    answers: list[dict[str, Any]] = Field(description="Each quiz response with its version")
    events: list[dict[str, Any]] = Field(description="Visits, quiz steps, clicks (UTC)")


class RecipientPage(BaseModel):
    items: list[Recipient]
    next_cursor: str | None


# --- batches (a list sent as a file) ------------------------------------------------------


class BatchUpload(_Input):
    filename: _text(255, 1) = Field("upload.csv", description="The file's name; its ending "
                                    "(.csv, .xlsx, .xls, .ods) says what it is")
    channel: Channel = "email"
    map: list[_text(300, 3)] = Field(default_factory=list, max_length=200, description=(
        "`COLUMN=field` to correct the mapping the header suggests (fields: external_id, "
        "email, first_name, last_name, gender, title, company, seed, attribute, ignore)"))
    sheet: _text(100, 1) | None = Field(None, description="A workbook's sheet, by name or "
                                        "number; default the first")
    qr: bool = Field(False, description="Draw a QR code per link (a zip, in the console)")
    qr_format: Literal["svg", "png"] = "svg"


class Batch(BaseModel):
    id: int
    campaign: str
    filename: str
    status: Literal["pending", "uploaded", "queued", "running", "done", "failed"]
    channel: str
    total_rows: int
    processed_rows: int
    minted: int
    reused: int
    updated: int = Field(description="Of the reused: people whose details the list corrected")
    rejected: int
    error: str | None = Field(description="Why it failed")
    created_at: dt.datetime
    finished_at: dt.datetime | None
    links_csv: str | None = Field(description="Once done: the list with a link per row")
    errors_csv: str | None = Field(description="Once done: the rows refused, with reasons")


# --- quiz responses ------------------------------------------------------------------------


class ResponseQuery(PageQuery):
    completed: bool | None = Field(None, description="true: finished quizzes only; false: "
                                   "those in progress")


class QuizResponse(BaseModel):
    id: int
    recipient_id: int
    external_id: str | None
    quiz: str
    quiz_version: str = Field(description="The version of the quiz the answers were given to")
    answers: dict[str, Any] = Field(
        description="Question id: the answer (an option's id, several ids, or a value)")
    started_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None


class QuizResponsePage(BaseModel):
    items: list[QuizResponse]
    next_cursor: str | None


# --- events ------------------------------------------------------------------------------


class EventWindow(_Input):
    since: AwareDatetime | None = Field(None, description="Events at or after this time "
                                        "(RFC 3339, with its offset)")
    until: AwareDatetime | None = Field(None, description="Events before this time")

    @field_validator("since", "until")
    @classmethod
    def _in_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        # Held in UTC, as events are.
        try:
            return value.astimezone(dt.UTC) if value is not None else None
        except OverflowError:
            raise ValueError("lies outside the years 1 to 9999") from None

    @model_validator(mode="after")
    def _window(self) -> EventWindow:
        if self.since and self.until and self.until < self.since:
            raise ValueError("until lies before since")
        return self


class EventQuery(EventWindow):
    limit: int = Field(100, ge=1, le=1000, description="Items per page")
    cursor: _text(200) | None = Field(None, description="`next_cursor` of the page before")


class Event(BaseModel):
    id: int
    time: dt.datetime
    kind: Literal["visit", "quiz_start", "answer", "quiz_complete", "product_click",
                  "link_request"]
    channel: str | None
    variant: str | None
    recipient_id: int | None = Field(description="null for a visitor without a link, or a "
                                     "recipient since erased")
    external_id: str | None = Field(description="The recipient's CRM id")
    quiz: str | None
    quiz_version: str | None
    question_id: str | None
    answer: str | None = Field(description="An answer as given then; several options "
                               "joined by `|`")
    product_sku: str | None
    is_seed: bool = Field(description="A test recipient's: never counted")


class EventPage(BaseModel):
    items: list[Event]
    next_cursor: str | None


# --- funnel ------------------------------------------------------------------------------

Share = Annotated[float, Field(ge=0)]


class FunnelStep(BaseModel):
    step: Literal["minted", "visit", "quiz_start", "quiz_complete", "product_click"]
    count: int = Field(description="Distinct recipients (links, for `minted`); seeds never "
                       "count")
    of_minted: Share | None = Field(description="Share of the links minted (0 to 1)")
    of_previous: Share | None = Field(description="Share of the step before")


class FunnelGroup(BaseModel):
    key: str = Field(description="The channel or variant; empty for links without one")
    steps: list[FunnelStep]


class VariantComparison(BaseModel):
    """A variant against the control (the campaign's first) on completed quizzes per
    visitor: a two-proportion z-test."""

    control: str
    challenger: str
    control_visitors: int
    control_completed: int
    control_rate: Share | None
    challenger_visitors: int
    challenger_completed: int
    challenger_rate: Share | None
    z: float | None
    p_value: Share | None
    enough_data: bool = Field(description="At least five successes and failures each side")
    significant: bool = Field(description="enough_data and p below 0.05")


class QuestionReach(BaseModel):
    question_id: str
    answered: int
    stopped_after: int = Field(description="Started, did not finish, and left after this "
                               "question")


class QuizFigures(BaseModel):
    started: int
    completed: int
    stopped_before_first: int
    questions: list[QuestionReach]


class OptionFigures(BaseModel):
    option: str
    count: int = Field(description="Shoppers whose answer holds this option")
    share: Share | None = Field(description="Of those who answered the question (a multiple "
                                "choice's shares can add up past 1)")
    by_version: dict[str, int] = Field(description="The same, per quiz version")


class AnswerFigures(BaseModel):
    question_id: str
    answered: int
    options: list[OptionFigures]


class ProductFigures(BaseModel):
    sku: str
    title: str
    clicks: int
    shoppers: int


class CampaignFunnel(BaseModel):
    campaign: str
    steps: list[FunnelStep]
    by_channel: list[FunnelGroup]
    by_variant: list[FunnelGroup]
    by_offer: list[FunnelGroup]
    ab_test: list[VariantComparison]
    quiz: QuizFigures
    answers: list[AnswerFigures]
    top_products: list[ProductFigures]


# --- webhooks ----------------------------------------------------------------------------

EventType = Literal[EVENT_TYPES]  # the types an endpoint can ask for
Url = _text(2000, 1)
_EVENT_TYPES_HELP = "Only these event types; empty: every type, also those added later"


class WebhookCreate(_Input):
    url: Url = Field(description="Where events are POSTed: http(s), never a private address")
    campaign: Slug | None = Field(None, description="The campaign whose events it gets; "
                                  "null: every campaign (an admin's key for all campaigns)")
    event_types: list[EventType] = Field(default_factory=list, max_length=20,
                                         description=_EVENT_TYPES_HELP)
    description: _text(200) = ""


class WebhookUpdate(_Input):
    url: Url = Field(None)
    event_types: list[EventType] = Field(None, max_length=20, description=_EVENT_TYPES_HELP)
    description: _text(200) = Field(None)
    enabled: bool = Field(None, description="false holds its events; true sends them")


class Webhook(BaseModel):
    id: int
    url: str
    campaign: str | None = Field(description="The campaign's slug; null: every campaign")
    event_types: list[str]
    description: str
    enabled: bool
    disabled_reason: Literal["gone", "user"] | None = Field(
        description="`gone`: the receiver answered 410; `user`: switched off")
    secret: str | None = Field(description="The Standard Webhooks signing secret; null "
                               "for a key that may not change the endpoint")
    created_at: dt.datetime


class WebhookPage(BaseModel):
    items: list[Webhook]
    next_cursor: str | None


class WebhookDelivery(BaseModel):
    id: int
    webhook_id: str = Field(description="The `webhook-id` header: the same on every attempt "
                            "and replay")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None = Field(description="The receiver's last HTTP status")
    last_error: str | None = Field(description="Why the last attempt failed: `status`, "
                                   "`timeout`, `refused`, `tls`, `connection`, `redirect`, "
                                   "`private`, `unknown-host`, `gone`")
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime | None = Field(description="While pending")
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDelivery] = Field(description="Newest first")
    next_cursor: str | None


class WebhookAttempt(BaseModel):
    attempted_at: dt.datetime
    status: int | None
    error: str | None
    milliseconds: int


class WebhookDeliveryDetail(WebhookDelivery):
    payload: dict = Field(description="The body sent, as JSON")
    attempt_log: list[WebhookAttempt] = Field(description="Each attempt, oldest first")


class WebhookReplay(BaseModel):
    replayed: int = Field(description="How many failed deliveries go again")
