"""A recipient list's columns: which field each holds, from the names CRMs, newsletter tools
and German spreadsheets give them, corrected by the marketer's own mapping."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from purl.links.batch.rows import FIELDS, N_
from purl.links.identity import IDENTIFYING
from purl.spreadsheet.reading import ReadError

CHANNELS = ("email", "print", "sms", "whatsapp", "push")
OUTPUT_COLUMNS = ("purl_url", "purl_code", "salutation_line")
QR_COLUMN = "qr_file"

# Header names as CRMs, newsletter tools and German spreadsheets write them, normalised by
# ``_header_key`` (lower case, letters and digits only).
HEADER_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(("kundennummer", "kundennr", "kdnr", "kundenid", "customerid",
                     "customernumber", "externalid", "contactid", "recordid", "id",
                     "crmid", "mitgliedsnummer", "memberid"), "external_id"),
    **dict.fromkeys(("email", "emailaddress", "emailadresse", "mail", "mailadresse",
                     "emailadr"), "email"),
    **dict.fromkeys(("vorname", "firstname", "givenname", "fname"), "first_name"),
    **dict.fromkeys(("nachname", "lastname", "surname", "familyname", "familienname",
                     "lname"), "last_name"),
    **dict.fromkeys(("anrede", "salutation", "gender", "geschlecht", "sex"), "gender"),
    **dict.fromkeys(("titel", "title", "akademischertitel"), "title"),
    **dict.fromkeys(("firma", "company", "companyname", "unternehmen", "organisation",
                     "organization", "firmenname"), "company"),
    **dict.fromkeys(("seed", "test", "testempfanger", "testempfaenger", "seedadresse"), "seed"),
}


# Columns left out unless the marketer maps them (--map COLUMN=attribute, or the console's
# mapping): where a person was and from which address they signed up is not ours to keep.
# Normalised like HEADER_ALIASES. Mailchimp audience exports (OPTIN_IP, CONFIRM_IP, LATITUDE,
# LONGITUDE), HubSpot contact exports ("IP City", "IP State/Region", "IP Latitude & Longitude"
# …), and the IP attributes of Brevo and other tools.
PRIVATE_COLUMNS = frozenset((
    "optinip", "confirmip", "latitude", "longitude", "lat", "lng", "lon", "geolocation",
    "geo", "breitengrad", "langengrad", "ip", "ipaddress", "ipadresse", "ipadr", "signupip",
    "doiip", "lastip", "registrationip", "createdip",
    "ipcity", "ipcountry", "ipcountrycode", "ipstateregion", "ipstate", "ipstatecode",
    "iptimezone", "ipzipcode", "iplatitudelongitude", "iplatlon", "hsiptimezone",
))
# Mailchimp's geolocation of a subscriber: names too plain to leave out of any list, so only
# when the header is a Mailchimp export (it has one of MAILCHIMP_MARKERS).
MAILCHIMP_GEO = frozenset(("cc", "region", "timezone", "dstoff", "gmtoff"))
MAILCHIMP_MARKERS = frozenset(("leid", "euid", "memberrating", "optintime", "confirmtime"))


# The whole file cannot be read: the shared reader's error, so every surface catches one class.
BatchError = ReadError


DUPLICATE_COLUMN = N_("the header names the column %(column)s twice: rename one of them or "
                      "delete the one you do not need, then use the file again")


def _header_key(name: str) -> str:
    name = name.strip().lower().replace("ä", "a").replace("ö", "o").replace("ü", "u")
    return re.sub(r"[^0-9a-zß]", "", name.replace("ß", "ss"))


def map_header(header: Sequence[str], overrides: Mapping[str, str]) -> dict[str, int]:
    """field -> column index. Overrides name a column (as written or normalised) and a field
    (or ``attribute`` to keep an auto-mapped column as a plain attribute)."""
    by_key: dict[str, int] = {}
    for index, name in enumerate(header):
        if name and name in by_key and header[by_key[name]] == name:
            # Only one of the two would be used: which one, nobody could tell.
            raise BatchError(DUPLICATE_COLUMN, column=repr(name))
        by_key.setdefault(name, index)
        by_key.setdefault(_header_key(name), index)
    mapping: dict[str, int] = {}
    forced: set[int] = set()
    for column, target in overrides.items():
        if target not in FIELDS and target not in ("attribute", "ignore"):
            raise BatchError(f"--map {column}={target}: unknown field {target!r} "
                             f"(fields: {', '.join(FIELDS)}, attribute, ignore)")
        index = by_key.get(column, by_key.get(_header_key(column)))
        if index is None:
            raise BatchError(f"--map {column}={target}: the header has no column {column!r} "
                             f"(columns: {', '.join(header)})")
        forced.add(index)
        if target not in ("attribute", "ignore"):
            mapping[target] = index
    for index, name in enumerate(header):
        target = HEADER_ALIASES.get(_header_key(name))
        if index not in forced and target and target not in mapping:
            mapping[target] = index
    return mapping


def private_columns(header: Sequence[str], overrides: Mapping[str, str]) -> list[int]:
    """The columns left out because they hold IP addresses or geolocation (see
    PRIVATE_COLUMNS), unless ``overrides`` name them (as written or normalised)."""
    keys = [_header_key(name) for name in header]
    named = set(overrides) | {_header_key(column) for column in overrides}
    mailchimp = not MAILCHIMP_MARKERS.isdisjoint(keys)
    return [i for i, (name, key) in enumerate(zip(header, keys, strict=True))
            if name not in named and key not in named
            and (key in PRIVATE_COLUMNS or (mailchimp and key in MAILCHIMP_GEO))]


# What a column can become, in the order the preview's select lists them.
TARGETS = (*FIELDS, "attribute", "ignore")


def check_mapping(mapping: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The problems with a marketer's mapping (column -> target): (kind, column, other)."""
    problems: list[tuple[str, str, str]] = []
    taken: dict[str, str] = {}
    for column, target in mapping.items():
        if target not in TARGETS:
            problems.append(("unknown", column, target))
        elif target not in ("attribute", "ignore"):
            if target in taken:
                problems.append(("twice", taken[target], column))
            taken[target] = column
    if not set(IDENTIFYING) & taken.keys():
        problems.append(("identity", "", ""))
    return problems
