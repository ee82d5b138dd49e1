"""Quiz versions in the database: import, publish, roll back, export, and which version a
shopper gets.

A quiz (``StoredQuiz``) holds numbered versions of its content, the YAML text of a quiz file.
A version is a draft until it is published; from then on it is frozen. What shoppers get is
the newest publication, unless their campaign pins a version; and a shopper who has started
keeps the version they started on, so their answers always meet the questions they were
given to. A version's hash (``QuizVersion.content_hash``) is the ``quiz_version`` answers and
events carry: the hash ``parse_quiz`` gives its text.

Engine style: functions take the session and only flush; the caller commits.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from purl.catalog import catalogs
from purl.models import Campaign, QuizPublication, QuizVersion, StoredQuiz, utcnow
from purl.quiz import images
from purl.quiz.format import N_, Problem, QuizError, content_version, parse_quiz
from purl.quiz.schema import Quiz

log = logging.getLogger(__name__)


class VersionError(ValueError):
    """A version asked for that does not exist or cannot be used that way."""


# ---------------------------------------------------------------- parsed versions, cached

# A version's text never changes under its hash, so a parsed version stays right for ever;
# the bound only keeps a long-lived worker from collecting every draft ever previewed.
_CACHE_SIZE = 256
_parsed: OrderedDict[str, Quiz] = OrderedDict()


def _remember(quiz: Quiz) -> Quiz:
    _parsed[quiz.version] = quiz
    _parsed.move_to_end(quiz.version)
    while len(_parsed) > _CACHE_SIZE:
        _parsed.popitem(last=False)
    return quiz


def _cached(version_hash: str, slug: str) -> Quiz | None:
    quiz = _parsed.get(version_hash)
    return quiz if quiz is not None and quiz.slug == slug else None


def parsed(version: QuizVersion) -> Quiz:
    """The quiz a stored version holds (raises QuizError if its text no longer validates)."""
    quiz = _cached(version.content_hash, version.quiz.slug)
    if quiz is None:
        quiz = _remember(parse_quiz(version.content, _source(version)))
    return quiz


def _source(version: QuizVersion) -> str:
    return f"{version.quiz.slug} v{version.number}"


def _load(session: Session, version_id: int, version_hash: str, slug: str) -> Quiz | None:
    """The parsed version, from the cache or else from its row; None if it does not parse."""
    quiz = _cached(version_hash, slug)
    if quiz is not None:
        return quiz
    version = session.get(QuizVersion, version_id)
    if version is None:
        return None
    try:
        return parsed(version)
    except QuizError as exc:
        log.error("quiz version not served: %s", exc)
        return None


# ---------------------------------------------------------------- what a shopper gets

def _current_row(slug: str):  # noqa: ANN202 - a select
    return (select(QuizVersion.id, QuizVersion.content_hash)
            .join(QuizPublication, QuizPublication.version_id == QuizVersion.id)
            .join(StoredQuiz, StoredQuiz.id == QuizPublication.quiz_id)
            .where(StoredQuiz.slug == slug)
            .order_by(QuizPublication.id.desc()).limit(1))


def published_quiz(session: Session, slug: str) -> Quiz | None:
    """The quiz ``slug`` as shoppers get it now: its newest publication (None: none yet)."""
    row = session.execute(_current_row(slug)).first()
    return _load(session, row.id, row.content_hash, slug) if row else None


def campaign_version_hash() -> ColumnElement[str | None]:
    """SQL for the hash of the version a campaign's shoppers get, correlated to ``Campaign``:
    the version it pins (of its quiz), else its quiz's newest publication. Queries that fetch
    the campaign anyway (the PURL's hot path) select it alongside."""
    pinned = (select(QuizVersion.content_hash)
              .join(StoredQuiz, StoredQuiz.id == QuizVersion.quiz_id)
              # A pin of another quiz (the campaign's quiz was changed since) does not count.
              .where(QuizVersion.id == Campaign.pinned_quiz_version_id,
                     StoredQuiz.slug == Campaign.quiz_slug)
              .correlate(Campaign).scalar_subquery())
    newest = (select(QuizVersion.content_hash)
              .join(QuizPublication, QuizPublication.version_id == QuizVersion.id)
              .join(StoredQuiz, StoredQuiz.id == QuizPublication.quiz_id)
              .where(StoredQuiz.slug == Campaign.quiz_slug)
              .order_by(QuizPublication.id.desc()).limit(1)
              .correlate(Campaign).scalar_subquery())
    return func.coalesce(pinned, newest)


def campaign_quiz(session: Session, campaign: Campaign, version_hash: str | None = None
                  ) -> Quiz | None:
    """The version a campaign's shoppers get (see ``campaign_version_hash``; pass its value
    if the query that fetched the campaign selected it)."""
    if version_hash is None:
        version_hash = session.scalar(select(campaign_version_hash())
                                      .where(Campaign.id == campaign.id))
    return quiz_by_hash(session, campaign.quiz_slug, version_hash) if version_hash else None


def quiz_by_hash(session: Session, slug: str, version_hash: str) -> Quiz | None:
    """The stored version of ``slug`` whose hash answers carry, draft or published."""
    quiz = _cached(version_hash, slug)
    if quiz is not None:
        return quiz
    row = session.execute(
        select(QuizVersion.id, QuizVersion.content_hash)
        .join(StoredQuiz, StoredQuiz.id == QuizVersion.quiz_id)
        .where(StoredQuiz.slug == slug, QuizVersion.content_hash == version_hash)).first()
    return _load(session, row.id, row.content_hash, slug) if row else None


def quiz_for_answers(session: Session, offered: Quiz, answered_under: str | None) -> Quiz:
    """The version a shopper's answers go on with: the one they were given under, while it
    is stored, so a response started on one version finishes on it; else ``offered``."""
    if not answered_under or answered_under == offered.version:
        return offered
    return quiz_by_hash(session, offered.slug, answered_under) or offered


def published_quizzes(session: Session) -> list[Quiz]:
    """Every quiz that has a published version, as shoppers get it now, by slug."""
    newest = (select(QuizPublication.quiz_id, func.max(QuizPublication.id).label("pid"))
              .group_by(QuizPublication.quiz_id).subquery())
    rows = session.execute(
        select(QuizVersion.id, QuizVersion.content_hash, StoredQuiz.slug)
        .join(QuizPublication, QuizPublication.version_id == QuizVersion.id)
        .join(newest, newest.c.pid == QuizPublication.id)
        .join(StoredQuiz, StoredQuiz.id == QuizPublication.quiz_id)
        .order_by(StoredQuiz.slug)).all()
    found = (_load(session, r.id, r.content_hash, r.slug) for r in rows)
    return [quiz for quiz in found if quiz is not None]


# ---------------------------------------------------------------- stored quizzes

def stored_quiz(session: Session, slug: str) -> StoredQuiz | None:
    return session.scalar(select(StoredQuiz).where(StoredQuiz.slug == slug))


def current_version(session: Session, stored: StoredQuiz) -> QuizVersion | None:
    """The version of the newest publication."""
    return session.scalar(
        select(QuizVersion).join(QuizPublication, QuizPublication.version_id == QuizVersion.id)
        .where(QuizPublication.quiz_id == stored.id)
        .order_by(QuizPublication.id.desc()).limit(1))


def version(session: Session, stored: StoredQuiz, number: int) -> QuizVersion:
    found = session.scalar(select(QuizVersion).where(
        QuizVersion.quiz_id == stored.id, QuizVersion.number == number))
    if found is None:
        raise VersionError(f"{stored.slug} has no version {number}")
    return found


def latest_version(session: Session, stored: StoredQuiz) -> QuizVersion | None:
    """The newest stored version, draft or published."""
    return session.scalar(select(QuizVersion).where(QuizVersion.quiz_id == stored.id)
                          .order_by(QuizVersion.number.desc()).limit(1))


@dataclass(frozen=True)
class Imported:
    """What importing one file did."""

    version: QuizVersion
    created: bool  # a new version was stored (else the content was stored already)
    published: bool  # it went live by this import

    @property
    def slug(self) -> str:
        return self.version.quiz.slug


def import_quiz(session: Session, content: str, source: str, publish: bool = False,
                folders: Iterable[Path] = ()) -> Imported:
    """Store a quiz file's text as a new draft of its quiz (created on first import), and
    publish it if asked. A text already stored, as any version, stores nothing; with
    ``publish`` it goes live only if it is a draft (publishing an older version again is a
    roll-back, asked for by ``roll_back``). Uploaded pictures it names are taken from
    ``uploads/`` in ``folders`` (beside the file). Raises QuizError naming ``source``."""
    # A text parsed before (the demo's files, loaded again) is not parsed again.
    quiz = _parsed.get(content_version(content)) or parse_quiz(content, source)
    try:
        check_catalog(session, quiz)
        images.import_images(session, quiz, folders)
    except Problem as problem:
        raise QuizError(source, [problem]) from None
    stored = stored_quiz(session, quiz.slug)
    if stored is None:
        stored = StoredQuiz(slug=quiz.slug, title=dict(quiz.title))
        session.add(stored)
        session.flush()
    existing = session.scalar(select(QuizVersion).where(
        QuizVersion.quiz_id == stored.id, QuizVersion.content_hash == quiz.version))
    if existing is not None:
        went_live = publish and existing.is_draft
        if went_live:
            _publish(session, existing)
        return Imported(existing, created=False, published=went_live)
    number = (session.scalar(select(func.max(QuizVersion.number))
                             .where(QuizVersion.quiz_id == stored.id)) or 0) + 1
    new = QuizVersion(quiz=stored, number=number, content=content,
                      content_hash=quiz.version, source=source[:255])
    session.add(new)
    stored.title = dict(quiz.title)
    session.flush()
    _remember(quiz)
    if publish:
        _publish(session, new)
    log.info("quiz %s: stored version %s from %s", stored.slug, number, source)
    return Imported(new, created=True, published=publish)


def check_catalog(session: Session, quiz: Quiz) -> None:
    """A quiz draws from a catalog the install has: Problem naming the ones there are."""
    try:
        catalogs.named(session, quiz.catalog)
    except catalogs.UnknownCatalog as unknown:
        raise Problem(N_("catalog %(name)s does not exist (the catalogs: %(known)s)"),
                      name=repr(unknown.name), known=", ".join(unknown.known)) from None


def import_files(session: Session, paths: Iterable[Path], publish: bool = False
                 ) -> list[Imported]:
    """Import every file (a folder: its ``*.yaml``), in order; raises QuizError at the first
    broken one (the caller rolls back, so nothing of the run is kept)."""
    done = []
    for path in quiz_files(paths):
        done.append(import_quiz(session, path.read_text(encoding="utf-8"), path.name, publish,
                                folders=[path.parent]))
    return done


def quiz_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, a folder standing for its quiz files."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.y*ml")) if path.is_dir() else [path])
    return files


