"""Hardening #12, what the app serves and keeps: catalog links, spreadsheet cells, clicks,
showroom cache-busting and the retention of uploads (findings 2, 7 and 8)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from purl import files, jobs, spreadsheet
from purl.catalog.imports import url_problem, web_url
from purl.catalog.recommend import CatalogTerms, Filters
from purl.extensions import db
from purl.links.batch import uploads
from purl.links.recipients import NewRecipient, mint
from purl.models import (
    Batch,
    Campaign,
    Event,
    Product,
    Recipient,
    StoredFile,
    StoredFileChunk,
    utcnow,
)
from tests.conftest import HX, answer, csrf_token

BAD_URLS = [
    "https://zoohandlung.example@evil.example/p",  # the finding: goes to evil.example
    "https://user:pass@zoohandlung.example/p",
    "https://zoohandlung.example\\@evil.example/p",
    "javascript:alert(1)",
    "data:text/html,hi",
    "ftp://zoohandlung.example/p",
    "//evil.example/p",
    "/relative",
    "https://zoohandlung.example/p\x00x",
    "https://zoohandlung.example/p\x1b[0m",
    "https://zoohandlung.example/a b",
    "https://zoohandlung.example/\u200bp",
    "https:///evil.example",
    "https://zoohandlung.example:99999/p",
]


def _count(app, model, *where) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _postgres(app) -> bool:  # noqa: ANN001
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def _finish(client, path: str, tier: str = "hund") -> None:  # noqa: ANN001
    base = path + "/quiz/"
    answer(client, base + "tier", tier)
    if tier == "hund":
        answer(client, base + "alter", "erwachsen")
    answer(client, base + "bedarf", "futter", "snacks")
    answer(client, base + "budget", "bis-50")
    answer(client, base + "wichtig", "natur")


def _signed_links(html: str) -> dict[int, str]:
    """Product id -> its link as the showroom renders it (relative to the showroom)."""
    return {int(pid): href for href, pid in re.findall(r'href="(go/(\d+)\?s=[^"]+)"', html)}


# --------------------------------------------------------------- catalog links (finding 7)

@pytest.mark.parametrize("bad", BAD_URLS)
def test_the_url_rule_refuses_what_a_browser_would_read_differently(bad):
    assert url_problem(bad) is not None and web_url(bad) is None


@pytest.mark.parametrize("good", ["https://zoohandlung.example/p?x=1&y=@2",
                                  "http://zoohandlung.example:8080/produkte/napf#oben",
                                  "https://müller-zoo.example/p/schön"])
def test_the_url_rule_keeps_ordinary_shop_links(good):
    assert url_problem(good) is None and web_url(good) == good


def test_bad_catalog_links_are_refused_at_import_naming_row_and_field(app, runner, tmp_path):
    rows = [["sku", "title", "price", "url", "category"],
            ["OK-1", "Napf", "9,99", "https://zoohandlung.example/napf", "hund"]]
    rows += [[f"BAD-{i}", f"Produkt {i}", "5,00", url, "hund"] for i, url in enumerate(BAD_URLS)]
    path = tmp_path / "catalog.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = runner.invoke(args=["catalog", "import", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{path}:3: skipped: url 'https://zoohandlung.example@evil.example/p' must not " \
           "contain a user name or password (user@host)" in out
    assert f"{path}:6: skipped: url 'javascript:alert(1)' must start with http:// or " \
           "https://" in out
    # NUL and ESC: the reader refuses the row before any field is looked at.
    assert f"{path}:11: skipped: url holds a control character (U+0000): remove it" in out
    assert f"{path}:12: skipped: url holds a control character (U+001B): remove it" in out
    for line in range(3, 3 + len(BAD_URLS)):
        assert f"{path}:{line}: skipped: url " in out, line
    assert f"skipped {len(BAD_URLS)}" in out
    with app.app_context():
        assert list(db.session.scalars(select(Product.sku))) == ["OK-1"]


def test_a_shopify_shop_url_with_userinfo_is_refused(runner, tmp_path):
    path = tmp_path / "shopify.csv"
    path.write_text("Handle,Title,Variant Price\nnapf,Napf,9.99\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path), "--format", "shopify",
                                 "--shop-url", "https://shop.example@evil.example"])
    assert result.exit_code != 0
    assert "must not contain a user name or password" in result.output


def test_go_never_redirects_to_a_bad_url_already_in_the_database(app, client, demo):
    path = demo.path("Anna")
    _finish(client, path)
    html = client.get(path + "/showroom").get_data(as_text=True)
    href, product_id = re.search(r'href="(go/(\d+)[^"]*)"', html).groups()
    for bad in BAD_URLS:
        if "\x00" in bad and _postgres(app):
            continue  # PostgreSQL stores no NUL in text; ESC stands for the control characters
        with app.app_context():  # a row from before the rule, written behind the importer
            db.session.get(Product, int(product_id)).url = bad
            db.session.commit()
        r = client.get(f"{path}/{href}")
        assert r.status_code == 404, bad
        assert "Location" not in r.headers, bad
    assert _count(app, Event, Event.kind == "product_click") == 0


# --------------------------------------------------------------- spreadsheet cells (finding 7)

@pytest.mark.parametrize(("value", "cell"), [
    ("\x00=HYPERLINK(\"https://evil.example\")", "'=HYPERLINK(\"https://evil.example\")"),
    ("\x00\x00+1", "'+1"),
    ("\x1b-2+3", "'-2+3"),
    ("\x7f@SUM(A1)", "'@SUM(A1)"),
    ("\x85=1", "'=1"),
    (" =1+1", "' =1+1"),
    ("\ufeff=1+1", "'\ufeff=1+1"),
    ("\n=1+1", "'\n=1+1"),
    ("Anna\x00Muster", "AnnaMuster"),
    ("Straße 1\nHinterhaus", "Straße 1\nHinterhaus"),
    ("a\tb", "a\tb"),
    ("Jürgen Groß", "Jürgen Groß"),
])
def test_control_characters_go_before_the_formula_check(value, cell):
    assert spreadsheet.safe_cell(value) == cell
    assert spreadsheet.safe_row(["ok", value]) == ["ok", cell]


# Cells an export holds: purl's own (times, kinds, codes) and what people typed, with the
# characters that need quoting or a leading quote among them.
_CELL = st.one_of(
    st.sampled_from(["", "2026-12-01 12:00:00", "visit", "B1000X7", "K-7", "no", "hund|katze"]),
    st.text(alphabet=st.sampled_from(list('ab ,"=+-@\t\r\n\x00\u00a0\u200b\ufeffé')),
            max_size=6))


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=8))
def test_an_exports_csv_text_is_what_the_csv_writer_writes_for_safe_rows(rows):
    expected = io.StringIO()
    csv.writer(expected).writerows(spreadsheet.safe_row(r) for r in rows)
    assert spreadsheet.csv_text([tuple(r) for r in rows]) == expected.getvalue()


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=8),
       st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
def test_csv_a_database_wrote_comes_out_as_the_csv_writer_writes_safe_rows(rows, quoting):
    # PostgreSQL's COPY quotes a cell with a comma, quote or line break (or any, as asked)
    # and ends each line in a line feed.
    written = ""
    for row in rows:
        line = io.StringIO()
        csv.writer(line, quoting=quoting).writerow(row)
        written += line.getvalue().removesuffix("\r\n") + "\n"
    expected = io.StringIO()
    csv.writer(expected).writerows(spreadsheet.safe_row(r) for r in rows)
    assert spreadsheet.safe_csv(written) == expected.getvalue()


def _mint_upload(console, content: bytes) -> str:  # noqa: ANN001
    page = console.get("/console/campaigns/winter-2026").get_data(as_text=True)
    response = console.post("/console/campaigns/winter-2026/batches", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(content), "kunden.csv")},
        content_type="multipart/form-data")
    batch_url = response.location
    page = console.get(batch_url).get_data(as_text=True)
    choices = [re.search(r'<option value="([a-z_]+)" selected', s).group(1)
               for s in re.findall(r'<select id="map-\d+".*?</select>', page, re.S)]
    form = {f"map-{i}": v for i, v in enumerate(choices)}
    form.update({"channel": "email", "csrf_token": csrf_token(page)})
    assert console.post(batch_url, data=form).status_code == 303
    return batch_url


def _cells(data: bytes, delimiter: str = ";") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_a_nul_then_equals_cell_is_neutralised_in_links_and_errors_csv(console):
    evil = "\x00=HYPERLINK(\"https://evil.example\",\"Gewinn\")"
    content = ("Vorname;Nachname;E-Mail;Notiz\r\n"
               f"Anna;Muster;anna@example.org;{evil}\r\n"
               f"{evil};Kaputt;kaputt-at-example;{evil}\r\n").encode()
    batch_url = _mint_upload(console, content)
    links = console.get(batch_url + "/links.csv")
    assert links.status_code == 200
    rows = _cells(links.data)
    # A NUL rejects its row (#13); the rejected cells are neutralised in the errors file.
    assert not any(r[:2] == ["Anna", "Muster"] for r in rows)
    errors = _cells(console.get(batch_url + "/errors.csv").data)
    anna = next(r for r in errors if r[2:4] == ["Anna", "Muster"])
    assert anna[5] == "'=HYPERLINK(\"https://evil.example\",\"Gewinn\")"
    rejected = errors[2]
    assert rejected[2] == rejected[5] == "'=HYPERLINK(\"https://evil.example\",\"Gewinn\")"
    for row in rows + errors:
        for cell in row:
            assert "\x00" not in cell and not cell.startswith(("=", "+", "-", "@")), cell


def test_a_nul_then_equals_cell_is_neutralised_in_events_csv(console):
    app = console.application
    # PostgreSQL stores no NUL in text: there another control character leads the formula.
    lead = "\x01" if _postgres(app) else "\x00"
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026"))
        (person,) = mint(db.session, camp, [NewRecipient(
            first_name="Eve", email="eve@example.org", external_id=lead + "=1+cmd|' /C calc'!A0")])
        from purl.analytics import events

        events.record(db.session, "visit", recipient=person)
        db.session.commit()
    response = console.get("/console/campaigns/winter-2026/events.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    column = rows[0].index("recipient_external_id")
    assert [r[column] for r in rows[1:]] == ["'=1+cmd|' /C calc'!A0"]


# --------------------------------------------------------------- clicks (finding 8)

def test_a_click_without_a_journey_that_showed_the_product_records_nothing(app, client, demo):
    with app.app_context():
        product_id = db.session.scalar(select(Product.id).where(Product.category == "hund")
                                       .order_by(Product.id))
    # No quiz taken at all: still sent to the shop (harmless), but nothing is counted.
    stranger = app.test_client()
    for path in (f"/q/zoohandlung/go/{product_id}", demo.path("Anna", f"/go/{product_id}")):
        r = stranger.get(path)
        assert r.status_code == 302 and r.location.startswith("https://"), path
    assert _count(app, Event, Event.kind == "product_click") == 0

    # A finished quiz, but a product its showroom never showed, or a forged signature.
    _finish(client, demo.path("Anna"))
    links = _signed_links(client.get(demo.path("Anna", "/showroom")).get_data(as_text=True))
    with app.app_context():
        cat_product = db.session.scalar(select(Product.id).where(Product.category == "katze"))
    shown_id, shown_href = next(iter(links.items()))
    signature = shown_href.split("?s=", 1)[1]
    for trick in (f"/go/{cat_product}", f"/go/{cat_product}?s={signature}",
                  f"/go/{shown_id}", f"/go/{shown_id}?s=", f"/go/{shown_id}?s=x{signature}",
                  f"/go/{shown_id}?s={'A' * 43}"):
        assert client.get(demo.path("Anna", trick)).status_code == 302, trick
    assert _count(app, Event, Event.kind == "product_click") == 0

    # Another journey's link: Kim answered differently, so Anna's signature is not hers.
    kim = app.test_client()
    _finish(kim, demo.path("Kim"), tier="katze")
    assert kim.get(demo.path("Kim", f"/{shown_href}")).status_code == 302
    assert _count(app, Event, Event.kind == "product_click") == 0

    # The real thing: the link the showroom rendered.
    r = client.get(demo.path("Anna", f"/{shown_href}"))
    assert r.status_code == 302
    assert _count(app, Event, Event.kind == "product_click", Event.product_id == shown_id) == 1


def test_an_anonymous_quiz_click_counts_only_from_its_showroom(app, client, demo):
    with app.app_context():
        product_id = db.session.scalar(select(Product.id).where(Product.category == "hund"))
    assert client.get(f"/q/zoohandlung/go/{product_id}").status_code == 302
    assert _count(app, Event, Event.kind == "product_click") == 0
    _finish(client, "/q/zoohandlung")
    links = _signed_links(client.get("/q/zoohandlung/showroom").get_data(as_text=True))
    shown_id, href = next(iter(links.items()))
    assert client.get(f"/q/zoohandlung/{href}").status_code == 302
    assert _count(app, Event, Event.kind == "product_click", Event.product_id == shown_id) == 1


# --------------------------------------------------------------- showroom cache-busting (2)

TERMS = CatalogTerms(categories=frozenset({"hund", "katze"}),
                     product_types=frozenset({"futter", "snacks"}),
                     tags=frozenset({"bio", "premium"}), price_max=Decimal("120.00"))


def _filters(*pairs: tuple[str, str]) -> Filters:
    return Filters.from_query(MultiDict(pairs), TERMS)


def test_junk_filter_parameters_all_read_as_no_filter():
    plain = Filters()
    junk = [
        [("min", "0.0000011"), ("tag", "x1")],  # the finding, and its endless variants
        [("min", "0.0000012"), ("tag", "x2")],
        [("min", "0,004"), ("tag", "x3"), ("tag", "x4")],
        [("category", "nope"), ("type", "' or 1=1")],
        [("min", "-3"), ("max", "NaN")], [("max", "inf")], [("max", "-Infinity")],
        [("max", "1e999999999")], [("max", "100000000000")], [("max", "120.01")],
        [("min", "500")],  # beyond the dearest product
        [("utm_source", "x"), ("page", "7"), ("sort", "drop table")],
        [("tag", "")] * 500,
    ]
    for pairs in junk:
        assert _filters(*pairs) == plain, pairs


def test_one_choice_in_any_spelling_is_one_key():
    same = [
        [("min", "5"), ("max", "20"), ("tag", "bio"), ("tag", "premium")],
        [("max", "20.00"), ("min", "5.004"), ("tag", "premium"), ("tag", "bio")],
        [("min", "4,995"), ("max", "20,0"), ("tag", "bio"), ("tag", "premium"), ("tag", "bio"),
         ("tag", "x9")],
        [("min", "20"), ("max", "5"), ("tag", " premium "), ("tag", "bio"), ("junk", "1")],
    ]
    keys = {_filters(*pairs) for pairs in same}
    assert keys == {Filters(price_min=Decimal("5.00"), price_max=Decimal("20.00"),
                            tags=("bio", "premium"))}
    many = [("tag", f"t{i}") for i in range(10_000)] + [("tag", "bio")]
    assert _filters(*many).tags == ()  # only the first 50 values are looked at


def test_showroom_misses_beyond_the_limit_answer_429_while_cached_pages_answer(
    make_app, demo
):
    app = make_app(SHOWROOM_MISS_LIMIT="3 per minute")
    client = app.test_client()
    _finish(client, demo.path("Anna"))
    page = demo.path("Anna", "/showroom")
    assert client.get(page).status_code == 200  # miss 1
    # Junk parameters read as the plain page: cached, however many, never counted.
    for i in range(30):
        r = client.get(f"{page}?min=0.000001{i}&tag=x{i}&max=9e99")
        assert r.status_code == 200, i
    assert client.get(page + "?type=snacks").status_code == 200  # miss 2
    assert client.get(page + "?type=futter").status_code == 200  # miss 3
    over = client.get(page + "?type=futter&max=20")  # miss 4: over the limit
    assert over.status_code == 429
    assert client.get(page + "?type=futter&max=15", headers=HX).status_code == 429
    # What is cached still answers, full page and fragment.
    assert client.get(page).status_code == 200
    assert client.get(page + "?type=snacks", headers=HX).status_code == 200
    assert client.get(page + "?tag=x99&type=futter").status_code == 200


def test_without_the_cache_every_showroom_is_computed_and_counted(make_app, demo):
    app = make_app(SHOWROOM_MISS_LIMIT="3 per minute", SHOWROOM_CACHE=False)
    client = app.test_client()
    _finish(client, demo.path("Anna"))
    page = demo.path("Anna", "/showroom")
    first = client.get(page).get_data(as_text=True)
    # A product changed is in the next page at once, with nothing remembered between.
    with app.app_context():
        product = db.session.get(Product, min(_signed_links(first)))
        product.title = "Frisch umbenannt"
        db.session.commit()
    assert "Frisch umbenannt" in client.get(page).get_data(as_text=True)
    assert client.get(page).status_code == 200  # the third computed
    assert client.get(page).status_code == 429  # the same page, computed again: counted


# --------------------------------------------------------------- retention (finding 8)

def _stored(name: str, size: int = 3000) -> int:
    return files.save(db.session, io.BytesIO(b"x" * size), name).id


def _batch(camp: Campaign, status: str, age_days: float, *, finished: bool = True,
           stored: bool = True) -> int:
    when = utcnow() - dt.timedelta(days=age_days)
    batch = Batch(campaign_id=camp.id, filename="kunden.csv", status=status,
                  created_at=when - dt.timedelta(hours=1),
                  finished_at=when if finished else None, updated_at=when)
    if stored:
        batch.input_file_id = _stored("input.csv")
        if status == "done":
            batch.output_file_id = _stored("output.csv")
            batch.errors_file_id = _stored("output.errors.csv", 10)
            batch.qr_file_id = _stored("qr.zip", 5000)
    db.session.add(batch)
    db.session.flush()
    return batch.id


def test_purge_deletes_old_files_keeps_recent_and_running_ones(console, tmp_path):
    app = console.application
    legacy_root = tmp_path / "uploads"
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026"))
        old = _batch(camp, "done", 31)
        failed = _batch(camp, "failed", 45)
        never_mapped = _batch(camp, "uploaded", 40, finished=False)
        recent = _batch(camp, "done", 29)
        running = _batch(camp, "running", 90, finished=False)
        queued = _batch(camp, "queued", 90, finished=False)
        legacy = _batch(camp, "done", 400, stored=False)
        (person,) = mint(db.session, camp, [NewRecipient(first_name="Ida",
                                                         email="ida@example.org")])
        person.batch_id = old
        db.session.commit()
        person_id = person.id
        kept_files = {db.session.get(Batch, b).input_file_id for b in (recent, running, queued)}
    (legacy_root / str(legacy)).mkdir(parents=True)
    (legacy_root / str(legacy) / "output.csv").write_text("Vorname\nIda\n")
    (legacy_root / str(recent)).mkdir()

    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "retention 30 days: deleted the files of 4 batches (6 stored files" in result.output

    with app.app_context():
        for batch_id in (old, failed, never_mapped, legacy):
            batch = db.session.get(Batch, batch_id)
            assert (batch.input_file_id, batch.output_file_id, batch.errors_file_id,
                    batch.qr_file_id) == (None, None, None, None), batch_id
            assert uploads.purged(batch).days == 30
        assert not (legacy_root / str(legacy)).exists()
        assert (legacy_root / str(recent)).is_dir()
        remaining = set(db.session.scalars(select(StoredFile.id)))
        assert remaining == kept_files | {
            getattr(db.session.get(Batch, recent), c) for c in
            ("output_file_id", "errors_file_id", "qr_file_id")}
        assert set(db.session.scalars(select(StoredFileChunk.file_id))) == remaining
        assert db.session.get(Batch, running).status == "running"
        # The links stay: only the files go.
        assert db.session.get(Recipient, person_id).batch_id == old

    # The page says so, instead of downloads that would answer 404.
    base = "/console/campaigns/winter-2026/batches"
    html = console.get(f"{base}/{old}").get_data(as_text=True)
    assert "Diese Installation bewahrt sie 30 Tage lang auf." in html
    assert "Die Links bleiben gültig." in html
    assert f"{base}/{old}/links.csv" not in html
    assert console.get(f"{base}/{old}/links.csv").status_code == 404
    fragment = console.get(f"{base}/{old}", headers=HX).get_data(as_text=True)
    assert "30 Tage lang auf" in fragment
    html = console.get(f"{base}/{never_mapped}").get_data(as_text=True)
    assert "30 Tage lang auf" in html and "Spalten prüfen" not in html
    recent_html = console.get(f"{base}/{recent}").get_data(as_text=True)
    assert f"{base}/{recent}/links.csv" in recent_html and "Tage lang auf" not in recent_html

    # Running again deletes nothing more.
    again = app.test_cli_runner().invoke(args=["purge"])
    assert "deleted the files of 0 batches" in again.output


def test_the_periodic_job_runs_the_same_purge(make_app, demo):
    app = make_app(RETENTION_DAYS=7)
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026"))
        week_old, fresh = _batch(camp, "done", 8), _batch(camp, "done", 6)
        db.session.commit()
        jobs.purge_task.call_local()  # as the scheduler runs it
        db.session.expire_all()
        assert uploads.purged(db.session.get(Batch, week_old)).days == 7
        assert db.session.get(Batch, week_old).output_file_id is None
        assert db.session.get(Batch, fresh).output_file_id is not None
    never = make_app(RETENTION_DAYS=0)
    with never.app_context():
        assert jobs.purge_files(db.session, never.config).batches == []
        assert db.session.get(Batch, fresh).output_file_id is not None
