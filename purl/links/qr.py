"""QR codes for printed letters: one image per recipient, drawn on every core.

Error correction M, a quiet zone of four modules, and a physical size in the file (millimetres
in SVG, 300 dpi in PNG), so a print shop places them at the size they scan best. Choosing the
mask is what costs the most in the library's default path (it draws each code eight times);
a batch's links all have the same length, so the version and mask are chosen once for the
first link and reused, which is about four times faster and scans just as well.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import qrcode
from qrcode.constants import ERROR_CORRECT_M

log = logging.getLogger(__name__)

QUIET_ZONE = 4
MODULE_MM = 0.5  # 0.5 mm modules: a typical PURL (version 5) prints at about 23 mm
PNG_MODULE_PX = 6  # 6 px at 300 dpi = 0.5 mm
PNG_DPI = 300
FORMATS = ("svg", "png")


def choose(url: str) -> tuple[int, int]:
    """(version, mask) for links like ``url``: the library's own choice for this one."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.best_fit()
    return code.version, code.best_mask_pattern()


def modules(url: str, version: int | None = None, mask: int | None = None) -> list[list[bool]]:
    code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0,
                         mask_pattern=mask)
    code.add_data(url)
    code.make(fit=version is None)
    return [[bool(m) for m in row] for row in code.modules]


def svg(matrix: Sequence[Sequence[bool]]) -> bytes:
    size = len(matrix) + 2 * QUIET_ZONE
    path = []
    for y, row in enumerate(matrix):
        x = 0
        width = len(row)
        while x < width:
            if row[x]:
                run = x
                while run < width and row[run]:
                    run += 1
                path.append(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{run - x}v1h{x - run}z")
                x = run
            else:
                x += 1
    mm = size * MODULE_MM
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{mm:g}mm" height="{mm:g}mm" '
        f'viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(path)}"/></svg>\n'
    ).encode()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(matrix: Sequence[Sequence[bool]]) -> bytes:
    """A 1-bit greyscale PNG with its print resolution recorded (pHYs)."""
    scale = PNG_MODULE_PX
    size = (len(matrix) + 2 * QUIET_ZONE) * scale
    quiet = [False] * QUIET_ZONE
    lines = []
    for row in [[False] * len(matrix)] * QUIET_ZONE + list(matrix) + [[False] * len(matrix)] \
            * QUIET_ZONE:
        bits = "".join("0" * scale if dark else "1" * scale for dark in quiet + list(row) + quiet)
        bits += "0" * (-len(bits) % 8)
        packed = b"\x00" + int(bits, 2).to_bytes(len(bits) // 8)
        lines.extend([packed] * scale)
    ppm = round(PNG_DPI / 0.0254)
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0))
            + _chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1))
            + _chunk(b"IDAT", zlib.compress(b"".join(lines), 6))
            + _chunk(b"IEND", b""))


def image(url: str, fmt: str = "svg", version: int | None = None,
          mask: int | None = None) -> bytes:
    matrix = modules(url, version, mask)
    return svg(matrix) if fmt == "svg" else png(matrix)


def _draw_many(job: tuple[str, int, int, list[tuple[str, str]]]) -> list[tuple[str, bytes]]:
    fmt, version, mask, items = job
    return [(name, image(url, fmt, version, mask)) for name, url in items]


def file_name(recipient_id: int, fmt: str) -> str:
    # Named from the database id only: no name or email ends up in a file name.
    return f"{recipient_id:09d}.{fmt}"


class QrWriter:
    """Draws a batch's codes in worker processes into a folder or a zip archive."""

    def __init__(self, folder: Path, fmt: str = "svg", as_zip: bool = False,
                 processes: int | None = None) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown QR format {fmt!r} (formats: svg, png)")
        self.fmt = fmt
        self.folder = folder
        self.as_zip = as_zip
        self.processes = processes or os.cpu_count() or 1
        self.version: int | None = None
        self.mask: int | None = None
        self._pool = None
        self.count = 0
        if as_zip:
            self.path = folder.with_name(folder.name + ".zip")
            self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            # PNG is compressed already; SVG text shrinks a lot.
            self._zip = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        else:
            self.path = folder
            folder.mkdir(parents=True, exist_ok=True)
            self._zip = None

    def reference(self, recipient_id: int, relative_to: Path) -> str:
        """What the output's ``qr_file`` column says for this recipient."""
        name = file_name(recipient_id, self.fmt)
        if self.as_zip:
            return name
        return os.path.relpath(self.folder / name, relative_to)

    def draw(self, jobs: Sequence[tuple[int, str]]) -> None:
        if not jobs:
            return
        if self.version is None:
            self.version, self.mask = choose(jobs[0][1])
            # Signed links all have one length; a longer one (a campaign's own base URL)
            # needs a larger version, so pick for the longest.
            longest = max(jobs, key=lambda j: len(j[1]))[1]
            if len(longest) > len(jobs[0][1]):
                self.version, self.mask = choose(longest)
        items = [(file_name(rid, self.fmt), url) for rid, url in jobs]
        if len(items) < 64 or self.processes == 1:
            results = [_draw_many((self.fmt, self.version, self.mask, items))]
        else:
            if self._pool is None:
                self._pool = multiprocessing.get_context("fork").Pool(self.processes)
            size = max(16, len(items) // (self.processes * 4))
            parts = [(self.fmt, self.version, self.mask, items[i:i + size])
                     for i in range(0, len(items), size)]
            results = self._pool.imap(_draw_many, parts)
        for drawn in results:
            for name, data in drawn:
                self._write(name, data)

    def _write(self, name: str, data: bytes) -> None:
        self.count += 1
        if self._zip is not None:
            self._zip.writestr(name, data)
        else:
            (self.folder / name).write_bytes(data)

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        self._stop()
        if self._zip is not None:
            self._zip.close()
            os.replace(self._tmp, self.path)

    def abort(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
        if self._zip is not None:
            self._zip.close()
            self._tmp.unlink(missing_ok=True)
