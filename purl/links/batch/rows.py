"""One chunk of a recipient list, read to written, in whichever process has a free core.

A million-row list is cut into blocks of whole records (:func:`record_blocks`); each block is
turned, without the database, into everything the batch needs from it (:func:`prepare`): its
rejected rows with their reasons (unclosed quotes, control characters and undecodable bytes
too), and for every good row the recipient's database values with a fresh code, plus its
finished output line. The batch's
main process only inserts the rows and writes the text, so on two cores the Python work of
one block overlaps the database work of the one before.
"""

from __future__ import annotations

import csv
import io
import marshal
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _quote
from pathlib import Path

from babel.support import NullTranslations, Translations

from purl.campaigns import offers
from purl.links import codes
from purl.links.identity import IDENTITY_LIMIT, identity_for
from purl.links.salutation import parse_salutation, salutation_line
from purl.spreadsheet import safe_row
from purl.spreadsheet.reading import (
    N_,
    RECORD_LIMIT,
    TOO_LONG,
    UNCLOSED,
    Opened,
    Translate,
    bad_reason,
    clean,
    may_be_bad,
    records,
)

FIELDS = ("external_id", "email", "first_name", "last_name", "gender", "title", "company", "seed")
# Column limits of the recipient table (external ids leave room for the identity prefix).
LIMITS = {"external_id": 120, "email": 254, "first_name": 100, "last_name": 100,
          "title": 50, "company": 200}
_TRUE = frozenset(("1", "x", "ja", "j", "yes", "y", "true", "wahr", "seed", "test"))
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# Stands in an output line's ``qr_file`` cell until the main process knows the recipient's
# database id (the file is named after it). Followed by the row's drawn code, so it is unique.
QR_MARK = "\x1eqr:"

# A name that a greeting should not carry unseen: digits only (a phone number), a leading
# formula sign, markup. The rare match is then explained by ``suspicion``.
_DIGITS = r"^[\s+/().-]*\d[\d\s+/().-]*$"
_SUSPICIOUS = re.compile(rf"^[=+@-]|{_DIGITS}|<[A-Za-z/!?]")
_MARKUP = re.compile(r"<[A-Za-z/!?][^>\s]{0,20}>?")
WARNINGS_KEPT = 200  # per batch (and per block): the rest are counted, not listed

# Stands in an error line for its row number until the main process knows how many records
# the blocks before held: record index within the block and physical line.
_ROW_MARK = "\x1e{}:{}\x1e"
ROW_MARK = re.compile("\x1e(\\d+):(\\d+)\x1e")


# A recipient row as the database takes it, in this order.
ROW_FIELDS = ("code", "identity", "external_id", "email", "first_name", "last_name",
              "gender", "title", "company", "attributes", "is_seed")
Row = tuple

_TRANSLATIONS = Path(__file__).resolve().parents[3] / "translations"
_catalogs: dict[str, NullTranslations] = {}


def reasons_in(locale: str) -> Translate:
    """``gettext`` for the campaign's language: a German shop's marketer reads the reasons in
    ``OUT.errors.csv`` in German. Plain Babel catalogs, as the workers run without Flask."""
    catalog = _catalogs.get(locale)
    if catalog is None:
        catalog = _catalogs[locale] = Translations.load(str(_TRANSLATIONS), [locale])
    return catalog.gettext


# (what identified the person, whether the earlier line is known) -> reason
_DUPLICATE = {
    ("id", True): N_("duplicate of row %(row)s: same customer id %(value)s"),
    ("id", False): N_("duplicate of an earlier row: same customer id %(value)s"),
    ("email", True): N_("duplicate of row %(row)s: same email address %(value)s"),
    ("email", False): N_("duplicate of an earlier row: same email address %(value)s"),
    ("row", True): N_("duplicate of row %(row)s: same name and details"),
    ("row", False): N_("duplicate of an earlier row: same name and details"),
}
def duplicate_reason(_: Translate, identity: str, external_id: str | None, email: str | None,
                     earlier_row: str | None = None) -> str:
    kind = identity.split(":", 1)[0]
    value = {"id": external_id, "email": email}.get(kind)
    return _(_DUPLICATE[kind, bool(earlier_row)]) % {"row": earlier_row, "value": repr(value)}


