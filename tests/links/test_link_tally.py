"""The link tally: what the console shows as links minted and active equals counting the
recipients, through every way a link is minted or withdrawn."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import case, func, select

from purl.analytics import funnel, link_tally
from purl.extensions import db
from purl.links import batch
from purl.links.recipients import NewRecipient, mint, revoke
from purl.models import Campaign, LinkTally, Recipient
from purl.privacy import erase_recipient
from tests.conftest import TEST_KEYS


def _tallied(campaign_id: int) -> dict:
    return {(t.channel, t.variant, t.is_seed): (t.links, t.revoked)
            for t in db.session.scalars(select(LinkTally).where(
                LinkTally.campaign_id == campaign_id)) if t.links or t.revoked}


def _recount(campaign_id: int) -> dict:
    """What counting the recipient table gives: (links, revoked) per group."""
    return {(channel, variant or "", bool(seed)): (int(links), int(revoked or 0))
            for channel, variant, seed, links, revoked in db.session.execute(
                select(Recipient.channel, Recipient.variant, Recipient.is_seed, func.count(),
                       func.sum(case((Recipient.revoked_at.is_not(None), 1), else_=0)))
                .where(Recipient.campaign_id == campaign_id)
                .group_by(Recipient.channel, Recipient.variant, Recipient.is_seed))}


def _list(path: Path, start: int, count: int) -> Path:
    lines = ["Vorname;E-Mail;Kundennummer"]
    lines += [f"K{i};k{i}@example.de;{i}" for i in range(start, start + count)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _generate(camp: Campaign, source: Path, out: Path, **options) -> batch.Result:  # noqa: ANN003
    return batch.generate(db.session, camp, source, out, keys=TEST_KEYS,
                          base_url="http://localhost",
                          options=batch.Options(workers=1, chunk_size=7, commit_rows=14,
                                                **options))


def test_links_minted_and_active_equal_counting_the_recipients(app, tmp_path):
    with app.app_context():
        camp = Campaign(slug="tally", name="Tally", quiz_slug="zoohandlung", variants=[
            {"key": k, "headline": k, "message": ""} for k in "ab"])
        db.session.add(camp)
        db.session.commit()
        # A list in blocks of 7 committed every 14 rows, seeds among them, on two channels.
        result = _generate(camp, _list(tmp_path / "a.csv", 0, 40), tmp_path / "a-out.csv",
                           seed_emails=["k3@example.de", "k17@example.de"])
        assert result.minted == 40
        _generate(camp, _list(tmp_path / "p.csv", 30, 25), tmp_path / "p-out.csv",
                  channel="print")
        # A re-run of an overlapping list adds only the new people.
        again = _generate(camp, _list(tmp_path / "b.csv", 35, 10), tmp_path / "b-out.csv")
        assert (again.minted, again.reused) == (5, 5)
        # One by one (console, API), a known person included: not counted twice.
        mint(db.session, camp, [NewRecipient(first_name="Einzeln", email="e@example.de"),
                                NewRecipient(first_name="K1", email="k1@example.de",
                                             external_id="1"),
                                NewRecipient(first_name="Probe", is_seed=True)])
        db.session.commit()
        ids = list(db.session.scalars(select(Recipient.id).where(
            Recipient.campaign_id == camp.id).order_by(Recipient.id)))
        assert revoke(db.session, camp, ids[:5]) == 5
        assert revoke(db.session, camp, ids[:6]) == 1  # the five are revoked already
        erase_recipient(db.session, db.session.get(Recipient, ids[3]), "test")  # revoked
        erase_recipient(db.session, db.session.get(Recipient, ids[10]), "test")
        db.session.commit()

        assert _tallied(camp.id) == _recount(camp.id)
        assert link_tally.links_minted(db.session, camp.id) == 40 + 25 + 5 + 2 == len(ids)
        assert link_tally.active_links(db.session, camp.id) == len(ids) - 7
        assert sum(link_tally.variant_usage(db.session, camp.id).values()) == len(ids)
        assert set(link_tally.variant_usage(db.session, camp.id)) == {"a", "b"}
        # The funnel's first step leaves the three seeds out.
        assert funnel.funnel(db.session, camp.id).counts["minted"] == len(ids) - 3
        by_channel = funnel.funnels(db.session, camp.id, "channel")
        assert by_channel["print"].counts["minted"] == 25
        assert funnel.campaign_funnels(db.session, [camp.id])[camp.id].counts["minted"] \
            == len(ids) - 3


def test_a_dry_run_and_a_failed_list_count_no_link(app, tmp_path):
    with app.app_context():
        camp = Campaign(slug="tally-dry", name="Dry", quiz_slug="zoohandlung", variants=[])
        db.session.add(camp)
        db.session.commit()
        _generate(camp, _list(tmp_path / "a.csv", 0, 20), tmp_path / "a-out.csv",
                  dry_run=True)
        assert _tallied(camp.id) == {} == _recount(camp.id)
        _generate(camp, _list(tmp_path / "a.csv", 0, 20), tmp_path / "a-out.csv")
        assert _tallied(camp.id) == {("email", "", False): (20, 0)} \
            == _recount(camp.id)
