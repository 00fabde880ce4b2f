"""The platform key of the grid sensors' signatures, read by reference (never given inline).

``env:NAME`` reads the variable, ``file:/path`` the file's first line; the key is the text
as UTF-8 and must be at least 32 bytes (``openssl rand -hex 32`` gives 64). The default
reference is ``env:BISHUI_MQTT_SECRET`` (setting ``platform.mqtt_key``, docs/settings.md).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from bishui.errors import ConfigError

log = logging.getLogger("bishui.grid")

DEFAULT_REFERENCE = "env:BISHUI_MQTT_SECRET"
MIN_BYTES = 32


def platform_key(ref: str) -> bytes:
    """The key *ref* refers to; :class:`ConfigError` if it is not a reference, cannot be read
    or is shorter than :data:`MIN_BYTES`."""
    kind, _, where = (ref or "").partition(":")
    text = ""
    if kind == "env" and where:
        text = os.environ.get(where, "")
    elif kind == "file" and where:
        try:
            text = Path(where).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigError("platform.mqtt_key", "a file: reference that can be read",
                              where) from exc  # fmt: skip
    else:
        raise ConfigError(
            "platform.mqtt_key", "a reference env:NAME or file:/path, never the key", "***"
        )
    key = text.encode("utf-8")
    if len(key) < MIN_BYTES:
        raise ConfigError(
            "platform.mqtt_key", f"a platform key of at least {MIN_BYTES} bytes", ref,
            message=f"the grid sensors' platform key ({ref}) is missing or shorter than "
            f"{MIN_BYTES} bytes: set it (docs/grid.md), e.g. "
            "BISHUI_MQTT_SECRET=$(openssl rand -hex 32)",
        )  # fmt: skip
    return key


def ensure_key_file(path: Path) -> str:
    """A ``file:`` reference to a 0600 file holding a random platform key, created if absent
    (``bishui demo --mqtt``); an existing file must not be readable by others."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError("platform.mqtt_key", "a key file readable by its owner only",
                              str(path))  # fmt: skip
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32) + "\n")
        log.warning(
            "created the grid sensors' platform key file %s (0600); later starts reuse "
            "it. To use your own: BISHUI_MQTT_KEY=file:/path (docs/grid.md)",
            path,
        )
    return f"file:{path}"
