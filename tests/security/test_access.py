"""Campaign access (issue #12, finding 3): a marketer sees and changes only what is shared.

The route walk builds its URL list from ``app.url_map``: every console rule that names a
campaign (or an object under one) must be listed in ``RIGHTS`` with the right it needs, so a
new route cannot be forgotten.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from purl.accounts import create_user, set_active
from purl.campaigns import access
from purl.demo.load import DEMO_CAMPAIGN, DEMO_PASSWORD, DEMO_USER
from purl.extensions import db
from purl.models import (
    Batch,
    Campaign,
    CampaignMember,
    Catalog,
    Product,
    Recipient,
    Team,
    User,
)
from tests.conftest import MARKETER, MARKETER_PASSWORD, csrf_token, excel_export, login

PASSWORD = "a long enough password"
STRANGER, VIEWER, EDITOR, IN_TEAM = ("stranger@shop.example", "viewer@shop.example",
                                     "editor@shop.example", "team@shop.example")

# What each console route with a campaign needs, per method: "view" (viewers and up), "edit"
# (editors and up), "manage" (the owner and admins). GET forms of changes need "edit".
RIGHTS: dict[str, dict[str, str]] = {
    "console.campaign": {"GET": "view"},
    "console.edit_campaign": {"GET": "edit", "POST": "edit"},
    "console.archive_campaign": {"GET": "edit", "POST": "edit"},
    "console.campaign_showroom": {"GET": "edit", "POST": "edit"},
    "console.campaign_offers": {"GET": "edit", "POST": "edit"},
    "console.links": {"GET": "view"},
    "console.preview": {"GET": "view"},
    "console.campaign_preview": {"GET": "view"},
    "console.campaign_preview_start": {"GET": "view"},
    "console.campaign_preview_question": {"GET": "view", "POST": "view"},
    "console.campaign_preview_showroom": {"GET": "view"},
    "console.campaign_preview_product": {"GET": "view"},
    "console.revoke_link": {"GET": "edit", "POST": "edit"},
    "console.revoke_all": {"GET": "edit", "POST": "edit"},
    "console.erase_recipient": {"GET": "edit", "POST": "edit"},
    "console.export_recipient": {"GET": "view"},
    "console.upload_batch": {"POST": "edit"},
    "console.batch": {"GET": "view"},
    "console.mint_batch": {"POST": "edit"},
    "console.check_batch": {"POST": "edit"},
    "console.batch_check": {"GET": "edit"},
    "console.batch_output": {"GET": "view"},
    "console.batch_errors": {"GET": "view"},
    "console.batch_qr": {"GET": "view"},
    "console.delete_batch": {"GET": "edit", "POST": "edit"},
    "console.funnel": {"GET": "view"},
    "console.export_events": {"GET": "view"},
    "console.sharing": {"GET": "manage"},
    "console.share_campaign": {"POST": "manage"},
    "console.change_member": {"POST": "manage"},
    "console.unshare_member": {"POST": "manage"},
}
# What a route a viewer may use answers in the walk when not 200: the preview's steps lead on
# (the start to the first question, the showroom to the quiz not taken yet, a product to the
# shop), and an answer posted without a value is refused.
WALK_ANSWERS = {("console.campaign_preview_start", "GET"): 303,
                ("console.campaign_preview_showroom", "GET"): 303,
                ("console.campaign_preview_product", "GET"): 303,
                ("console.campaign_preview_question", "POST"): 422}
# Arguments that name a campaign or an object under one.
CAMPAIGN_ARGS = {"slug", "batch_id", "recipient_id", "member_id"}


@dataclass
class World:
    app: Flask
    campaign_id: int
    batch_id: int  # minted, with links.csv, errors.csv and qr.zip
    uploaded_batch_id: int  # columns not checked yet
    recipient_id: int
    member_id: int  # the viewer's membership
    product_id: int = 0  # one of the campaign's quiz's catalog

    def client(self, email: str, password: str = PASSWORD) -> FlaskClient:
        client = self.app.test_client()
        assert login(client, email, password).status_code == 303, email
        return client

    def campaign(self) -> Campaign:
        return db.session.get(Campaign, self.campaign_id)


def post(client: FlaskClient, path: str, data: dict | None = None, **kwargs):  # noqa: ANN003, ANN201
    token = csrf_token(client.get("/console/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def upload(client: FlaskClient, slug: str = DEMO_CAMPAIGN) -> str:
    response = post(client, f"/console/campaigns/{slug}/batches", {
        "file": (io.BytesIO(excel_export()), "kunden.csv")}, content_type="multipart/form-data")
    assert response.status_code == 303, response.status_code
    return response.location


@pytest.fixture
def world(make_app, tmp_path) -> World:  # noqa: ANN001
    """The demo campaign (the demo admin's), shared with a viewer, an editor and a team (as
    editor); a stranger marketer has no access. One list minted with QR codes, one not."""
    from purl.demo.load import load_demo

    app = make_app(UPLOAD_FOLDER=str(tmp_path / "uploads"), CONSOLE_BATCH_WAIT=True)
    with app.app_context():
        load_demo(db.session)
        users = {email: create_user(db.session, email, PASSWORD)
                 for email in (STRANGER, VIEWER, EDITOR, IN_TEAM)}
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == DEMO_CAMPAIGN))
        member = access.share(db.session, camp, "viewer", user=users[VIEWER])
        access.share(db.session, camp, "editor", user=users[EDITOR])
        team = access.create_team(db.session, "Vertrieb")
        access.add_to_team(db.session, team, users[IN_TEAM])
        access.share(db.session, camp, "editor", team=team)
        db.session.commit()
        campaign_id, member_id = camp.id, member.id
        recipient_id = db.session.scalar(select(Recipient.id).where(
            Recipient.campaign_id == campaign_id, Recipient.first_name == "Anna"))
        product_id = db.session.scalar(select(Product.id).join(Catalog).where(
            Catalog.name == "default").order_by(Product.id).limit(1))

    admin = app.test_client()
    assert login(admin, DEMO_USER, DEMO_PASSWORD).status_code == 303
    minted = upload(admin)
    page = admin.get(minted).get_data(as_text=True)
    form = {f"map-{i}": v for i, v in enumerate(
        ["first_name", "last_name", "gender", "email", "external_id", "attribute"])}
    response = post(admin, minted, form | {"channel": "print", "qr": "1"})
    assert response.status_code == 303 and "csrf_token" in page
    waiting = upload(admin)
    with app.app_context():
        done = db.session.get(Batch, int(minted.rsplit("/", 1)[1]))
        assert done.status == "done" and done.qr_file_id is not None
    return World(app, campaign_id, done.id, int(waiting.rsplit("/", 1)[1]), recipient_id,
                 member_id, product_id)


def _url(world: World, rule) -> str:  # noqa: ANN001
    values = {"slug": DEMO_CAMPAIGN, "batch_id": world.batch_id,
              "recipient_id": world.recipient_id, "member_id": world.member_id,
              "qid": "tier", "product_id": world.product_id}
    return rule.build(values)[1]


def campaign_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, right) of every console route that takes a campaign."""
    routes, unlisted = [], []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console/") or not rule.arguments & CAMPAIGN_ARGS:
            continue
        assert "slug" in rule.arguments, f"{rule.rule}: an object without its campaign"
        rights = RIGHTS.get(rule.endpoint)
        if rights is None:
            unlisted.append(rule.rule)
            continue
        assert set(rights) == rule.methods - {"HEAD", "OPTIONS"}, rule.rule
        routes += [(rule.endpoint, method, right) for method, right in rights.items()]
    assert not unlisted, f"console routes with a campaign not in RIGHTS: {unlisted}"
    assert len(routes) >= 20
    return routes


