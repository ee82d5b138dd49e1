"""``flask --app wsgi jobs work``: a job worker (the Huey consumer) for this app."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from purl import jobs
from purl.extensions import db

log = logging.getLogger("purl.jobs")

jobs_cli = AppGroup("jobs", help="Background jobs: batches run by workers.")


@jobs_cli.command("work")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
              help="Jobs run at once, one thread each (default: PURL_JOBS_WORKERS, 2).")
def work(workers: int | None) -> None:
    """Run jobs until stopped (Ctrl-C waits for running jobs; SIGTERM stops at once, and
    their batches are taken over once their lease runs out)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s [%(process)d] %(levelname)s %(name)s: "
                                   "%(message)s")
    # Huey tells of every periodic lease check at INFO; purl's own lines say what matters.
    logging.getLogger("huey").setLevel(logging.WARNING)
    app = current_app._get_current_object()
    consumer = jobs.consumer(app, workers)
    config = app.config
    log.info("job worker started: %s thread(s), queue in %s; lease %ss, heartbeat %ss, "
             "stale batches checked every %ss", consumer.workers,
             app.extensions[jobs.EXTENSION].describe(), config["JOBS_LEASE_SECONDS"],
             config["JOBS_HEARTBEAT_SECONDS"], config["JOBS_REQUEUE_SECONDS"])
    # Whatever a worker killed before us left behind, without waiting for the first period.
    try:
        jobs.requeue_stale(db.session, float(config["JOBS_LEASE_SECONDS"]))
    finally:
        db.session.remove()
    consumer.run()
