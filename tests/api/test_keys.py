"""Making and revoking keys: the CLI and the console page, the same engine."""

from __future__ import annotations

from sqlalchemy import select

from purl.extensions import db
from purl.models import ApiKey
from tests.api.conftest import bearer
from tests.api.test_auth import assert_problem
from tests.conftest import ADMIN, MARKETER, MARKETER_PASSWORD, csrf_token, login


def test_the_cli_prints_the_key_once_on_its_last_line_and_revokes_it(api_app, keys) -> None:  # noqa: ANN001
    runner, client = api_app.test_cli_runner(), api_app.test_client()
    made = runner.invoke(args=["apikey", "create", MARKETER.upper(), "--name", "Newsletter",
                               "--campaign", "camp-b", "--read-only"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("purl_") and " " not in secret
    listed = client.get("/api/v1/campaigns", headers=bearer(secret)).get_json()
    assert [c["slug"] for c in listed["items"]] == ["camp-b"]
    assert_problem(client.patch("/api/v1/campaigns/camp-b", headers=bearer(secret),
                                json={"name": "x"}), 403)
    revoked = runner.invoke(args=["apikey", "revoke", secret[:13]])
    assert revoked.exit_code == 0, revoked.output
    assert_problem(client.get("/api/v1/campaigns", headers=bearer(secret)), 401)
    # A campaign the user may not see, or nobody, is refused with a reason.
    refused = runner.invoke(args=["apikey", "create", MARKETER, "--name", "x",
                                  "--campaign", "admins-own"])
    assert refused.exit_code != 0 and "may not see" in refused.output
    assert runner.invoke(args=["apikey", "create", "nobody@x.example", "--name", "x"]
                         ).exit_code != 0


def test_a_user_makes_lists_and_revokes_their_own_keys_in_the_console(api_app, keys) -> None:  # noqa: ANN001
    client = api_app.test_client()
    login(client, MARKETER, MARKETER_PASSWORD)
    page = client.get("/console/apikeys")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "CRM" in html and "A only" in html
    assert "admin" not in html.split("<h2>")[0].split("<tbody>")[1]  # nobody else's keys
    made = client.post("/console/apikeys", data={
        "csrf_token": csrf_token(html), "name": "Shop", "campaigns": ["camp-a"]})
    assert made.status_code == 201
    secret = made.get_data(as_text=True).split('<code class="secret">')[1].split("<")[0]
    assert client.get("/api/v1/campaigns/camp-a", headers=bearer(secret)).status_code == 200
    assert_problem(client.get("/api/v1/campaigns/camp-b", headers=bearer(secret)), 404)
    # The list shows its last use and never the key again.
    html = client.get("/console/apikeys").get_data(as_text=True)
    assert secret not in html and secret[:13] in html
    # A campaign they cannot see is no choice; an empty name is named.
    bad = client.post("/console/apikeys", data={"csrf_token": csrf_token(html), "name": "",
                                                "campaigns": ["admins-own"]})
    assert bad.status_code == 422
    key_id = html.split("/console/apikeys/")[1].split("/")[0]
    done = client.post(f"/console/apikeys/{key_id}/revoke",
                       data={"csrf_token": csrf_token(html)})
    assert done.status_code == 303
    assert_problem(client.get("/api/v1/campaigns/camp-a", headers=bearer(secret)), 401)


def test_nobody_revokes_another_users_key(api_app, keys) -> None:  # noqa: ANN001
    client = api_app.test_client()
    login(client, ADMIN, "admin password 123")
    html = client.get("/console/apikeys").get_data(as_text=True)
    assert "<td>CRM</td>" not in html and "<td>admin</td>" in html
    with api_app.app_context():
        crm = db.session.scalar(select(ApiKey.id).where(ApiKey.name == "CRM"))
    refused = client.post(f"/console/apikeys/{crm}/revoke",
                          data={"csrf_token": csrf_token(html)})
    assert refused.status_code == 404
    assert client.get("/api/v1/campaigns", headers=bearer(keys.all)).status_code == 200
