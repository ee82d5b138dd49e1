"""Signed link tokens.

A token is ``<public_id>.<signature>``: the public id is random and opaque (itsdangerous signs,
it does not encrypt, so nothing personal may go in). Each purpose signs with its own salt, so a
token minted for one purpose never verifies for another. ``SECRET_KEYS`` lists keys newest
first: links are signed with the newest, and every listed key still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence

from itsdangerous import BadSignature, Signer
from itsdangerous.encoding import base64_decode, base64_encode

LINK_SALT = "purl.link.v1"


def new_public_id() -> str:
    """96 random bits, URL-safe, 16 characters."""
    return secrets.token_urlsafe(12)


def _signer(keys: Sequence[str], salt: str) -> Signer:
    # itsdangerous signs with the *last* key and verifies with all of them.
    return Signer(
        list(reversed(keys)), salt=salt, digest_method=hashlib.sha256, key_derivation="hmac"
    )


def sign(public_id: str, keys: Sequence[str], salt: str = LINK_SALT) -> str:
    return _signer(keys, salt).sign(public_id).decode("ascii")


def unsign(token: str, keys: Sequence[str], salt: str = LINK_SALT) -> str | None:
    """The public id the token carries, or None if no listed key verifies it."""
    try:
        public_id = _signer(keys, salt).unsign(token).decode("ascii")
    except (BadSignature, UnicodeError):
        return None
    # Base64 ignores the spare low bits of the last character, so several spellings decode to
    # the same signature; only the canonical one is the link we minted.
    signature = token.rsplit(".", 1)[1]
    if base64_encode(base64_decode(signature)).decode("ascii") != signature:
        return None
    return public_id


def key_id(keys: Sequence[str]) -> str:
    """A short, non-secret fingerprint of the signing key, for manifests and logs."""
    return hashlib.sha256(keys[0].encode()).hexdigest()[:8]


def signer_for_batch(keys: Sequence[str], salt: str = LINK_SALT) -> Callable[[str], str]:
    """``sign`` for a million ids: the key is derived once instead of on every call.

    Produces exactly what :func:`sign` does (a test holds them together).
    """
    derived = hmac.new(keys[0].encode(), salt.encode(), hashlib.sha256).digest()
    digest = hmac.digest  # one C call per id
    encode = base64.urlsafe_b64encode

    def sign_one(public_id: str) -> str:
        mac = digest(derived, public_id.encode("ascii"), "sha256")
        return public_id + "." + encode(mac).rstrip(b"=").decode("ascii")

    return sign_one