def walk(world: World, client: FlaskClient) -> dict[tuple[str, str], int]:
    """Every campaign route once, GET or POST (with a valid CSRF token and no other data)."""
    rules = {rule.endpoint: rule for rule in world.app.url_map.iter_rules()}
    token = csrf_token(client.get("/console/").get_data(as_text=True))
    seen = {}
    for endpoint, method, _right in campaign_routes(world.app):
        url = _url(world, rules[endpoint])
        response = (client.get(url) if method == "GET"
                    else client.post(url, data={"csrf_token": token}))
        seen[endpoint, method] = response.status_code
    return seen


def _state(world: World) -> tuple:
    """What a change anywhere on the campaign would alter."""
    with world.app.app_context():
        camp = world.campaign()
        return (camp.message, camp.headline, camp.archived_at, camp.revoked_at, camp.owner_id,
                db.session.scalar(select(func.count()).select_from(Recipient).where(
                    Recipient.revoked_at.is_not(None))),
                db.session.scalar(select(func.count()).select_from(Batch)),
                db.session.scalars(select(Batch.status).order_by(Batch.id)).all(),
                sorted(db.session.execute(select(CampaignMember.id, CampaignMember.role)).all()))


# --- (a) to (e): the walk over url_map ----------------------------------------------------

def test_a_marketer_without_access_gets_404_on_every_campaign_route(world):
    before = _state(world)
    seen = walk(world, world.client(STRANGER))
    assert {key: status for key, status in seen.items() if status != 404} == {}
    assert _state(world) == before


