"""Report codes: a QR payload that opens the public lookup and carries a signed compact summary.

The China practice (notes §A3, §A4 [V]): the platform issues the report number and the QR
content on upload; the QR resolves to a public lookup. Added here, after the ICAO Visible
Digital Seal idea (notes §A4 [V]): the summary is signed with Ed25519 so a phone holding the
published public keys can check it offline. Keys rotate by key id; a key has a validity period
and a report signed outside it is refused.

Payload: ``<base_url>/r/<report_no>?s=<summary>.<signature>`` where *summary* is the
canonical fields joined by ``|`` (UTF-8, base64url) and *signature* is the 64-byte Ed25519
signature of ``VHR1|<key_id>|<summary fields>`` (base64url).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

PREFIX = "VHR1"
FIELDS = (
    "key_id",
    "report_no",
    "vin",
    "plate",
    "station",
    "date",
    "method",
    "result",
    "limits_version",
)


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    raw: bytes  # 32 bytes
    valid_from: dt.date
    valid_to: dt.date | None = None  # exclusive

    def as_dict(self) -> dict[str, str | None]:
        return {
            "key_id": self.key_id,
            "ed25519": _b64(self.raw),
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
        }


@dataclass(frozen=True)
class Verification:
    ok: bool
    reason: str  # "" when ok; else malformed, unknown_key, key_not_valid, bad_signature, mismatch
    detail: str
    summary: dict[str, str]


def new_key(key_id: str, valid_from: dt.date) -> tuple[Ed25519PrivateKey, PublicKey]:
    sk = Ed25519PrivateKey.generate()
    raw = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return sk, PublicKey(key_id, raw, valid_from)


def private_from_seed(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_of(
    key_id: str, sk: Ed25519PrivateKey, valid_from: dt.date, valid_to: dt.date | None = None
) -> PublicKey:
    return PublicKey(
        key_id, sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw), valid_from, valid_to
    )


def _message(fields: Mapping[str, str]) -> bytes:
    return "|".join([PREFIX, *(fields[f] for f in FIELDS)]).encode("utf-8")


def sign(summary: Mapping[str, str], key_id: str, sk: Ed25519PrivateKey, base_url: str) -> str:
    """The QR payload of a report (*summary* has every field of :data:`FIELDS` but key_id)."""
    fields = {**{f: str(summary[f]) for f in FIELDS if f != "key_id"}, "key_id": key_id}
    for f, v in fields.items():
        if "|" in v:
            raise ValueError(f"{f} may not contain '|'")
    msg = _message(fields)
    body = _b64(msg[len(PREFIX) + 1 :])
    sig = _b64(sk.sign(msg))
    return f"{base_url.rstrip('/')}/r/{quote(fields['report_no'])}?s={body}.{sig}"


def verify(
    payload: str, keys: Mapping[str, PublicKey], stored: Mapping[str, str] | None = None
) -> Verification:
    """Offline (and, with *stored*, online) verification with a clear reason on failure."""
    try:
        parts = urlsplit(payload)
        s = parse_qs(parts.query)["s"][0]
        body, sig = s.split(".")
        values = _unb64(body).decode("utf-8").split("|")
        if len(values) != len(FIELDS):
            raise ValueError("field count")
        summary = dict(zip(FIELDS, values, strict=True))
        signature = _unb64(sig)
        path_no = parts.path.rsplit("/", 1)[-1]
    except (KeyError, ValueError, UnicodeDecodeError) as e:
        return Verification(False, "malformed", f"not a report code ({e})", {})
    if path_no != quote(summary["report_no"]):
        return Verification(False, "mismatch", "the address names another report", summary)
    key = keys.get(summary["key_id"])
    if key is None:
        return Verification(False, "unknown_key", f"no published key {summary['key_id']}", summary)
    try:
        day = dt.date.fromisoformat(summary["date"][:10])
    except ValueError:
        return Verification(False, "malformed", "bad date", summary)
    if day < key.valid_from or (key.valid_to is not None and day >= key.valid_to):
        return Verification(False, "key_not_valid", f"key {key.key_id} not valid on {day}", summary)
    try:
        Ed25519PublicKey.from_public_bytes(key.raw).verify(signature, _message(summary))
    except (InvalidSignature, ValueError):
        return Verification(
            False,
            "bad_signature",
            "the signature does not match: the report was edited or forged",
            summary,
        )
    if stored is not None:
        diff = [f for f in FIELDS if f != "key_id" and str(stored.get(f, "")) != summary[f]]
        if diff:
            return Verification(
                False, "mismatch", f"differs from the record: {', '.join(diff)}", summary
            )
    return Verification(True, "", "", summary)


def qr_svg(payload: str) -> str:
    """The QR image (SVG text) of *payload*, error correction M (segno, ISO/IEC 18004)."""
    import io

    import segno

    buf = io.BytesIO()
    segno.make_qr(payload, error="m").save(buf, kind="svg", scale=4, xmldecl=False)
    return buf.getvalue().decode("utf-8")
