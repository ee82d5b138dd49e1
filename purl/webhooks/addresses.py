"""Where a webhook may go: http(s) only, never to loopback, private, link-local or other
non-public addresses unless the install allows them (``PURL_WEBHOOK_ALLOW_PRIVATE``).

The URL is checked when an endpoint is saved (the scheme and a literal address), and the
address its host resolves to at every delivery: a name that resolved to a public address
yesterday may point inward today (DNS rebinding), so the connection goes to the very
address that was checked.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2000


class AddressError(ValueError):
    """A target purl will not send to; ``str()`` is a stable code word: ``url``,
    ``scheme``, ``credentials``, ``private``, ``unknown-host``."""


def is_public(address: str) -> bool:
    """True for an address on the public internet (not loopback, private, link-local,
    shared, reserved or multicast); an IPv4 address mapped into IPv6 counts as itself."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query


def parse(url: str, allow_private: bool) -> Target:
    """``url`` as a target, or ``AddressError``: http(s), a host, no user or password in
    it, and (unless allowed) no literal private address or ``localhost``."""
    url = url.strip()
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise AddressError("url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressError("url") from None
    if parts.scheme not in ("http", "https"):
        raise AddressError("scheme")
    if parts.username is not None or parts.password is not None:
        raise AddressError("credentials")
    host = parts.hostname
    if not host:
        raise AddressError("url")
    if not allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise AddressError("private")
        try:
            literal = not is_public(host)
        except ValueError:
            literal = False  # a name: checked on what it resolves to, at every delivery
        if literal:
            raise AddressError("private")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def resolve(target: Target, allow_private: bool) -> list[tuple[str, int]]:
    """The addresses to connect to. Every address the name has must be public (unless
    allowed): one private among them could be the one a connection would reach."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise AddressError("unknown-host") from None
    addresses = list(dict.fromkeys((info[4][0], target.port) for info in infos))
    if not addresses:
        raise AddressError("unknown-host")
    if not allow_private and not all(is_public(address) for address, _ in addresses):
        raise AddressError("private")
    return addresses


def connection(target: Target, addresses: list[tuple[str, int]],
               timeout: float) -> http.client.HTTPConnection:
    """An HTTP(S) connection to ``target`` that connects only to ``addresses`` (the checked
    ones), while the Host header, SNI and certificate check use the target's name. Nothing
    of http.client follows a redirect, and no proxy from the environment applies."""
    if target.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def connect(_address: object, timeout: float | None = None,
                source_address: object = None) -> socket.socket:
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection(address, timeout)
            except OSError as exc:
                error = exc
        assert error is not None
        raise error

    conn._create_connection = connect  # type: ignore[attr-defined]  # http.client's hook
    return conn