def test_a_viewer_reads_everything_and_gets_403_on_every_change(world):
    before = _state(world)
    seen = walk(world, world.client(VIEWER))
    for endpoint, method, right in campaign_routes(world.app):
        expected = WALK_ANSWERS.get((endpoint, method), 200) if right == "view" else 403
        assert seen[endpoint, method] == expected, (endpoint, method, seen[endpoint, method])
    assert _state(world) == before


def test_a_viewer_cannot_check_the_columns_of_an_upload(world):
    viewer = world.client(VIEWER)
    url = f"/console/campaigns/{DEMO_CAMPAIGN}/batches/{world.uploaded_batch_id}"
    assert viewer.get(url).status_code == 403
    assert world.client(EDITOR).get(url).status_code == 200


def _changes_allowed(seen: dict, routes: list, rights: set[str]) -> None:
    for endpoint, method, right in routes:
        status = seen[endpoint, method]
        if right in rights:
            assert status in (200, 303, 422), (endpoint, method, status)
        else:
            assert status == 403, (endpoint, method, status)


def test_an_editor_changes_but_does_not_manage_sharing(world):
    members_before = _state(world)[-1]
    seen = walk(world, world.client(EDITOR))
    _changes_allowed(seen, campaign_routes(world.app), {"view", "edit"})
    after = _state(world)
    assert after[3] is not None  # revoke all went through
    assert after[-1] == members_before  # the sharing did not change


def test_a_team_member_has_the_teams_right(world):
    seen = walk(world, world.client(IN_TEAM))
    _changes_allowed(seen, campaign_routes(world.app), {"view", "edit"})


def test_an_admin_sees_and_changes_every_campaign(world):
    seen = walk(world, world.client(DEMO_USER, DEMO_PASSWORD))
    _changes_allowed(seen, campaign_routes(world.app), {"view", "edit", "manage"})


def test_every_object_route_of_the_console_is_in_the_walk(make_app):
    # A route that takes a campaign but is missing from RIGHTS fails the walk: prove it.
    app = make_app()
    campaign_routes(app)
    app.add_url_rule("/console/campaigns/<slug>/forgotten", "console.forgotten",
                     lambda slug: "")
    with pytest.raises(AssertionError, match="not in RIGHTS"):
        campaign_routes(app)


# --- the audit's replay --------------------------------------------------------------------

