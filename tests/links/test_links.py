"""Personal links: signing, tampering, key rotation, the landing page and its privacy rules."""

from __future__ import annotations

import base64
import datetime as dt
import logging

import pytest
from sqlalchemy import func, select

from purl.extensions import db
from purl.links import codes, tokens
from purl.links.salutation import parse_gender, salutation_line
from purl.logs import RedactingFilter, redact
from purl.models import Campaign, Event, Recipient
from tests.conftest import TEST_KEYS


def visits(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Event.kind == "visit"))


def test_token_round_trip_and_rotation():
    key = codes.new_code()
    token = tokens.sign(key, ["old"])
    # A link signed with a key that is still listed (as an older key) keeps working ...
    assert tokens.unsign(token, ["new", "old"]) == key
    # ... new links use the newest key, which the old key alone cannot verify ...
    assert tokens.unsign(tokens.sign(key, ["new", "old"]), ["old"]) is None
    # ... and once a key is rotated out, its links stop verifying.
    assert tokens.unsign(token, ["new"]) is None


def test_token_carries_only_a_random_code(app, demo):
    token = demo.tokens["Anna"]
    payload, signature = token.split(".")
    with app.app_context():
        recipient = db.session.get(Recipient, demo.recipient_ids["Anna"])
        # The printed code: 60 random bits and a check symbol, nothing of the person.
        assert payload == recipient.code and recipient.public_id is None
        assert codes.normalise(payload) == payload and payload != str(recipient.id)
        decoded = base64.urlsafe_b64decode(signature + "=").decode("latin-1")
        for secret in ("Anna", "Schäfer", "anna.schaefer", "K-10001"):
            assert secret.lower() not in token.lower()
            assert secret.lower() not in decoded.lower()


def test_every_single_character_change_is_rejected():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for _ in range(5):
        key = codes.new_code()
        token = tokens.sign(key, TEST_KEYS)
        assert tokens.unsign(token, TEST_KEYS) == key
        for i, original in enumerate(token):
            for replacement in alphabet:
                if replacement != original:
                    changed = token[:i] + replacement + token[i + 1:]
                    assert tokens.unsign(changed, TEST_KEYS) is None, (i, replacement)


def test_salt_separates_purposes():
    token = tokens.sign("abc", TEST_KEYS, salt="purl.link.v1")
    assert tokens.unsign(token, TEST_KEYS, salt="purl.qr.v1") is None


@pytest.mark.parametrize(
    ("first", "last", "gender", "title", "locale", "tone", "expected"),
    [
        ("Anna", "Schäfer", "f", None, "de", "du", "Liebe Anna,"),
        ("Jürgen", "Müller", "m", None, "de", "du", "Lieber Jürgen,"),
        ("Kim", "Weiß", "d", None, "de", "du", "Hallo Kim,"),
        ("Kim", "Weiß", None, None, "de", "du", "Hallo Kim,"),
        ("Ayşe", "Şahin", "f", "Dr.", "de", "sie", "Sehr geehrte Frau Dr. Şahin,"),
        ("Jürgen", "Müller", "m", None, "de", "sie", "Sehr geehrter Herr Müller,"),
        ("Kim", "Weiß", "d", None, "de", "sie", "Guten Tag Kim Weiß,"),
        (None, None, None, None, "de", "du", "Hallo,"),
        ("Anna", "Schäfer", "f", None, "en", "du", "Dear Anna,"),
    ],
)
def test_salutation_lines(first, last, gender, title, locale, tone, expected):  # noqa: ANN001
    assert salutation_line(first, last, gender, title, locale, tone) == expected


def test_gender_words_from_crm_exports():
    assert parse_gender("Frau") == "f"
    assert parse_gender(" Herr ") == "m"
    assert parse_gender("Divers") == "d"
    assert parse_gender("") is None