def _publish(session: Session, target: QuizVersion) -> QuizVersion:
    # Nothing invalid goes live: the text is checked again by today's rules, and every
    # picture it names is stored.
    try:
        quiz = parsed(target)
        check_catalog(session, quiz)
        images.check_stored(session, quiz)
    except Problem as problem:
        raise QuizError(_source(target), [problem]) from None
    if target.published_at is None:
        target.published_at = utcnow()  # frozen from now on
    session.add(QuizPublication(quiz_id=target.quiz_id, version_id=target.id))
    session.flush()
    log.info("quiz %s: version %s published", target.quiz.slug, target.number)
    return target


def publish(session: Session, stored: StoredQuiz, number: int | None = None) -> QuizVersion:
    """Publish a draft: the one numbered, or the newest. Raises VersionError if there is none
    or the version was published before (that is ``roll_back``)."""
    if number is None:
        target = session.scalar(
            select(QuizVersion).where(QuizVersion.quiz_id == stored.id,
                                      QuizVersion.published_at.is_(None))
            .order_by(QuizVersion.number.desc()).limit(1))
        if target is None:
            raise VersionError(f"{stored.slug} has no draft to publish")
    else:
        target = version(session, stored, number)
        if not target.is_draft:
            raise VersionError(f"version {number} of {stored.slug} is published already "
                               "(roll back to publish it again)")
    return _publish(session, target)


