"""Stored files (uploads, results): kept in the database, so any worker on any machine reads them.

A file is a ``StoredFile`` row and its bytes in ``StoredFileChunk`` rows of ``CHUNK_SIZE``
(1 MiB; only the last one is shorter). Nothing here holds a whole file in memory: saving reads
the stream one chunk at a time, reading fetches one chunk at a time. Engine style: the
functions take the session and only flush; the caller commits. ``iter_chunks`` is the
exception that proves the rule: a download streams after its request's session is gone, so it
takes an engine (or anything bound to one) and reads on a connection of its own.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from .models import StoredFile, StoredFileChunk

__all__ = ["CHUNK_SIZE", "copy_to", "delete", "iter_chunks", "open_file", "save", "save_path"]

CHUNK_SIZE = 1 << 20

_chunks = StoredFileChunk.__table__


def _read_chunk(stream: IO[bytes], size: int) -> bytes:
    """Exactly ``size`` bytes, fewer only at the end (a pipe or socket hands out less)."""
    first = stream.read(size)
    if not first or len(first) == size:
        return first or b""
    parts, have = [first], len(first)
    while have < size:
        more = stream.read(size - have)
        if not more:
            break
        parts.append(more)
        have += len(more)
    return b"".join(parts)


def save(session: Session, stream: IO[bytes], name: str,
         content_type: str = "application/octet-stream") -> StoredFile:
    """Store what ``stream`` holds, chunk by chunk; size and SHA-256 are computed on the way."""
    stored = StoredFile(name=(name or "file")[:255], content_type=content_type[:127], size=0,
                        sha256="")
    session.add(stored)
    session.flush()
    digest, size, seq = hashlib.sha256(), 0, 0
    while block := _read_chunk(stream, CHUNK_SIZE):
        digest.update(block)
        size += len(block)
        # Core insert: the ORM would keep every chunk in the session until the commit.
        session.execute(insert(_chunks), {"file_id": stored.id, "seq": seq, "data": block})
        seq += 1
        del block
    stored.size, stored.sha256 = size, digest.hexdigest()
    session.flush()
    return stored


def save_path(session: Session, path: str | os.PathLike, name: str | None = None,
              content_type: str = "application/octet-stream") -> StoredFile:
    with open(path, "rb") as stream:
        return save(session, stream, name or Path(path).name, content_type)


class _ChunkReader(io.RawIOBase):
    """The stored bytes as a raw file: fetches the chunk a read needs, one at a time."""

    def __init__(self, session: Session, stored: StoredFile) -> None:
        super().__init__()
        self._session = session
        self._id = stored.id
        self._size = stored.size
        self.name = stored.name
        self._pos = 0
        self._seq = -1
        self._chunk = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._size:
            return 0
        seq, start = divmod(self._pos, CHUNK_SIZE)
        if seq != self._seq:
            self._chunk = b""  # let the last chunk go before the next one arrives
            data = self._session.scalar(
                select(_chunks.c.data).where(_chunks.c.file_id == self._id,
                                             _chunks.c.seq == seq))
            if data is None:
                raise OSError(f"stored file {self._id}: chunk {seq} is missing")
            self._chunk, self._seq = bytes(data), seq
        part = memoryview(self._chunk)[start:start + len(buffer)]
        n = len(part)
        buffer[:n] = part
        self._pos += n
        return n


def open_file(session: Session, file_id: int) -> IO[bytes]:
    """A readable, seekable file object over a stored file, fetching one chunk at a time."""
    stored = session.get(StoredFile, file_id)
    if stored is None:
        raise FileNotFoundError(f"no stored file {file_id}")
    # The raw reader copies straight into the caller's buffer; the buffered one on top only
    # serves small reads and readline without a query each.
    return io.BufferedReader(_ChunkReader(session, stored), buffer_size=64 * 1024)


def copy_to(session: Session, file_id: int, path: str | os.PathLike) -> Path:
    """Write a stored file to ``path`` (a temporary name first, so no half file is left)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open_file(session, file_id) as source, open(tmp, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK_SIZE)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def iter_chunks(bind: Engine | Connection | Session, file_id: int) -> Iterator[bytes]:
    """The bytes of a stored file, a chunk at a time, on a connection of its own.

    For a streaming response: the request's session may be gone by the time the client reads,
    so give it the engine (``db.engine``); a session or connection stands for its engine.
    """
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    if isinstance(engine, Connection):
        engine = engine.engine
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(_chunks)
                            .where(_chunks.c.file_id == file_id)) or 0
    for seq in range(count):
        # A connection per chunk, given back before the chunk is sent: a slow client holds
        # neither a transaction nor one of the pool's connections.
        with engine.connect() as conn:
            data = conn.scalar(select(_chunks.c.data).where(_chunks.c.file_id == file_id,
                                                            _chunks.c.seq == seq))
        if data is None:
            raise OSError(f"stored file {file_id}: chunk {seq} is missing")
        yield bytes(data)
        del data


def delete(session: Session, file_id: int) -> None:
    """Remove a stored file and its chunks (the database cascades too; SQLite only with its
    foreign keys on, so the chunks go first here)."""
    session.execute(sql_delete(_chunks).where(_chunks.c.file_id == file_id))
    stored = session.get(StoredFile, file_id)
    if stored is not None:
        session.delete(stored)
    session.flush()