def test_audit_replay_a_second_marketer_cannot_open_download_change_or_revoke(world):
    """Finding 3 as reproduced: a second marketer opened the admin's campaign, downloaded
    links.csv (live links and emails) and qr.zip, changed the landing message and revoked all
    links. Each of these now answers 404 and changes nothing."""
    other = world.client(STRANGER)
    base = f"/console/campaigns/{DEMO_CAMPAIGN}"
    assert other.get(base).status_code == 404
    assert DEMO_CAMPAIGN not in other.get("/console/").get_data(as_text=True)
    links = other.get(f"{base}/batches/{world.batch_id}/links.csv")
    assert links.status_code == 404 and b"@example.org" not in links.data
    assert other.get(f"{base}/batches/{world.batch_id}/qr.zip").status_code == 404
    assert other.get(f"{base}/links").status_code == 404
    assert other.get(f"{base}/events.csv").status_code == 404
    changed = post(other, f"{base}/edit", {"name": "Gekapert", "quiz_slug": "zoohandlung",
                                           "locale": "de", "tone": "du",
                                           "message": "Hier klicken: evil.example"})
    assert changed.status_code == 404
    assert post(other, f"{base}/revoke").status_code == 404
    with world.app.app_context():
        camp = world.campaign()
        assert "evil" not in camp.message and camp.name != "Gekapert"
        assert camp.revoked_at is None
        assert db.session.scalar(select(func.count()).select_from(Recipient).where(
            Recipient.revoked_at.is_not(None))) == 0


def test_an_object_of_a_visible_campaign_under_another_campaigns_address_is_404(world):
    """The viewer sees winter-2026 and owns nothing else; a campaign of their own must not
    open a door to winter-2026's batches or recipients either."""
    viewer = world.client(VIEWER)
    created = post(viewer, "/console/campaigns/new", {
        "name": "Meine", "quiz_slug": "zoohandlung", "locale": "de", "tone": "du"})
    assert created.location == "/console/campaigns/meine"
    assert viewer.get(f"/console/campaigns/meine/batches/{world.batch_id}/links.csv"
                      ).status_code == 404
    assert viewer.get(f"/console/campaigns/meine/links/{world.recipient_id}/preview"
                      ).status_code == 404
    assert post(viewer, f"/console/campaigns/meine/sharing/{world.member_id}/remove"
                ).status_code == 404
    with world.app.app_context():
        assert db.session.get(CampaignMember, world.member_id) is not None


# --- the list, the read-only pages, the sharing page ----------------------------------------