def roll_back(session: Session, stored: StoredQuiz, number: int) -> QuizVersion:
    """Publish an earlier published version again; shoppers get it from now on."""
    target = version(session, stored, number)
    if target.is_draft:
        raise VersionError(f"version {number} of {stored.slug} is a draft, never published "
                           "(publish it instead)")
    current = current_version(session, stored)
    if current is not None and current.id == target.id:
        raise VersionError(f"version {number} of {stored.slug} is the one published")
    return _publish(session, target)


@dataclass(frozen=True)
class HistoryEntry:
    version: QuizVersion
    published: list = field(default_factory=list)  # every time it went live, oldest first
    current: bool = False


def history(session: Session, stored: StoredQuiz) -> list[HistoryEntry]:
    """Every version, newest first, with the times it went live and which one is live."""
    times: dict[int, list] = {}
    newest = None
    for pub in session.scalars(select(QuizPublication).where(
            QuizPublication.quiz_id == stored.id).order_by(QuizPublication.id)):
        times.setdefault(pub.version_id, []).append(pub.published_at)
        newest = pub.version_id
    versions = session.scalars(select(QuizVersion).where(QuizVersion.quiz_id == stored.id)
                               .order_by(QuizVersion.number.desc()))
    return [HistoryEntry(v, times.get(v.id, []), v.id == newest) for v in versions]


