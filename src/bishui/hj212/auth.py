"""Device passwords: generated, stored as salted hashes, checked cheaply, masked in logs.

HJ 212 sends a device's password (``PW``) in clear in every frame (STD17 Table 3), so the
platform must (1) never keep it in clear — the registry stores ``pbkdf2_sha256$…`` (PBKDF2-HMAC-
SHA256, a random salt per device, Python's ``hashlib``); (2) not pay for a slow hash on every
frame — a password once verified is remembered for that MN as a keyed digest (a random key per
process), so only a *different* password costs a hash, and those are throttled by the gateway;
(3) keep it out of the raw log — :func:`mask_password` overwrites the value with ``*`` of the
same length (the frame's length field still holds; its CRC no longer does, and says so).

A stored value without the ``pbkdf2_sha256$`` prefix is a clear password (registries loaded
before issue 13, tests); it is compared in constant time and re-hashed when the registry is
next written.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

__all__ = [
    "PasswordCache",
    "generate_password",
    "hash_password",
    "is_hashed",
    "mask_password",
    "verify_password",
]

SCHEME = "pbkdf2_sha256"
#: PBKDF2 rounds: about half a millisecond a check, so the first login of 1,000 loggers after a
#: restart costs half a second of CPU. Device passwords are generated (72 random bits,
#: :func:`generate_password`): the salted hash keeps a leaked store from revealing them, it is
#: not what makes them hard to guess — the gateway's throttle guards the wire.
ITERATIONS = 2_000


def generate_password(nbytes: int = 9) -> str:
    """A new device password from :mod:`secrets`: ``nbytes`` random bytes, URL-safe base64
    (no ``; = , &``, so it is a valid HJ 212 PW; 12 characters for the default)."""
    return secrets.token_urlsafe(nbytes)


def hash_password(pw: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<digest>`` (base64) for *pw*."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"{SCHEME}${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def is_hashed(stored: str) -> bool:
    return stored.startswith(SCHEME + "$")


def verify_password(pw: str, stored: str) -> bool:
    """Whether *pw* is the password *stored* (a hash from :func:`hash_password`, or clear)."""
    if not is_hashed(stored):
        return hmac.compare_digest(pw.encode("utf-8"), stored.encode("utf-8"))
    try:
        _, rounds, salt, digest = stored.split("$")
        want = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac("sha256", pw.encode("utf-8"), base64.b64decode(salt), int(rounds))
    except ValueError:  # a malformed stored hash matches nothing
        return False
    return hmac.compare_digest(got, want)


class PasswordCache:
    """Passwords already verified, per MN, as keyed digests (never in clear).

    ``check(mn, pw, stored)`` is a dictionary lookup for a password seen before and one hash
    for a new one; a change of the stored value (the registry was edited) forgets the MN.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._key = secrets.token_bytes(32)
        self._ok: dict[str, tuple[str, bytes]] = {}
        self.max_entries = max_entries
        self.hashes = 0  # slow checks done

    def _digest(self, pw: str) -> bytes:
        return hmac.new(self._key, pw.encode("utf-8"), hashlib.sha256).digest()

    def known(self, mn: str, pw: str, stored: str) -> bool:
        """A cheap yes: *pw* was verified for *mn* against this *stored* value before."""
        hit = self._ok.get(mn)
        return (
            hit is not None and hit[0] == stored and hmac.compare_digest(hit[1], self._digest(pw))
        )

    def check(self, mn: str, pw: str, stored: str) -> bool:
        if self.known(mn, pw, stored):
            return True
        self.hashes += 1
        if not verify_password(pw, stored):
            return False
        if len(self._ok) >= self.max_entries:
            self._ok.clear()
        self._ok[mn] = (stored, self._digest(pw))
        return True


_PW = re.compile(rb"((?:^|[;,])PW=)([^;,&]*)")


def mask_password(raw: bytes) -> bytes:
    """*raw* with every ``PW=`` value overwritten by ``*`` of the same length."""
    if b"PW=" not in raw:
        return raw
    return _PW.sub(lambda m: m.group(1) + b"*" * len(m.group(2)), raw)