_LIMITED = [(FIELDS.index(name), limit) for name, limit in LIMITS.items()]
_SHORTEST = min(LIMITS.values())


def suspicion(_: Translate, name: str) -> str | None:
    """Why a name is worth a look before the greeting goes out, or None."""
    if not _SUSPICIOUS.search(name):
        return None
    if re.match(_DIGITS, name):
        return _("only digits, not a name")
    if name[0] in "=+@-":
        return _("starts with %(sign)s, like a spreadsheet formula") % {"sign": name[0]}
    markup = _MARKUP.search(name)
    return _("holds markup such as %(tag)s") % {"tag": markup.group() if markup else "<"}


def check(_: Translate, values: list[str], column_of: Mapping[str, str]) -> str | None:
    for index, limit in _LIMITED:
        if len(values[index]) > limit:
            return _("%(column)s is longer than %(limit)d characters") % {
                "column": column_of[FIELDS[index]], "limit": limit}
    email = values[1]
    if email and not _EMAIL.fullmatch(email):
        return _("%(column)s %(value)s is not a valid email address") % {
            "column": column_of["email"], "value": repr(email)}
    return None


@dataclass(frozen=True)
class Plan:
    """What a worker needs to turn a block into rows and lines: fixed for the whole batch."""

    encoding: str  # of the blocks (a BOM is already skipped)
    delimiter: str
    width: int  # cells per row, as the header has
    picks: tuple[int, ...]  # column of each of FIELDS; -1 when no column holds it
    column_of: Mapping[str, str]  # field -> header name, for reasons
    attribute_columns: tuple[tuple[str, int], ...]
    seeds: frozenset[str]
    keys: tuple[str, ...]
    link_base: str
    locale: str
    tone: str
    out_width: int
    # Where purl_url, purl_code, salutation_line (and qr_file) go in an output line; only
    # set when a re-run on our own output replaces its columns instead of adding them.
    targets: tuple[int, ...] = ()
    qr: bool = False
    mint: bool = True  # False in a dry run: nothing to draw or write
    # PostgreSQL: what every row shares (campaign, batch, channel, time), to write the rows as
    # COPY's CSV here, so the main process streams a block into the table in one call.
    copy_shared: tuple | None = None
    header: tuple[str, ...] = ()  # column names, for reasons
    # Offers by rule: the campaign's rules and own offer; each row's (attribute rules only,
    # nobody has answered yet) goes into offer_code and offer_text.
    offer_rules: tuple[offers.Rule, ...] = ()
    own_offer: offers.Offer | None = None


@dataclass
class Prepared:
    """One block's result: the rejected rows and, for each good row, its row and line."""

    processed: int = 0  # non-blank records
    records: int = 0  # records, blank ones too: the rows a spreadsheet shows for the block
    rows: list[Row] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # record index of each good row
    physical: list[int] = field(default_factory=list)  # input line of each good row
    out_text: str = ""
    out_sizes: list[int] = field(default_factory=list)  # characters of each row's line
    err_text: str = ""
    err_sizes: list[int] = field(default_factory=list)
    err_lines: list[int] = field(default_factory=list)  # record index of each rejected row
    packed: bytes = b""
    copy_text: str = ""  # the rows as COPY … (FORMAT csv) takes them, when the plan asks
    warned: int = 0  # suspicious names among the good rows (see ``suspicion``)
    warnings: list[dict] = field(default_factory=list)  # the first WARNINGS_KEPT of them

    def pack(self) -> Prepared:
        """Ready to cross to the main process: marshal moves the rows' plain tuples of
        strings ten times faster than pickle, whose cost was a third of the batch's."""
        self.packed, self.rows = marshal.dumps(self.rows), []
        return self

    def unpack(self) -> Prepared:
        if self.packed:
            self.rows, self.packed = marshal.loads(self.packed), b""
        return self

    def out_lines(self) -> list[str]:
        return _split_text(self.out_text, self.out_sizes)

    def errors(self) -> list[tuple[int, str]]:
        return list(zip(self.err_lines, _split_text(self.err_text, self.err_sizes), strict=True))