def given_versions(session: Session, slug: str) -> list[tuple[int, Quiz]]:
    """Every version of the quiz shoppers may have answered (published at some time),
    oldest first, with its number: to read old answers by the words they were given in."""
    stored = stored_quiz(session, slug)
    if stored is None:
        return []
    found = []
    for row in session.scalars(select(QuizVersion).where(
            QuizVersion.quiz_id == stored.id, QuizVersion.published_at.is_not(None))
            .order_by(QuizVersion.number)):
        try:
            found.append((row.number, parsed(row)))
        except QuizError as exc:  # an old version today's rules refuse: its values stay
            log.warning("quiz %s version %s not read: %s", slug, row.number, exc)
    return found


def export(session: Session, stored: StoredQuiz, number: int | None = None) -> QuizVersion:
    """The version to export: the one numbered, else the published one, else the newest
    draft. Its ``content`` is the file: ``quiz check`` accepts it and it imports back as the
    same version."""
    if number is not None:
        return version(session, stored, number)
    found = current_version(session, stored) or latest_version(session, stored)
    if found is None:
        raise VersionError(f"{stored.slug} has no version")
    return found


def pin(session: Session, campaign: Campaign, number: int | None) -> QuizVersion | None:
    """Keep a campaign to a published version of its quiz (None: follow the newest)."""
    if number is None:
        campaign.pinned_quiz_version_id = None
        session.flush()
        return None
    stored = stored_quiz(session, campaign.quiz_slug)
    if stored is None:
        raise VersionError(f"no quiz {campaign.quiz_slug!r}")
    target = version(session, stored, number)
    if target.is_draft:
        raise VersionError(f"version {number} of {stored.slug} is a draft; "
                           "a campaign keeps to published versions only")
    campaign.pinned_quiz_version_id = target.id
    session.flush()
    return target
