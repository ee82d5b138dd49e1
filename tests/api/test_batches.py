"""A list sent as a file through the API becomes the console's batch job: 202, polled until
done, its links and rejected rows downloaded; a file that is no list, or a mapping that
cannot work, is refused naming the problem, and nothing is kept."""

from __future__ import annotations

import csv
import io

from flask import Flask
from sqlalchemy import func, select

from purl import jobs
from purl.extensions import db
from purl.models import Batch, Recipient
from tests.api.conftest import bearer

BATCHES = "/api/v1/campaigns/camp-a/batches"
LIST = ("Kundennummer;Vorname;Nachname;Anrede;E-Mail;Segment\n"
        "K1;Anna;Schäfer;Frau;anna@shop.example;gold\n"
        "K2;Jürgen;Müller;Herr;juergen@shop.example;silber\n"
        "K2;Jürgen;Doppelt;Herr;;silber\n").encode("cp1252")  # as Excel saves it


def _run(app: Flask, batch_id: int) -> None:
    with app.app_context():  # what a job worker does with the queued batch
        assert jobs.run_batch_here(batch_id) == "done"


def _count(app: Flask, model) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_list_sent_as_a_file_is_minted_by_a_worker_and_downloaded(api, api_app, keys):
    sent = api.post(f"{BATCHES}?filename=kunden.csv&map=Segment=attribute", data=LIST,
                    headers={**bearer(keys.all), "Content-Type": "text/csv"})
    assert sent.status_code == 202, sent.get_json()
    batch = sent.get_json()
    assert batch["status"] == "queued" and batch["filename"] == "kunden.csv"
    assert sent.headers["Location"] == f"{BATCHES}/{batch['id']}"
    assert api.get(f"{BATCHES}/{batch['id']}/links.csv",
                   headers=bearer(keys.all)).status_code == 409  # not minted yet

    _run(api_app, batch["id"])
    done = api.get(sent.headers["Location"], headers=bearer(keys.all)).get_json()
    assert (done["status"], done["minted"], done["rejected"], done["total_rows"]) == (
        "done", 2, 1, 3)
    links = api.get(done["links_csv"], headers=bearer(keys.all))
    rows = list(csv.DictReader(io.StringIO(links.get_data(as_text=True)), delimiter=";"))
    assert [r["Vorname"] for r in rows] == ["Anna", "Jürgen"]
    assert rows[0]["salutation_line"] == "Liebe Anna," and rows[0]["Segment"] == "gold"
    one = api.get("/api/v1/campaigns/camp-a/recipients/external_id:K1",
                  headers=bearer(keys.all)).get_json()
    assert one["link"] == rows[0]["purl_url"] and one["first_name"] == "Anna"
    errors = api.get(done["errors_csv"], headers=bearer(keys.all)).get_data(as_text=True)
    assert "K2" in errors and errors.splitlines()[1].startswith("4;")  # its spreadsheet row

    # The same list as a form's file part (curl -F file=@kunden.csv): nothing minted twice.
    again = api.post(BATCHES, data={"file": (io.BytesIO(LIST), "kunden.csv")},
                     headers=bearer(keys.all), content_type="multipart/form-data")
    assert again.status_code == 202 and again.get_json()["filename"] == "kunden.csv"
    _run(api_app, again.get_json()["id"])
    counted = api.get(again.headers["Location"], headers=bearer(keys.all)).get_json()
    assert (counted["minted"], counted["reused"]) == (0, 2)
    assert _count(api_app, Recipient) == 2


def test_a_file_that_is_no_list_or_cannot_be_mapped_is_refused_and_nothing_kept(api, api_app,
                                                                                keys):
    cases = [
        (b"", "body"),
        (b"\x00\x01\x02 binary \xff\xfe", "body"),
        (b"Vorname;Vorname\nAnna;Anna\n", "body"),  # the same column twice
        (b"Segment;Punkte\ngold;3\n", "query.map"),  # nobody can be told apart
    ]
    no_file = api.post(BATCHES, data={"liste": (io.BytesIO(LIST), "kunden.csv")},
                       headers=bearer(keys.all), content_type="multipart/form-data")
    assert no_file.status_code == 422 and "file" in no_file.get_json()["errors"][0]["message"]
    for body, field in cases:
        refused = api.post(BATCHES, data=body, headers=bearer(keys.all))
        assert refused.status_code == 422, (body, refused.get_json())
        assert refused.get_json()["errors"][0]["field"] == field, refused.get_json()
    for query in ("map=Nichtda=email", "map=Vorname=shoe_size",
                  "map=Vorname=email&map=E-Mail=email"):
        refused = api.post(f"{BATCHES}?{query}", data=LIST, headers=bearer(keys.all))
        assert refused.status_code == 422, query
        assert refused.get_json()["errors"][0]["field"] == "query.map"
    assert _count(api_app, Batch) == 0


def test_another_campaigns_batch_is_not_there_and_a_read_only_key_uploads_nothing(
        api, api_app, keys):
    theirs = api.post("/api/v1/campaigns/camp-b/batches", data=LIST, headers=bearer(keys.all))
    url = theirs.headers["Location"]
    for path in (url, url + "/links.csv", url + "/errors.csv"):
        assert api.get(path, headers=bearer(keys.scoped_a)).status_code == 404
    assert api.get(url.replace("camp-b", "camp-a"), headers=bearer(keys.all)).status_code == 404
    assert api.post(BATCHES, data=LIST, headers=bearer(keys.read_only)).status_code == 403
    assert _count(api_app, Batch) == 1


def test_a_list_larger_than_a_call_may_send_is_refused_before_it_is_read(make_app, keys):
    small = make_app(API_RATE_LIMIT="10000 per minute", MAX_CONTENT_LENGTH=1024).test_client()
    refused = small.post(BATCHES, data=LIST * 100, headers=bearer(keys.all))
    assert refused.status_code == 413
    anonymous = small.post(BATCHES, data=b"x" * 70_000)
    assert anonymous.status_code in (401, 413)
