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
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import qrcode
from qrcode.base import rs_blocks
from qrcode.constants import ERROR_CORRECT_M
from qrcode.util import MODE_8BIT_BYTE, QRData

from purl.links.galois import Field

log = logging.getLogger(__name__)
_RUNS = re.compile(rb"1+")

QUIET_ZONE = 4
MODULE_MM = 0.5  # 0.5 mm modules: a typical PURL (version 5) prints at about 23 mm
PNG_MODULE_PX = 6  # 6 px at 300 dpi = 0.5 mm
PNG_DPI = 300
FORMATS = ("svg", "png")


def _code(url: str, version: int | None, mask: int | None) -> qrcode.QRCode:
    code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_M, border=0,
                         mask_pattern=mask)
    # One byte-mode segment: every link of a batch then has the same layout.
    code.add_data(QRData(url.encode(), mode=MODE_8BIT_BYTE))
    return code


def choose(url: str) -> tuple[int, int]:
    """(version, mask) for links like ``url``: the library's own choice for this one."""
    code = _code(url, None, None)
    code.best_fit()
    return code.version, code.best_mask_pattern()


def _rs_generator(count: int) -> list[int]:
    poly = [1]
    for i in range(count):  # product of (x - alpha^i), as log-free coefficients
        poly = [a ^ (_GF256.mul(b, _GF256.exp[i]) if b else 0)
                for a, b in zip([*poly, 0], [0, *poly], strict=True)]
    return [_GF256.log[c] for c in poly[1:]]


_GF256 = Field.of(8, 0x11D)  # QR's field: x^8 + x^4 + x^3 + x^2 + 1


_GENERATORS: dict[int, list[int]] = {}


def _generator_table(count: int) -> list[int]:
    """For each leading factor, the generator times it, as one big integer of ``count`` bytes."""
    gen = _rs_generator(count)
    table = [0] * 256
    for factor in range(1, 256):
        lf = _GF256.log[factor]
        table[factor] = int.from_bytes(bytes(_GF256.exp[lf + g] for g in gen))
    return table


def _error_words(data: list[int], count: int) -> list[int]:
    """Reed-Solomon remainder in a shift register held as one integer (the library's
    polynomial objects are ten times slower)."""
    table = _GENERATORS.get(count)
    if table is None:
        table = _GENERATORS[count] = _generator_table(count)
    top, keep = 8 * (count - 1), (1 << 8 * count) - 1
    register = 0
    for byte in data:
        register = ((register << 8) & keep) ^ table[byte ^ (register >> top)]
    return list(register.to_bytes(count))


def _codewords(payload: bytes, version: int) -> list[int]:
    """Data and error-correction codewords of one byte-mode segment, interleaved."""
    blocks = rs_blocks(version, ERROR_CORRECT_M)
    capacity = sum(b.data_count for b in blocks)
    count_bits = 8 if version < 10 else 16
    bits = (0b0100 << count_bits | len(payload)) << 8 * len(payload) | int.from_bytes(payload)
    length = 4 + count_bits + 8 * len(payload)
    if length > capacity * 8:
        raise ValueError("link too long for this QR version")
    pad = min(capacity * 8 - length, 4)
    pad += -(length + pad) % 8
    words = list((bits << pad).to_bytes((length + pad) // 8))
    words += [0xEC, 0x11] * ((capacity - len(words)) // 2 + 1)
    del words[capacity:]
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = words[offset:offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_error_words(chunk, block.total_count - block.data_count))
    out = []
    for group in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in group)):
            out.extend(b[i] for b in group if i < len(b))
    return out


class _Layout(qrcode.QRCode):
    """Notes which modules carry data before the library fills them in."""

    free: list[list[bool]]

    def map_data(self, data, mask_pattern):  # noqa: ANN001, ANN201 - the library's signature
        self.free = [[m is None for m in row] for row in self.modules]
        return super().map_data(data, mask_pattern)


_LAYOUTS: dict[tuple[int, int], tuple[list[bytearray], list[tuple[int, int]]]] = {}


def _layout(version: int, mask: int) -> tuple[list[bytearray], list[tuple[int, int]]]:
    """For a fixed version and mask: the code of all-zero data, and where each data bit goes."""
    cached = _LAYOUTS.get((version, mask))
    if cached:
        return cached
    code = _Layout(version=version, error_correction=ERROR_CORRECT_M, border=0,
                   mask_pattern=mask)
    code.data_cache = [0] * sum(b.total_count for b in rs_blocks(version, ERROR_CORRECT_M))
    code.makeImpl(False, mask)
    template = [bytearray(49 if m else 48 for m in row) for row in code.modules]
    free, size = code.free, len(code.free)
    order, row, step = [], size - 1, -1
    for right in range(size - 1, 0, -2):  # the library's zigzag, two columns at a time
        col = right - 1 if right <= 6 else right
        while True:
            order.extend((row, c) for c in (col, col - 1) if free[row][c])
            row += step
            if not 0 <= row < size:
                row -= step
                step = -step
                break
    _LAYOUTS[(version, mask)] = (template, order)
    return template, order


def _rows(url: str, version: int | None, mask: int | None) -> list[bytearray]:
    """The code's modules, one ``b"0"``/``b"1"`` row each, without the quiet zone."""
    if version is None or mask is None:
        code = _code(url, version, mask)
        code.make(fit=version is None)
        return [bytearray(49 if m else 48 for m in row) for row in code.modules]
    template, order = _layout(version, mask)
    words = _codewords(url.encode(), version)
    matrix = [bytearray(row) for row in template]
    # The template holds the mask over zero data; each one bit flips its module.
    bits = format(int.from_bytes(bytes(words)), f"0{8 * len(words)}b")
    position = 0
    while (position := bits.find("1", position)) != -1:
        r, c = order[position]
        matrix[r][c] ^= 1  # b"0" <-> b"1"
        position += 1
    return matrix


def modules(url: str, version: int | None = None, mask: int | None = None) -> list[list[bool]]:
    return [[m == 49 for m in row] for row in _rows(url, version, mask)]


def svg(matrix: Sequence[bytearray]) -> bytes:
    size = len(matrix) + 2 * QUIET_ZONE
    path = []
    for y, row in enumerate(matrix):
        for run in _RUNS.finditer(row):
            x, width = run.start(), run.end() - run.start()
            path.append(f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{width}v1h-{width}z")
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


def png(matrix: Sequence[bytearray]) -> bytes:
    """A 1-bit greyscale PNG with its print resolution recorded (pHYs)."""
    scale = PNG_MODULE_PX
    size = (len(matrix) + 2 * QUIET_ZONE) * scale
    quiet = b"0" * QUIET_ZONE
    blank = b"0" * len(matrix)
    # PNG greyscale: 1 is white, so a dark module is a 0 bit.
    invert = bytes.maketrans(b"01", b"10")
    lines = []
    for row in [blank] * QUIET_ZONE + list(matrix) + [blank] * QUIET_ZONE:
        bits = (quiet + bytes(row) + quiet).translate(invert)
        bits = b"".join(b * scale for b in (bits[i:i + 1] for i in range(len(bits))))
        bits += b"0" * (-len(bits) % 8)
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
    matrix = _rows(url, version, mask)
    return svg(matrix) if fmt == "svg" else png(matrix)


def _draw_many(job: tuple[str, int, int, list[tuple[str, str]]]) -> list[tuple[str, bytes]]:
    fmt, version, mask, items = job
    return [(name, image(url, fmt, version, mask)) for name, url in items]


# Umlauts as a German reads them; other accents lose their mark (é -> e) below.
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                         "ß": "ss", "ẞ": "SS"})
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# Names Windows keeps for devices, with any extension: "CON.svg" cannot be unzipped there.
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                       *(f"LPT{i}" for i in range(10))})
NAME_LENGTH = 80


