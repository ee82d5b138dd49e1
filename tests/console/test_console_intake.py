"""Intake in the console (#13): rejected rows on the results page, downloads for Excel and as
plain CSV, the warning for printed links that nobody could open, the campaign's link address,
deleting uploads."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from purl.extensions import db
from purl.links.batch import downloads
from purl.models import Batch, Campaign, Recipient, StoredFile
from tests.conftest import HX, csrf_token, excel_export, login

BASE = "/console/campaigns/winter-2026"
# A Mailchimp export: comma-separated UTF-8 without a BOM; two rows get no link.
MAILCHIMP = (
    "Email Address,First Name,Last Name\r\n"
    "jorg@example.org,Jörg,Şahin\r\n"
    "kaputt-at-example,Otto,Keller\r\n"
    "eve@example.org,\"=HYPERLINK(\"\"http://evil.example\"\")\",Formel\r\n"
    "anna@example.org,Anna,\"Groß; Weiß\"\r\n"
    "jorg@example.org,Jörg,Doppelt\r\n"
).encode()
WINTER = select(Campaign).where(Campaign.slug == "winter-2026")
MAILCHIMP_MAP = {"map-0": "email", "map-1": "first_name", "map-2": "last_name"}


def _token(client) -> str:  # noqa: ANN001
    return csrf_token(client.get(BASE).get_data(as_text=True))


def upload(client, content: bytes, name: str = "kunden.csv") -> str:  # noqa: ANN001
    response = client.post(f"{BASE}/batches", data={
        "csrf_token": _token(client), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data")
    assert response.status_code == 303
    return response.location


def mint(client, batch_url: str, mapping: dict, channel: str = "email",  # noqa: ANN001
         qr: bool = False) -> None:
    data = {**mapping, "channel": channel, "csrf_token": _token(client)}
    if qr:
        data["qr"] = "1"
    response = client.post(batch_url, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)


def minted_mailchimp(client) -> str:  # noqa: ANN001
    url = upload(client, MAILCHIMP, "audience.csv")
    mint(client, url, MAILCHIMP_MAP)
    return url


def _rejection_rows(page: str) -> list[tuple[str, str]]:
    table = re.search(r'<table class="rejections[ "].*?</table>', page, re.S)
    assert table, "no table of rejected rows"
    return [(m.group(1), m.group(2)) for m in re.finditer(
        r'<tr><td class="num"[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>', table.group(0))]


# --- 1. the results page lists the rejected rows --------------------------------------------

def test_the_results_page_lists_each_rejected_row_with_its_number_and_reason(console):
    url = minted_mailchimp(console)
    with console.application.app_context():
        batch = db.session.scalar(select(Batch))
        assert (batch.status, batch.minted, batch.rejected) == ("done", 3, 2)
    page = console.get(url).get_data(as_text=True)
    assert "</html>" in page and "Abgelehnte Zeilen" in page
    rows = _rejection_rows(page)
    assert [line.split()[0] for line, _reason in rows] == ["3", "6"]
    reasons = " ".join(reason for _line, reason in rows)
    assert "E-Mail" in reasons  # German: the campaign and the console are German
    assert "kaputt-at-example" in page and "Doppelt" in page  # the row's cells, to find it
    assert "stehen im Download" not in page  # all of them are shown

    # The same table in the fragment htmx swaps in while it polls.
    fragment = console.get(url, headers=HX).get_data(as_text=True)
    assert "</html>" not in fragment and _rejection_rows(fragment) == rows


def test_the_results_page_lists_names_to_check_and_corrected_people(console):
    url = minted_mailchimp(console)
    page = console.get(url).get_data(as_text=True)
    table = re.search(r'<table class="warnings[ "].*?</table>', page, re.S)
    assert table and "Zeilen zum Prüfen" in page
    cells = re.findall(r'<tr><td class="num"[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>',
                       table.group(0))
    assert cells == [("4", "First Name")]  # Eve's formula, minted but listed, in her column
    assert "HYPERLINK" in table.group(0) and "<script" not in table.group(0)
    fragment = console.get(url, headers=HX).get_data(as_text=True)
    assert "</html>" not in fragment and "Zeilen zum Prüfen" in fragment

    # The corrected list again: the page says who was updated.
    again = upload(console, MAILCHIMP.replace("Şahin".encode(), b"Sahin-Korrigiert"),
                   "audience.csv")
    mint(console, again, MAILCHIMP_MAP)
    assert "davon 1 mit korrigierten Angaben" in console.get(again).get_data(as_text=True)


def test_the_results_page_shows_the_first_200_and_sends_to_the_download_for_all(console):
    header = "Vorname;Nachname;E-Mail\r\n"
    good = "Anna;Groß;anna@example.org\r\n"
    bad = "".join(f"Otto{i};Keller;kaputt-{i}-at-example\r\n" for i in range(250))
    url = upload(console, (header + good + bad).encode("cp1252"))
    mint(console, url, {"map-0": "first_name", "map-1": "last_name", "map-2": "email"})
    page = console.get(url).get_data(as_text=True)
    rows = _rejection_rows(page)
    assert len(rows) == 200
    assert rows[0][0].split()[0] == "3" and rows[-1][0].split()[0] == "202"
    assert "Die ersten 200 von 250 abgelehnten Zeilen; alle 250 stehen im Download." in page
    errors = console.get(url + "/errors.csv?for=excel").data.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(errors), delimiter=";"))) == 251


def test_a_page_in_english_names_the_columns_in_english(console):
    url = minted_mailchimp(console)
    page = console.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Rejected rows" in page and "<th scope=\"col\">Reason</th>" in page


# --- 2. downloads: for Excel and as plain CSV -------------------------------------------------

def test_the_excel_download_is_semicolon_separated_utf8_with_bom_and_german_headers(console):
    url = upload(console, MAILCHIMP, "audience.csv")
    mint(console, url, MAILCHIMP_MAP, channel="print", qr=True)
    excel = console.get(url + "/links.csv?for=excel")
    assert excel.status_code == 200
    assert excel.headers["Content-Disposition"].endswith('-links-excel.csv"')
    assert excel.data.startswith(b"\xef\xbb\xbf")
    text = excel.data.decode("utf-8-sig")
    first = text.split("\r\n", 1)[0]
    assert first == ("Email Address;First Name;Last Name;Persönlicher Link;Code;Briefanrede;"
                     "QR-Datei")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))[1:]
    assert [r[1] for r in rows] == ["Jörg", "'=HYPERLINK(\"http://evil.example\")", "Anna"]
    assert rows[2][2] == "Groß; Weiß"  # a cell holding the separator stays one cell
    # The cell was made safe once when the list was written, and not quoted a second time.
    assert "''=" not in text
    assert all(r[3].startswith("http://localhost/p/") and r[6] for r in rows)

    plain = console.get(url + "/links.csv")
    assert plain.headers["Content-Disposition"].endswith('-links.csv"')
    assert not plain.data.startswith(b"\xef\xbb\xbf")  # as the Mailchimp list came in
    plain_rows = list(csv.DictReader(io.StringIO(plain.data.decode()), delimiter=","))
    assert list(plain_rows[0])[-4:] == ["purl_url", "purl_code", "salutation_line", "qr_file"]
    assert [r["purl_url"] for r in plain_rows] == [r[3] for r in rows]

    errors = console.get(url + "/errors.csv?for=excel").data
    assert errors.startswith(b"\xef\xbb\xbfZeile;Grund;Email Address;First Name;Last Name\r\n")
    plain_errors = console.get(url + "/errors.csv").data.decode()
    assert plain_errors.startswith("line,reason,Email Address")


def test_the_results_page_offers_each_download_twice(console):
    url = minted_mailchimp(console)
    page = console.get(url).get_data(as_text=True)
    for name in ("links", "errors"):
        assert f'href="{url}/{name}.csv?for=excel"' in page
        assert f'href="{url}/{name}.csv"' in page
    assert "Liste mit Links für Excel herunterladen" in page
    assert "Abgelehnte Zeilen für Excel herunterladen" in page


def test_an_english_campaign_names_the_excel_columns_in_english(console):
    with console.application.app_context():
        db.session.scalar(WINTER).locale = "en"
        db.session.commit()
    url = minted_mailchimp(console)
    header = console.get(url + "/links.csv?for=excel").data.decode("utf-8-sig").split("\r\n")[0]
    assert header.endswith(";Personal link;Code;Salutation line")
    errors = console.get(url + "/errors.csv?for=excel").data.decode("utf-8-sig")
    assert errors.startswith("Row;Reason;")


def test_the_excel_conversion_streams_without_reading_the_whole_file():
    """A 500,000-row list: the converter hands out its first piece after reading a chunk or
    two, never the whole file first."""
    header = "Email Address,First Name,purl_url,purl_code,salutation_line\r\n"
    row = "someone@example.org,Jörg,http://localhost/p/abc,ABCD-EFGH,\"Hallo Jörg,\"\r\n"
    pulled = []

    def chunks():  # noqa: ANN202
        yield header.encode()
        for i in range(500_000 // 10_000):
            pulled.append(i)
            yield (row * 10_000).encode()

    stream = downloads.for_excel(chunks(), "de")
    first = next(stream)
    assert first.startswith("\ufeffEmail Address;First Name;Persönlicher Link;Code;Briefanrede"
                            .encode())
    assert len(pulled) <= 2
    total = sum(len(piece) for piece in stream) + len(first)
    assert len(pulled) == 50
    body_rows = 500_000
    assert total > body_rows * len(row) * 0.9


def test_the_separator_of_a_stored_list_is_found_from_its_header():
    for sep in (",", ";", "\t"):
        stored = f"line{sep}reason{sep}Name\r\n3{sep}kaputt{sep}Otto\r\n".encode()
        found = downloads.rejections(io.BytesIO(stored), 1)
        assert found.rows == [("3", "kaputt", ["Otto"])], sep


# --- 3. printed links nobody could open ----------------------------------------------------

WARNING = "nobody who gets the letter can open them"
WARNING_DE = "Niemand, der den Brief bekommt, kann sie öffnen"
BEFORE_DE = "Auf einem gedruckten Brief oder als QR-Code könnte sie niemand öffnen"


def test_a_print_batch_under_a_local_address_shows_a_red_warning_before_and_after(console):
    url = upload(console, excel_export())
    preview = console.get(url).get_data(as_text=True)
    assert BEFORE_DE in preview and "http://localhost" in preview
    assert f'href="{BASE}/edit"' in preview
    mint(console, url, {f"map-{i}": v for i, v in enumerate(
        ["first_name", "last_name", "gender", "email", "attribute", "external_id"])},
        channel="print")
    page = console.get(url).get_data(as_text=True)
    assert WARNING_DE in page and 'role="alert"' in page
    assert WARNING_DE in console.get(url, headers=HX).get_data(as_text=True)


@pytest.mark.parametrize(("channel", "qr", "warned"), [
    ("email", False, False), ("email", True, True), ("print", False, True)])
def test_the_warning_is_for_printed_lists_only(console, channel, qr, warned):
    url = upload(console, MAILCHIMP, "audience.csv")
    mint(console, url, MAILCHIMP_MAP, channel=channel, qr=qr)
    assert (WARNING_DE in console.get(url).get_data(as_text=True)) is warned


@pytest.mark.parametrize(("base", "warned"), [
    ("https://aktion.example.de", False), ("http://aktion.example.de", True),
    ("https://localhost:8443", True), ("https://127.0.0.1", True)])
def test_an_https_link_address_ends_the_warning(console, base, warned):
    with console.application.app_context():
        db.session.scalar(WINTER).base_url = base
        db.session.commit()
    url = upload(console, MAILCHIMP, "audience.csv")
    assert (BEFORE_DE in console.get(url).get_data(as_text=True)) is warned
    mint(console, url, MAILCHIMP_MAP, channel="print")
    assert (WARNING_DE in console.get(url).get_data(as_text=True)) is warned
    links = console.get(url + "/links.csv").data.decode()
    assert f"{base}/p/" in links


def test_the_warning_follows_the_links_the_list_holds(console):
    """Letters printed from a list minted under localhost stay dead after the address is
    fixed: the warning stays until the list is minted again under the new address."""
    url = upload(console, MAILCHIMP, "audience.csv")
    mint(console, url, MAILCHIMP_MAP, channel="print")
    with console.application.app_context():
        db.session.scalar(WINTER).base_url = "https://aktion.example.de"
        db.session.commit()
    page = console.get(url).get_data(as_text=True)
    assert WARNING_DE in page and "http://localhost" in page
    again = upload(console, MAILCHIMP, "audience.csv")
    mint(console, again, MAILCHIMP_MAP, channel="print")
    assert WARNING_DE not in console.get(again).get_data(as_text=True)
    with console.application.app_context():
        db.session.scalar(WINTER).base_url = None
        db.session.commit()
    assert WARNING_DE not in console.get(again).get_data(as_text=True)


def _edit(client, **changes):  # noqa: ANN001, ANN003, ANN202
    page = client.get(f"{BASE}/edit").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "name": "Winter 2026", "quiz_slug": "zoohandlung",
            "locale": "de", "tone": "du", **changes}
    return client.post(f"{BASE}/edit", data=data)


@pytest.mark.parametrize(("typed", "stored"), [
    ("https://Aktion.Example.de", "https://aktion.example.de"),
    (" https://aktion.example.de/ ", "https://aktion.example.de"),
    ("http://shop.example:8080", "http://shop.example:8080"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
    ("", None),
])
def test_the_campaign_form_sets_the_link_address(console, typed, stored):
    page = console.get(f"{BASE}/edit").get_data(as_text=True)
    assert 'name="base_url"' in page and "Link-Adresse" in page
    assert _edit(console, base_url=typed).status_code == 303
    with console.application.app_context():
        assert db.session.scalar(WINTER).base_url == stored
    if stored:
        assert f'value="{stored}"' in console.get(f"{BASE}/edit").get_data(as_text=True)


@pytest.mark.parametrize(("typed", "message"), [
    ("ftp://aktion.example.de", "mit https:// beginnt"),
    ("aktion.example.de", "mit https:// beginnt"),
    ("javascript:alert(1)", "mit https:// beginnt"),
    ("https://user:secret@aktion.example.de", "keinen Benutzernamen"),
    ("https://aktion.example.de@evil.example", "keinen Benutzernamen"),
    ("https://aktion.example.de/p/", "ohne Pfad"),
    ("https://aktion.example.de?utm=x", "ohne Pfad"),
    ("https://aktion.example.de#top", "ohne Pfad"),
    ("https://aktion example.de", "kein gültiger Hostname"),
    ("https://aktion.example.de:99999", "mit https:// beginnt"),
])
def test_the_campaign_form_refuses_a_bad_link_address(console, typed, message):
    response = _edit(console, base_url=typed)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with console.application.app_context():
        assert db.session.scalar(WINTER).base_url is None


def test_a_new_campaign_gets_its_link_address(console):
    page = console.get("/console/campaigns/new").get_data(as_text=True)
    response = console.post("/console/campaigns/new", data={
        "csrf_token": csrf_token(page), "name": "Brief", "quiz_slug": "zoohandlung",
        "locale": "de", "tone": "sie", "base_url": "https://brief.example.de/"})
    assert response.status_code == 303
    with console.application.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "brief"))
        assert camp.base_url == "https://brief.example.de"


# --- 4. deleting uploads -------------------------------------------------------------------

def _stored_files(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(StoredFile))


def _delete(client, url: str, confirm: bool = True, **kwargs):  # noqa: ANN001, ANN003, ANN202
    data = {"csrf_token": _token(client)}
    if confirm:
        data["confirm"] = "1"
    return client.post(url + "/delete", data=data, **kwargs)


def test_an_upload_not_minted_is_deleted_with_its_file_after_a_confirmation(console):
    app = console.application
    url = upload(console, excel_export())
    assert _stored_files(app) == 1
    assert 'href="' + url + '/delete"' in console.get(url).get_data(as_text=True)
    confirm = console.get(url + "/delete")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "</html>" in text
    assert "Den Upload „kunden.csv“ löschen?" in text and 'name="confirm" value="1"' in text
    # A post without the confirmation changes nothing.
    assert _delete(console, url, confirm=False).status_code == 303
    assert _stored_files(app) == 1
    response = _delete(console, url)
    assert response.status_code == 303 and response.location == BASE
    assert "Der Upload „kunden.csv“ wurde gelöscht." in console.get(BASE).get_data(as_text=True)
    assert _stored_files(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Batch)) == 0
    assert console.get(url).status_code == 404
    assert _delete(console, url).status_code == 404


def test_with_htmx_the_delete_navigates_instead_of_swapping_a_page(console):
    url = upload(console, excel_export())
    response = _delete(console, url, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == BASE
    assert "</html>" not in response.get_data(as_text=True)


def test_an_unreadable_upload_can_be_deleted(console):
    url = upload(console, b"", "leer.csv")  # no header: nothing to read
    response = console.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Diese Datei kann nicht gelesen werden" in page
    assert 'href="' + url + '/delete"' in page
    assert _delete(console, url).status_code == 303
    assert _stored_files(console.application) == 0


def test_a_failed_batch_is_deleted_and_its_links_stay(console):
    app = console.application
    url = minted_mailchimp(console)
    with app.app_context():  # as a run that minted some rows and then failed leaves it
        batch = db.session.scalar(select(Batch))
        batch.status, batch.error = "failed", "the disk was full"
        db.session.commit()
    page = console.get(url).get_data(as_text=True)
    assert "Diesen Upload löschen" in page
    assert "Links, die vor dem Problem erzeugt wurden, bleiben gültig" in console.get(
        url + "/delete").get_data(as_text=True)
    assert _delete(console, url).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Batch)) == 0
        assert db.session.scalar(select(func.count()).select_from(Recipient).where(
            Recipient.first_name == "Jörg")) == 1
    assert _stored_files(app) == 0
    shopper = app.test_client()
    links = []  # the recipients' links still open their page
    with app.app_context():
        from purl.links.recipients import link_url

        camp = db.session.scalar(WINTER)
        for person in db.session.scalars(select(Recipient).where(Recipient.email.is_not(None),
                                                                 Recipient.batch_id.is_not(None))):
            links.append(link_url(person, camp, app.config["SECRET_KEYS"], "http://localhost"))
    assert links and all(shopper.get(u.removeprefix("http://localhost")).status_code == 200
                         for u in links)


def test_a_minted_batch_keeps_its_links_only_its_files_go(console):
    app = console.application
    url = upload(console, MAILCHIMP, "audience.csv")
    mint(console, url, MAILCHIMP_MAP, channel="print", qr=True)
    assert _stored_files(app) == 4  # the upload, the list with links, the errors, the QR codes
    confirm = console.get(url + "/delete").get_data(as_text=True)
    assert "Ihre 3 Links bleiben gültig" in confirm and "Nur ihre Dateien" in confirm
    assert _delete(console, url).location == url
    assert _stored_files(app) == 0
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        assert batch.status == "done" and batch.minted == 3
        assert db.session.scalar(select(func.count()).select_from(Recipient).where(
            Recipient.batch_id == batch.id)) == 3
    page = console.get(url).get_data(as_text=True)
    assert "Die Dateien dieser Liste wurden am" in page and "Die Links bleiben gültig" in page
    assert "links.csv" not in page and "/delete" not in page
    for name in ("links.csv", "links.csv?for=excel", "errors.csv", "qr.zip"):
        assert console.get(f"{url}/{name}").status_code == 404, name


def test_a_batch_being_minted_cannot_be_deleted(console):
    app = console.application
    url = upload(console, excel_export())
    with app.app_context():
        db.session.scalar(select(Batch)).status = "running"
        db.session.commit()
    assert "kann jetzt nicht gelöscht werden" in console.get(url + "/delete").get_data(
        as_text=True)
    assert _delete(console, url).location == url
    with app.app_context():
        assert db.session.scalar(select(Batch.status)) == "running"
    assert _stored_files(app) == 1


def test_a_viewer_cannot_delete(console, app):  # noqa: ANN001
    from purl.accounts import create_user
    from purl.campaigns import access

    url = upload(console, excel_export())
    with console.application.app_context():
        viewer = create_user(db.session, "viewer@shop.example", "a long enough password")
        access.share(db.session, db.session.scalar(WINTER), "viewer", user=viewer)
        db.session.commit()
    other = console.application.test_client()
    login(other, "viewer@shop.example", "a long enough password")
    token = csrf_token(other.get(BASE).get_data(as_text=True))
    assert other.post(url + "/delete", data={"csrf_token": token, "confirm": "1"}
                      ).status_code == 403
    assert _stored_files(console.application) == 1
    with console.application.app_context():
        assert db.session.scalar(select(Batch.id)) is not None


def test_the_preview_says_in_german_what_is_wrong_and_what_it_leaves_out(console):
    # A column name used twice: the sentence says what to do, in the console's language.
    url = upload(console, b"E-Mail;Vorname;E-Mail\r\na@example.org;Anna;b@example.org\r\n")
    page = console.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "die Kopfzeile nennt die Spalte &#39;E-Mail&#39; zweimal" in text
    # A Mailchimp export's IP and location columns are left out unless mapped.
    audience = (b"Email Address,First Name,OPTIN_IP,LATITUDE,LEID\r\n"
                b"anna@example.org,Anna,203.0.113.9,52.5,123\r\n")
    preview = console.get(upload(console, audience, "audience.csv"))
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "IP- oder Standortdaten sind: OPTIN_IP, LATITUDE" in text


def test_a_list_that_fails_in_the_worker_says_why_in_the_campaigns_language(console):
    """The console checks the mapping before queueing; what the worker finds later (here a
    mapping queued without a column for people) is stored in the campaign's language."""
    from purl import jobs
    from purl.links.batch import uploads

    url = upload(console, b"Artikel;Preis\r\nNapf;9,99\r\n", "artikel.csv")
    app = console.application
    with app.app_context():
        batch = db.session.scalar(select(Batch).order_by(Batch.id.desc()))
        assert uploads.queue_batch(db.session, batch, {"Artikel": "attribute",
                                                      "Preis": "attribute"})
        db.session.commit()
        assert jobs.run_batch_here(batch.id) == "failed"
    page = console.get(url).get_data(as_text=True)
    assert "keine Spalte enthält eine Kundennummer, eine E-Mail-Adresse oder einen Namen " \
           "(die Spalten: Artikel, Preis)" in page
    assert "no column holds" not in page