def test_the_list_shows_only_visible_campaigns_in_one_query(world):
    with world.app.app_context():
        for i in range(6):
            db.session.add(Campaign(slug=f"andere-{i}", name=f"Andere {i}",
                                    quiz_slug="zoohandlung", variants=[]))
        db.session.commit()
    viewer = world.client(VIEWER)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
        statements.append(statement)

    with world.app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = viewer.get("/console/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert f"/console/campaigns/{DEMO_CAMPAIGN}\"" in page and "andere-" not in page
    # The access rule is one clause of the list's query, not a query per campaign.
    assert len([s for s in statements if "campaign_member" in s]) == 1
    admin = world.client(DEMO_USER, DEMO_PASSWORD).get("/console/").get_data(as_text=True)
    assert all(f"/console/campaigns/andere-{i}\"" in admin for i in range(6))


def test_a_viewer_sees_no_change_buttons(world):
    viewer, editor = world.client(VIEWER), world.client(EDITOR)
    base = f"/console/campaigns/{DEMO_CAMPAIGN}"
    for client, can_edit in ((viewer, False), (editor, True)):
        page = client.get(base).get_data(as_text=True)
        links = client.get(f"{base}/links").get_data(as_text=True)
        for change in (f"{base}/edit", f"{base}/archive", f"{base}/revoke",
                       f"{base}/batches\""):
            assert (change in page) is can_edit, (change, can_edit)
        assert (f"/links/{world.recipient_id}/revoke" in links) is can_edit
        assert f"{base}/sharing" not in page  # owner and admins only
        assert ("Sie können diese Kampagne ansehen" in page) is not can_edit
    admin = world.client(DEMO_USER, DEMO_PASSWORD).get(base).get_data(as_text=True)
    assert f"{base}/sharing" in admin and f"{base}/edit" in admin


def test_a_marketer_owns_what_they_create_and_shares_it(app, users):
    with app.app_context():
        create_user(db.session, VIEWER, PASSWORD)
        team = access.create_team(db.session, "Vertrieb")
        access.add_to_team(db.session, team, create_user(db.session, IN_TEAM, PASSWORD))
        db.session.commit()
    owner, colleague, in_team = app.test_client(), app.test_client(), app.test_client()
    login(owner, MARKETER, MARKETER_PASSWORD)
    login(colleague, VIEWER, PASSWORD)
    login(in_team, IN_TEAM, PASSWORD)
    created = post(owner, "/console/campaigns/new", {
        "name": "Frühling", "quiz_slug": "zoohandlung", "locale": "de", "tone": "du"})
    base = created.location
    assert base == "/console/campaigns/fruehling"
    with app.app_context():
        camp = db.session.scalar(select(Campaign))
        assert camp.owner.email == MARKETER
    assert colleague.get(base).status_code == 404

    page = owner.get(base + "/sharing")
    assert page.status_code == 200 and "Freigabe" in page.get_data(as_text=True)
    problems = [
        ({"email": "nobody@shop.example", "role": "viewer"}, "Kein Benutzer hat diese E-Mail"),
        ({"role": "viewer"}, "E-Mail-Adresse eines Benutzers ein oder wählen Sie ein Team"),
        ({"email": MARKETER, "role": "viewer"}, "Der Eigentümer sieht diese Kampagne ohnehin"),
        ({"email": VIEWER, "role": "owner"}, "Keine gültige Auswahl"),
    ]
    for data, message in problems:
        response = post(owner, base + "/sharing", data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), data

    assert post(owner, base + "/sharing", {"email": " Viewer@Shop.example ",
                                           "role": "viewer"}).status_code == 303
    assert colleague.get(base).status_code == 200
    assert "fruehling" in colleague.get("/console/").get_data(as_text=True)
    assert colleague.get(base + "/edit").status_code == 403
    with app.app_context():
        member_id = db.session.scalar(select(CampaignMember.id))
    assert post(owner, f"{base}/sharing/{member_id}", {"role": "editor"}).status_code == 303
    assert colleague.get(base + "/edit").status_code == 200
    assert colleague.get(base + "/sharing").status_code == 403  # an editor does not share

    assert in_team.get(base).status_code == 404
    with app.app_context():
        team_id = db.session.scalar(select(Team.id))
    assert post(owner, base + "/sharing", {"team": str(team_id),
                                           "role": "viewer"}).status_code == 303
    assert in_team.get(base).status_code == 200
    sharing = owner.get(base + "/sharing").get_data(as_text=True)
    assert VIEWER in sharing and "Vertrieb" in sharing

    assert post(owner, f"{base}/sharing/{member_id}/remove").status_code == 303
    assert colleague.get(base).status_code == 404


def test_admins_keep_teams(app, users):
    from tests.conftest import ADMIN, ADMIN_PASSWORD

    admin = app.test_client()
    login(admin, ADMIN, ADMIN_PASSWORD)
    assert admin.get("/console/teams").status_code == 200
    assert post(admin, "/console/teams", {"name": "  Vertrieb  Nord "}).status_code == 303
    again = post(admin, "/console/teams", {"name": "Vertrieb Nord"})
    assert again.status_code == 422 and "gibt es schon" in again.get_data(as_text=True)
    with app.app_context():
        team = db.session.scalar(select(Team))
        assert team.name == "Vertrieb Nord"
        marketer_id = db.session.scalar(select(User.id).where(User.email == MARKETER))
    prefix = f"team-{team.id}-email"
    assert post(admin, f"/console/teams/{team.id}/members",
                {prefix: MARKETER.upper()}).status_code == 303
    page = admin.get("/console/teams").get_data(as_text=True)
    assert MARKETER in page
    unknown = post(admin, f"/console/teams/{team.id}/members", {prefix: "x@shop.example"},
                   follow_redirects=True)
    assert "Kein Benutzer hat diese E-Mail" in unknown.get_data(as_text=True)
    assert post(admin, f"/console/teams/{team.id}/members/{marketer_id}/remove"
                ).status_code == 303
    with app.app_context():
        assert db.session.get(Team, team.id).users == []
    assert post(admin, f"/console/teams/{team.id}/delete").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Team)) is None


