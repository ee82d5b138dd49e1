"""Stored files: kept in the database, read back a chunk at a time, never whole in memory."""

from __future__ import annotations

import hashlib
import io
import random
import tracemalloc

import pytest
from flask import Response
from sqlalchemy import func, select

from purl import files
from purl.extensions import db
from purl.models import StoredFile, StoredFileChunk

MB = 1 << 20


class Generated(io.RawIOBase):
    """``size`` pseudo-random bytes made on the fly (never all at once), hashed as they go;
    reads hand out less than asked, as a pipe would."""

    def __init__(self, size: int, seed: int = 7, piece: int = 300_000) -> None:
        self.left, self.piece = size, piece
        self.random = random.Random(seed)
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = min(len(buffer), self.piece, self.left)
        if n <= 0:
            return 0
        block = self.random.randbytes(n)
        self.digest.update(block)
        buffer[:n] = block
        self.left -= n
        return n


def sha256_of(chunks) -> tuple[str, int]:  # noqa: ANN001
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def test_twenty_megabytes_round_trip_in_bounded_memory(app):
    size = 20 * MB + 12_345
    stream = Generated(size)
    with app.app_context():
        tracemalloc.start()
        try:
            stored = files.save(db.session, stream, "big.csv", "text/csv")
            db.session.commit()
            _, saving_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            with files.open_file(db.session, stored.id) as fh:
                read_back = sha256_of(iter(lambda: fh.read(256 * 1024), b""))
            _, reading_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            streamed = sha256_of(files.iter_chunks(db.engine, stored.id))
            _, streaming_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (stored.size, stored.sha256) == (size, stream.digest.hexdigest())
        assert read_back == streamed == (stored.sha256, size)
        chunks = db.session.scalars(select(func.length(StoredFileChunk.data))
                                    .where(StoredFileChunk.file_id == stored.id)
                                    .order_by(StoredFileChunk.seq)).all()
        assert chunks == [MB] * 20 + [12_345]
    # A chunk, the driver's copy of it and a read buffer: a few MiB, never the 20 MiB file.
    for peak in (saving_peak, reading_peak, streaming_peak):
        assert peak < 6 * MB, f"peak {peak / MB:.1f} MiB"


def test_seek_read_and_readline_anywhere(app):
    data = b"".join(b"line %07d\n" % i for i in range(300_000))  # 3.6 MB: four chunks
    with app.app_context():
        stored = files.save(db.session, io.BytesIO(data), "lines.txt", "text/plain")
        db.session.commit()
        with files.open_file(db.session, stored.id) as fh:
            assert fh.seekable() and fh.readable()
            assert fh.readline() == b"line 0000000\n"
            fh.seek(MB - 3)  # across a chunk boundary
            assert fh.read(10) == data[MB - 3:MB + 7]
            fh.seek(2 * 13)  # and back again
            assert fh.readline() == b"line 0000002\n"
            fh.seek(-13, io.SEEK_END)
            assert fh.read() == b"line 0299999\n" and fh.read() == b""
            fh.seek(0)
            assert fh.read() == data
        with pytest.raises(FileNotFoundError):
            files.open_file(db.session, stored.id + 1)


def test_save_path_copy_to_and_delete(app, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"Email\n" + b"a@example.de\n" * 200_000)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with app.app_context():
        stored = files.save_path(db.session, source, content_type="text/csv")
        nothing = files.save_path(db.session, empty, "nothing.csv")
        db.session.commit()
        assert stored.name == "in.csv" and stored.content_type == "text/csv"
        assert (nothing.size, nothing.sha256) == (0, hashlib.sha256(b"").hexdigest())
        copy = files.copy_to(db.session, stored.id, tmp_path / "copy.csv")
        assert copy.read_bytes() == source.read_bytes()
        assert files.copy_to(db.session, nothing.id, tmp_path / "e").read_bytes() == b""
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
        files.delete(db.session, stored.id)
        db.session.commit()
        assert db.session.get(StoredFile, stored.id) is None
        assert db.session.scalar(select(func.count()).select_from(StoredFileChunk)
                                 .where(StoredFileChunk.file_id == stored.id)) == 0
        assert db.session.get(StoredFile, nothing.id) is not None


def test_a_download_streams_after_its_request_is_over(app):
    """A streaming response reads on its own connection: the request's session is gone by
    the time the client reads the body."""
    with app.app_context():
        stored = files.save(db.session, Generated(3 * MB + 5), "links.csv", "text/csv")
        db.session.commit()
        file_id, digest = stored.id, stored.sha256

    @app.get("/test-download/<int:file_id>")
    def download(file_id: int) -> Response:
        engine = db.engine
        found = db.session.get(StoredFile, file_id)
        return Response(files.iter_chunks(engine, found.id), mimetype=found.content_type)

    response = app.test_client().get(f"/test-download/{file_id}", buffered=False)
    assert response.status_code == 200
    assert sha256_of(response.response) == (digest, 3 * MB + 5)