def _split_text(text: str, sizes: Sequence[int]) -> list[str]:
    parts, start = [], 0
    for size in sizes:
        parts.append(text[start:start + size])
        start += size
    return parts


def prepare(plan: Plan, sign: Callable[[str], str], block: bytes, first_line: int) -> Prepared:
    """Read, check and (unless a dry run) mint one block of whole records.

    Row numbers are left as marks (:data:`ROW_MARK`): only the main process knows how many
    records the blocks before this one held."""
    text = block.decode(plan.encoding, errors="surrogateescape")
    result = Prepared()
    _ = reasons_in(plan.locale)
    errors = io.StringIO()
    write_error = csv.writer(errors, delimiter=plan.delimiter).writerow
    if isinstance(block, Opened):  # cut off by record_blocks: only its first line is here
        cells = next(csv.reader([text.rstrip("\r\n")], delimiter=plan.delimiter), [])
        result.err_sizes.append(write_error(
            [_ROW_MARK.format(0, first_line), _(UNCLOSED), *safe_row(clean(cells))]))
        result.err_lines.append(0)
        result.processed = result.records = 1
        result.err_text = errors.getvalue()
        return result
    width, column_of, attribute_columns = plan.width, plan.column_of, plan.attribute_columns
    seeds = plan.seeds
    picks = plan.picks
    # Rare checks, each skipped for a whole block that cannot need it.
    suspect = may_be_bad(text)
    long = len(text) > RECORD_LIMIT
    # JSON by hand: json.dumps costs more than the rest of a row; keys are quoted once.
    attribute_keys = [(_quote(name), i) for name, i in attribute_columns]
    identity = ""
    seen: dict[str, int] = {}  # identity -> record index, for duplicates within the block
    seen_line: dict[str, int] = {}
    good: list[tuple[list[str], tuple]] = []
    lines, physical = result.lines, result.physical
    processed = 0
    index = -1
    for index, offset, cells, opened in records(text, plan.delimiter, width):
        if not any(cells):
            continue  # blank lines and Excel's trailing ";;;;" rows carry no one
        start = first_line + offset
        processed += 1
        reason = _(opened) if opened else None
        if reason is None and suspect:
            reason = bad_reason(_, plan.header, plan.encoding, cells)
            if reason is not None:
                cells = clean(cells)
        if reason is None and long and sum(map(len, cells)) > RECORD_LIMIT:
            reason = _(TOO_LONG)
            cells = [c[:1000] for c in cells]
        if reason is None and len(cells) != width:
            if len(cells) > width and not any(cells[width:]):
                del cells[width:]
            elif len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            else:
                reason = _("has %(cells)d cells but the header has %(width)d") % {
                    "cells": len(cells), "width": width}
        if reason is None:
            cells.append("")  # index -1: the value of an unmapped field
            values = [cells[i].strip() for i in picks]
            cells.pop()
            ext, email, first, last, gender, title, company, seed = values
            if max(map(len, values)) > _SHORTEST or (email and not _EMAIL.fullmatch(email)):
                reason = check(_, values, column_of)
        if reason is None:
            if ext or email:  # identity_for, inlined for the million-row case
                identity = "id:" + ext if ext else "email:" + email.lower()
                if len(identity) > IDENTITY_LIMIT:
                    identity = identity_for(ext, email, first, last, company)
            elif first or last or company:
                # Two Anna Müllers at different addresses are two people.
                extra = "".join(f"\x1f{k}={cells[i]}" for k, i in attribute_columns if cells[i])
                identity = identity_for(ext, email, first, last, company, extra)
            else:
                reason = _("no usable identity: no customer id, email address or name")
        if reason is None:
            earlier = seen.get(identity)
            if earlier is None:
                seen[identity] = index
                seen_line[identity] = start
            else:
                reason = duplicate_reason(_, identity, ext, email,
                                          _ROW_MARK.format(earlier, seen_line[identity]))
        if reason is not None:
            result.err_sizes.append(write_error(
                [_ROW_MARK.format(index, start), reason, *safe_row(cells)]))
            result.err_lines.append(index)
            continue
        is_seed = (seed.lower() in _TRUE if seed else False) or (
            email.lower() in seeds if seeds and email else False)
        lines.append(index)
        physical.append(start)
        if (first and _SUSPICIOUS.search(first)) or (last and _SUSPICIOUS.search(last)):
            _warn(result, _, index, start, column_of, first, last)
        attributes = [f"{key}:{_quote(cells[i])}" for key, i in attribute_keys if cells[i]]
        # "Frau Dr." in the salutation column: a title there counts when no title column has one.
        gender, said = parse_salutation(gender) if gender else (None, None)
        good.append((cells, (
            identity, ext or None, email or None, first or None, last or None,
            gender, title or said, company or None, "{" + ",".join(attributes) + "}", is_seed)))
    result.records = index + 1
    result.processed = processed
    result.err_text = errors.getvalue()
    out = io.StringIO()
    write = csv.writer(out, delimiter=plan.delimiter).writerow
    sizes = result.out_sizes
    if not plan.mint:  # a dry run: the rows as read, to report a duplicate of another block
        result.rows = [(None, *values) for _cells, values in good]
        result.out_sizes = [write(safe_row(cells)) for cells, _values in good]
        result.out_text = out.getvalue()
        return result
    rows = result.rows
    link_base, locale, tone, qr = plan.link_base, plan.locale, plan.tone, plan.qr
    targets, out_width = plan.targets, plan.out_width
    for (cells, values), code in zip(good, codes.new_codes(len(good)), strict=True):
        _identity, _ext, _email, first, last, gender, title, *_rest = values
        extra = [link_base + sign(code),
                 codes.display(code),
                 salutation_line(first, last, gender, title, locale, tone)]
        if plan.offer_rules:
            offer = offers.choose(plan.offer_rules, plan.own_offer, {
                name: cells[i] for name, i in plan.attribute_columns if cells[i]}, None,
                with_answers=False)
            # The marketer's text goes into a spreadsheet: guarded as the list's own cells.
            extra += safe_row([offer.code, offer.text]) if offer else ["", ""]
        if qr:
            extra.append(QR_MARK + code)
        line = safe_row(cells)
        if targets:
            line.extend([""] * (out_width - len(line)))
            for target, value in zip(targets, extra, strict=True):
                line[target] = value
        else:
            line.extend(extra)
        sizes.append(write(line))
        rows.append((code, *values))
    result.out_text = out.getvalue()
    if plan.copy_shared is not None:
        copy = io.StringIO()
        # None is written as an empty unquoted cell, which COPY reads as NULL; no value is
        # ever an empty string (empty cells become None above).
        csv.writer(copy).writerows([(*plan.copy_shared, *row) for row in rows])
        result.copy_text = copy.getvalue()
    return result


def _warn(result: Prepared, _: Translate, index: int, line: int,
          column_of: Mapping[str, str], first: str, last: str) -> None:
    # The row is the record's index in the block until the main process numbers it (``line``
    # is its physical line), as for the rejected rows.
    for name, value in (("first_name", first), ("last_name", last)):
        reason = suspicion(_, value) if value else None
        if reason is not None:
            result.warned += 1
            if len(result.warnings) < WARNINGS_KEPT:
                result.warnings.append({"row": index, "line": line, "column": column_of[name],
                                        "value": value[:100], "reason": reason})


def relink(line: str, sign: Callable[[str], str], drawn: str, key: str,
           code: str | None) -> str:
    """An output line whose link and code, both from the ``drawn`` code, are replaced by
    another's (an existing recipient's link key and code, or a fresh draw after a
    collision). The drawn code is random, so its link and printed form occur once."""
    line = line.replace(sign(drawn), sign(key), 1)
    return line.replace(codes.display(drawn), codes.display(code), 1)