# --- the rule itself ----------------------------------------------------------------------

def test_role_for_takes_the_highest_way_in(app):
    with app.app_context():
        admin = create_user(db.session, "admin@x.example", PASSWORD, "admin")
        owner, other = (create_user(db.session, f"{n}@x.example", PASSWORD)
                        for n in ("owner", "other"))
        camp = Campaign(slug="c", name="C", quiz_slug="zoohandlung", variants=[],
                        owner_id=owner.id)
        orphan = Campaign(slug="o", name="O", quiz_slug="zoohandlung", variants=[])
        db.session.add_all([camp, orphan])
        db.session.flush()
        assert access.role_for(db.session, camp, owner) == "owner"
        assert access.role_for(db.session, camp, admin) == "owner"
        assert access.role_for(db.session, orphan, admin) == "owner"
        assert access.role_for(db.session, orphan, owner) is None  # ownerless: admins only
        assert access.role_for(db.session, camp, other) is None
        access.share(db.session, camp, "viewer", user=other)
        assert access.role_for(db.session, camp, other) == "viewer"
        team = access.create_team(db.session, "T")
        access.add_to_team(db.session, team, other)
        access.share(db.session, camp, "editor", team=team)
        assert access.role_for(db.session, camp, other) == "editor"  # the team's is higher
        access.share(db.session, camp, "viewer", team=team)  # sharing again changes the role
        assert access.role_for(db.session, camp, other) == "viewer"
        assert db.session.scalar(select(func.count()).select_from(CampaignMember)) == 2
        visible = set(db.session.scalars(select(Campaign.slug).where(access.visible(other))))
        assert visible == {"c"}
        access.remove_from_team(db.session, team, other.id)
        access.delete_team(db.session, team)
        assert access.role_for(db.session, camp, other) == "viewer"  # their own share stays
        set_active(db.session, other, False)
        assert access.role_for(db.session, camp, other) is None
        assert set(db.session.scalars(select(Campaign.slug).where(access.visible(other)))) \
            == set()
        with pytest.raises(access.AccessError):
            access.share(db.session, camp, "viewer", user=owner)
        with pytest.raises(access.AccessError):
            access.share(db.session, camp, "owner", user=other)
        db.session.rollback()


def test_cli_campaign_create_takes_an_owner(app, runner, users):
    args = ["campaign", "create", "herbst", "--name", "Herbst", "--quiz", "zoohandlung"]
    result = runner.invoke(args=[*args, "--owner", "nobody@shop.example"])
    assert result.exit_code != 0 and "no user" in result.output
    result = runner.invoke(args=[*args, "--owner", MARKETER.upper()])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["campaign", "create", "ohne", "--name", "Ohne",
                               "--quiz", "zoohandlung"]).exit_code == 0
    with app.app_context():
        owners = dict(db.session.execute(
            select(Campaign.slug, User.email).outerjoin(User, Campaign.owner_id == User.id)
        ).all())
        assert owners == {"herbst": MARKETER, "ohne": None}


def test_demo_campaigns_belong_to_the_demo_admin(app, demo):
    from purl.demo.load import load_demo

    with app.app_context():
        # Loaded before campaigns had owners: loading again hands them to the demo admin.
        for camp in db.session.scalars(select(Campaign)):
            camp.owner_id = None
        db.session.commit()
        load_demo(db.session)
        db.session.commit()
        owners = set(db.session.scalars(select(User.email).join(
            Campaign, Campaign.owner_id == User.id)))
        assert owners == {DEMO_USER}
        assert db.session.scalar(select(func.count()).select_from(Campaign).where(
            Campaign.owner_id.is_(None))) == 0