def safe_stem(value: str | None) -> str:
    """``value`` as a file name any system, zip tool and print shop accepts: ASCII letters,
    digits, ``-`` and ``_`` (umlauts spelt out, anything else a ``_``), no device name,
    at most 80 characters; empty when nothing usable is left."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value.translate(_GERMAN))
    text = "".join(c for c in text if not unicodedata.combining(c))
    stem = _UNSAFE.sub("_", text).strip("_")[:NAME_LENGTH].strip("_")
    if stem.upper() in _RESERVED:
        stem += "_"
    return stem


def file_name(external_id: str | None, code: str, fmt: str) -> str:
    """A recipient's QR file: named after the customer number, made safe (the marketer finds
    the letter's code by it), else after the code as printed (``7KQ2-M9XD-4RTB-F``)."""
    return f"{safe_stem(external_id) or safe_stem(code) or 'qr'}.{fmt}"


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
        # Names given, lower case (Windows and macOS ignore the case), as hashes: a million
        # letters' names would cost 100 MB as strings; a clash of hashes only adds a suffix.
        self._taken: set[int] = set()
        if as_zip:
            self.path = folder.with_name(folder.name + ".zip")
            self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            # PNG is compressed already; SVG text shrinks a lot.
            self._zip = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        else:
            self.path = folder
            folder.mkdir(parents=True, exist_ok=True)
            self._zip = None

    def name(self, external_id: str | None, code: str) -> str:
        """A file name for one recipient's code, unique in this batch: a second ``12345``
        (or two ids the same once made safe, ``a/b`` and ``a_b``) becomes ``12345-2``."""
        stem, ext = file_name(external_id, code, self.fmt).rsplit(".", 1)
        name, n = f"{stem}.{ext}", 1
        while hash(name.lower()) in self._taken:
            n += 1
            name = f"{stem}-{n}.{ext}"
        self._taken.add(hash(name.lower()))
        return name

    def reference(self, name: str, relative_to: Path) -> str:
        """What the output's ``qr_file`` column says for the file ``name``."""
        if self.as_zip:
            return name
        return os.path.relpath(self.folder / name, relative_to)

    def draw(self, jobs: Sequence[tuple[str, str]]) -> None:
        """Draw ``(file name, link)`` pairs (names from :meth:`name`)."""
        if not jobs:
            return
        if self.version is None:
            self.version, self.mask = choose(jobs[0][1])
            # Signed links all have one length; a longer one (a campaign's own base URL)
            # needs a larger version, so pick for the longest.
            longest = max(jobs, key=lambda j: len(j[1]))[1]
            if len(longest) > len(jobs[0][1]):
                self.version, self.mask = choose(longest)
        items = list(jobs)
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