def test_a_workbooks_sheet_is_chosen_in_the_preview_and_minted(console, tmp_path):
    from tests.sheets import write_xlsx

    book = write_xlsx(tmp_path / "export.xlsx", sheets={
        "Hinweise": [["Exportiert am 1.12."]],
        "Kunden": [["E-Mail", "Vorname", "Lieblingstier"], ["a@example.de", "Anna", "Hund"],
                   ["b@example.de", "Ben", "Katze"]]})
    url = upload(console, book.read_bytes(), "export.xlsx")
    first = console.get(url).get_data(as_text=True)
    assert "Tabellenblatt mit der Liste" in first and "Exportiert am 1.12." in first
    page = console.get(url + "?sheet=Kunden").get_data(as_text=True)
    assert "Tabellenblatt „Kunden“" in page and '<option value="Kunden" selected>' in page
    assert ("Spalten, die purl nicht kennt, werden bei jedem Empfänger als Zusatzspalten "
            "gespeichert (nie in einer Anrede): Lieblingstier.") in page
    assert '<input type="hidden" name="sheet" value="Kunden">' in page
    data = {"map-0": "email", "map-1": "first_name", "map-2": "attribute", "sheet": "Kunden",
            "channel": "email", "csrf_token": _token(console)}
    checked = console.post(url + "/check", data=data, follow_redirects=True)
    assert '<input type="hidden" name="sheet" value="Kunden">' in checked.get_data(as_text=True)
    mint(console, url, {k: v for k, v in data.items() if k.startswith(("map-", "sheet"))})
    app = console.application
    with app.app_context():
        people = db.session.scalars(select(Recipient).order_by(Recipient.id)).all()
        assert [(p.email, p.attributes) for p in people][-2:] == [
            ("a@example.de", {"Lieblingstier": "Hund"}),
            ("b@example.de", {"Lieblingstier": "Katze"})]


def test_a_sheet_that_is_not_there_says_which_there_are(console, tmp_path):
    from tests.sheets import write_xlsx

    book = write_xlsx(tmp_path / "export.xlsx", sheets={"Kunden": [["E-Mail"], ["a@x.de"]]})
    url = upload(console, book.read_bytes(), "export.xlsx")
    response = console.get(url + "?sheet=Adressen")
    assert response.status_code == 422
    assert "die Arbeitsmappe hat kein Tabellenblatt &#39;Adressen&#39;: ihre Tabellenblätter " \
           "heißen Kunden" in response.get_data(as_text=True)
