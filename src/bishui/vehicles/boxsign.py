"""The black box's own channel, signed per device: each box holds an Ed25519 key; the platform
registers its public key and accepts a capture over the API only with a valid signature (issue
19 item 2: "sent on its own channel … signed per device"). The scheme is the platform's own
(docs/vehicles.md): the signature covers the capture's header and the SHA-256 of its curve in a
canonical JSON form, so a station that intercepts the upload cannot alter either.
"""

from __future__ import annotations

import base64
import hashlib
import json

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bishui.vehicles.model import Capture

PREFIX = b"VBB1|"


def canonical(c: Capture) -> bytes:
    """What a box signs: ``VBB1|id|box|analyser|start|sha256(curve JSON)``."""
    curve = {
        k: [None if not np.isfinite(x) else float(x) for x in v.tolist()]
        for k, v in c.curve.items()
    }
    digest = hashlib.sha256(
        json.dumps(curve, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    head = "|".join([c.inspection_id, c.box_serial, c.analyser, c.start.isoformat(), digest])
    return PREFIX + head.encode("utf-8")


def sign(c: Capture, sk: Ed25519PrivateKey) -> str:
    return base64.urlsafe_b64encode(sk.sign(canonical(c))).rstrip(b"=").decode("ascii")


def public_raw(sk: Ed25519PrivateKey) -> str:
    raw = sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def verify(c: Capture, signature: str, public_b64: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(public_b64 + "=" * (-len(public_b64) % 4))
        sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        Ed25519PublicKey.from_public_bytes(raw).verify(sig, canonical(c))
    except (InvalidSignature, ValueError):
        return False
    return True