def test_landing_greets_by_name_and_records_a_visit(app, client, demo):
    response = client.get(demo.path("Anna"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Liebe Anna," in html
    assert demo.path("Anna", "/quiz/") in html  # the way into the quiz
    assert "WINTER15" in html
    assert visits(app) == 1


class _Statements:
    """The SQL a request sends, read from the engine as it runs (no stand-in)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app, self.sent = app, []

    def __enter__(self) -> list[str]:
        from sqlalchemy import event

        with self.app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self.sent

    def _seen(self, _conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        self.sent.append(statement.split()[0].upper())

    def __exit__(self, *_exc) -> None:  # noqa: ANN002
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_the_landing_page_checks_the_link_once_with_one_query(app, client, demo, monkeypatch):
    """The hot path: one signature check and one query for recipient, campaign, profile and
    answers, then the visit is written."""
    checks = []
    real_unsign = tokens.unsign
    monkeypatch.setattr(tokens, "unsign", lambda *a, **k: checks.append(1) or real_unsign(*a, **k))
    client.get(demo.path("Anna"))  # warm: the first request also loads the quiz file
    checks.clear()
    with _Statements(app) as sent:
        assert client.get(demo.path("Anna")).status_code == 200
    assert len(checks) == 1
    assert [s for s in sent if s == "SELECT"] == ["SELECT"]
    assert "INSERT" in sent  # the visit


def test_a_typed_code_redirects_with_one_query(app, client, demo):
    with app.app_context():
        code = db.session.scalar(select(Recipient.code).where(Recipient.first_name == "Anna"))
    with _Statements(app) as sent:
        response = client.get(f"/c/{codes.display(code).lower()}")
    assert response.status_code == 303
    assert response.location.endswith(demo.path("Anna"))
    assert sent == ["SELECT"]


def test_landing_escapes_names(app, client, demo):
    with app.app_context():
        recipient = db.session.get(Recipient, demo.recipient_ids["Anna"])
        recipient.first_name = "<script>alert(1)</script>"
        db.session.commit()
    html = client.get(demo.path("Anna")).get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_head_request_from_a_link_scanner_is_not_a_visit(app, client, demo):
    assert client.head(demo.path("Anna")).status_code == 200
    assert visits(app) == 0


def _flip(char: str) -> str:
    return "B" if char == "A" else "A"


@pytest.mark.parametrize("position", [0, 5, 15, 16, 17, 30, -1])
def test_token_with_one_character_changed_is_a_friendly_404(app, client, demo, position):
    token = demo.tokens["Anna"]
    i = position % len(token)
    tampered = token[:i] + _flip(token[i]) + token[i + 1:]
    response = client.get(f"/p/{tampered}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Diese Seite haben wir nicht gefunden" in html
    assert "Traceback" not in html
    assert visits(app) == 0


def test_token_signed_with_another_key_is_a_404(app, client, demo):
    with app.app_context():
        key = db.session.get(Recipient, demo.recipient_ids["Anna"]).link_key
    forged = tokens.sign(key, ["somebody-elses-key"])
    assert client.get(f"/p/{forged}").status_code == 404
    assert visits(app) == 0


def test_link_signed_with_an_older_listed_key_still_works(app, client, demo):
    with app.app_context():
        key = db.session.get(Recipient, demo.recipient_ids["Anna"]).link_key
    older = tokens.sign(key, TEST_KEYS[1:])
    assert client.get(f"/p/{older}").status_code == 200


def test_revoked_and_expired_links_get_410(app, client, demo):
    with app.app_context():
        db.session.get(Recipient, demo.recipient_ids["Anna"]).revoked_at = dt.datetime.now(dt.UTC)
        campaign = db.session.get(Campaign, demo.campaign_id)
        db.session.commit()
    response = client.get(demo.path("Anna"))
    assert response.status_code == 410
    assert "nicht mehr gültig" in response.get_data(as_text=True)
    assert client.get(demo.path("Jürgen")).status_code == 200
    with app.app_context():
        campaign = db.session.get(Campaign, demo.campaign_id)
        campaign.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
    assert client.get(demo.path("Jürgen")).status_code == 410
    assert visits(app) == 1


def test_personal_pages_are_private_and_locked_down(client, demo):
    for path in (demo.path("Anna"), demo.path("Anna", "/quiz/tier")):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp


def test_tokens_never_reach_a_log_line(demo):
    token = demo.tokens["Anna"]
    line = f'127.0.0.1 - - "GET /p/{token}/quiz/tier HTTP/1.1" 200'
    assert token not in redact(line)
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '"%s" %s %s',
                               (f"GET /p/{token} HTTP/1.1", "200", "-"), None)
    RedactingFilter().filter(record)
    assert token not in record.getMessage()
    # gunicorn hands its access atoms over as a mapping
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(r)s",
                               ({"r": f"GET /p/{token} HTTP/1.1"},), None)
    RedactingFilter().filter(record)
    assert token not in record.getMessage()


def test_campaign_create_cli(runner, app):
    result = runner.invoke(args=["campaign", "create", "herbst", "--name", "Herbst",
                                 "--quiz", "zoohandlung", "--expires", "2027-01-31"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "herbst"))
        assert campaign.quiz_slug == "zoohandlung"
    result = runner.invoke(args=["campaign", "create", "x", "--name", "X", "--quiz", "nope"])
    assert result.exit_code != 0
    assert "no published quiz 'nope'" in result.output


def test_revoke_one_link_or_the_whole_campaign(app, client, demo):
    from purl.links.recipients import revoke

    with app.app_context():
        campaign = db.session.get(Campaign, demo.campaign_id)
        assert revoke(db.session, campaign, [demo.recipient_ids["Anna"]]) == 1
        assert revoke(db.session, campaign, [demo.recipient_ids["Anna"]]) == 0  # already
        db.session.commit()
    assert client.get(demo.path("Anna")).status_code == 410
    assert client.get(demo.path("Kim")).status_code == 200
    with app.app_context():
        campaign = db.session.get(Campaign, demo.campaign_id)
        assert revoke(db.session, campaign) == 4
        db.session.commit()
    assert client.get(demo.path("Kim")).status_code == 410


def test_landing_variants_split_evenly_and_show_their_copy(app, client):
    from purl.campaigns.variants import landing_copy
    from purl.links.recipients import NewRecipient, mint

    with app.app_context():
        campaign = Campaign(slug="ab", name="AB", quiz_slug="zoohandlung", headline="Standard",
                            message="Text", variants=[
                                {"key": "a", "headline": "Variante A", "message": "Text A"},
                                {"key": "b", "headline": "Variante B"}])
        db.session.add(campaign)
        db.session.flush()
        people = [NewRecipient(first_name=f"P{i}", email=f"p{i}@example.org") for i in range(9)]
        recipients = mint(db.session, campaign, people[:5]) + mint(db.session, campaign, people[5:])
        assert [r.variant for r in recipients] == list("ababababa")
        assert landing_copy(campaign, recipients[1].variant) == ("Variante B", "Text")
        db.session.commit()
        token = tokens.sign(recipients[0].link_key, TEST_KEYS)
    html = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Variante A" in html and "Text A" in html and "Standard" not in html


def test_minting_a_known_person_again_takes_their_corrections_and_keeps_the_link(app, client):
    from purl.links.recipients import NewRecipient, mint

    with app.app_context():
        campaign = Campaign(slug="korrektur", name="Korrektur", quiz_slug="zoohandlung",
                            variants=[])
        db.session.add(campaign)
        db.session.flush()
        (first,) = mint(db.session, campaign, [NewRecipient(
            external_id="K-1", first_name="?ahin", last_name="Ay?e", gender="f")])
        code = first.code
        (again,) = mint(db.session, campaign, [NewRecipient(
            external_id="K-1", first_name="Ayşe", last_name="Şahin", title="Dr.")])
        assert again.id == first.id and again.code == code
        assert (again.first_name, again.last_name, again.title, again.gender) == (
            "Ayşe", "Şahin", "Dr.", "f")  # gender not given the second time: kept
        db.session.commit()
        token = tokens.sign(again.link_key, TEST_KEYS)
    html = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Ayşe" in html and "?ahin" not in html
