"""The ``flask`` command groups: a surface like the console, calling the same engines."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from purl.cli.apikeys import apikey_cli
    from purl.cli.catalog import catalog_cli
    from purl.cli.demo import demo_cli
    from purl.cli.jobs import jobs_cli
    from purl.cli.links import campaign_cli, purl_cli
    from purl.cli.privacy import privacy_cli
    from purl.cli.purge import purge_command
    from purl.cli.quiz import quiz_cli
    from purl.cli.users import user_cli
    from purl.cli.webhooks import webhook_cli

    for group in (demo_cli, user_cli, quiz_cli, campaign_cli, purl_cli, catalog_cli, jobs_cli,
                  purge_command, apikey_cli, privacy_cli, webhook_cli):
        app.cli.add_command(group)
