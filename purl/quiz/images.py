"""Pictures for image questions, uploaded in the console and kept in the file store.

An uploaded picture is named in the quiz by its content: ``uploads/<sha256>.<ext>``, so the
same picture is stored once, a version's text names exactly the bytes it was published
with, and a quiz file exported with its pictures beside it (``uploads/`` next to the YAML)
imports back as the same version. Only PNG, JPEG, WebP and GIF are taken, recognised by
their first bytes, not by a name a browser sends: shoppers are shown them, so nothing that
could run as a script (SVG, HTML) gets in this way. Shipped pictures stay paths under
``static/``.

Engine style: functions take the session and only flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from purl import files
from purl.models import StoredFile
from purl.quiz.format import N_, UPLOADED_IMAGE, Problem
from purl.quiz.schema import Quiz

log = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
# First bytes -> (content type, extension).
_KINDS = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif",
                 "webp": "image/webp"}
NOT_AN_IMAGE = N_("%(name)s is not a picture purl takes: use PNG, JPEG, WebP or GIF")
TOO_BIG = N_("%(name)s is larger than 2 MB: make it smaller first")
MISSING = N_("picture %(image)s is not stored here (import the quiz with its uploads folder)")


def _kind(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, extension in _KINDS:
        if head.startswith(magic):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def store_image(session: Session, stream: IO[bytes], name: str) -> str:
    """Keep an uploaded picture (once per content) and return how the quiz names it;
    Problem if it is no picture purl takes or is too big."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Problem(TOO_BIG, name=repr(name))
    kind = _kind(data[:16])
    if kind is None:
        raise Problem(NOT_AN_IMAGE, name=repr(name))
    content_type, extension = kind
    reference = f"uploads/{hashlib.sha256(data).hexdigest()}.{extension}"
    if stored_image(session, reference) is None:  # the same picture again is kept once
        files.save(session, io.BytesIO(data), name, content_type)
        log.info("quiz picture %s stored (%s bytes)", reference, len(data))
    return reference


def stored_image(session: Session, reference: str) -> StoredFile | None:
    """The stored picture a quiz names (``uploads/<sha256>.<ext>``), or None."""
    found = UPLOADED_IMAGE.match(reference)
    if not found:
        return None
    query = select(StoredFile).where(StoredFile.sha256 == found["sha"],
                                     StoredFile.content_type == CONTENT_TYPES[found["ext"]])
    return session.scalars(query.order_by(StoredFile.id).limit(1)).first()


def uploaded(quiz: Quiz) -> list[str]:
    """The uploaded pictures a quiz names, each once."""
    return sorted({o.image for q in quiz.questions for o in q.options
                   if o.image and UPLOADED_IMAGE.match(o.image)})


def check_stored(session: Session, quiz: Quiz) -> None:
    """Problem naming the first picture the quiz names that is not stored."""
    for reference in uploaded(quiz):
        if stored_image(session, reference) is None:
            raise Problem(MISSING, image=repr(reference))


def export_images(session: Session, quiz: Quiz, folder: Path) -> list[Path]:
    """Write the quiz's uploaded pictures into ``folder/uploads/``, beside its file."""
    written = []
    for reference in uploaded(quiz):
        stored = stored_image(session, reference)
        if stored is None:
            continue
        target = folder / reference
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(files.copy_to(session, stored.id, target))
    return written


def import_images(session: Session, quiz: Quiz, folders: Iterable[Path]) -> int:
    """Store the pictures a quiz file names from ``uploads/`` beside it (one of
    ``folders``), unless stored already; Problem for one found nowhere, or whose bytes are
    not the ones its name says."""
    added = 0
    for reference in uploaded(quiz):
        if stored_image(session, reference) is not None:
            continue
        source = next((folder / reference for folder in folders
                       if (folder / reference).is_file()), None)
        if source is None:
            raise Problem(MISSING, image=repr(reference))
        with source.open("rb") as stream:
            if store_image(session, stream, source.name) != reference:
                raise Problem(NOT_AN_IMAGE, name=repr(str(source)))
        added += 1
    return added
