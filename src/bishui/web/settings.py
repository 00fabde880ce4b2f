"""The web server's settings, declared once.

:class:`Settings` is the single declaration: the CLI builds its options from it, ``create_app``
reads it, and ``docs/web.md`` prints its table from :func:`settings_table` (a test checks the
page is current). Secrets are never values here, only *references*: ``env:NAME`` reads the
environment variable, ``file:/path`` reads the first line of a file.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import secrets as _secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bishui.errors import ConfigError

log = logging.getLogger("bishui.web")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the web app can be told; each field's ``metadata["help"]`` documents it."""

    host: str = field(default="127.0.0.1", metadata={"help": "address to listen on"})
    port: int = field(default=8000, metadata={"help": "TCP port to listen on"})
    secret: str = field(
        default="env:BISHUI_SECRET",
        metadata={
            "help": "reference to the signing secret (at least 32 bytes): env:NAME or "
            "file:/path; bishui serve refuses to start without it (an app built in-process "
            "without one uses a random per-process secret)"
        },
    )
    session_hours: float = field(
        default=12.0, metadata={"help": "a browser session expires this long after login [h]"}
    )
    cookie_secure: str = field(
        default="auto",
        metadata={
            "help": "Secure flag on cookies: auto (when the request is https), always, never"
        },
    )
    login_rate: str = field(
        default="10/60",
        metadata={"help": "login attempts allowed per client address: COUNT/SECONDS"},
    )
    lockout_after: int = field(
        default=5,
        metadata={
            "help": "failed logins from one client address that lock the account for that "
            "address; beyond it, failures from any address slow the account's logins down"
        },
    )
    lockout_minutes: float = field(
        default=15.0,
        metadata={"help": "how long failed logins are remembered (and a lock lasts) [min]"},
    )
    login_delay_max: float = field(
        default=4.0,
        metadata={
            "help": "longest wait before checking a password of an account with more than "
            "lockout_after recent failures from all addresses (0.25 s doubling per failure) [s]"
        },
    )
    trusted_proxies: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
            "and X-Forwarded-Proto are believed; none by default: the client address is the "
            "TCP peer"
        },
    )
    auth_cache_seconds: float = field(
        default=5.0,
        metadata={
            "help": "a resolved session or token is reused this long [s]; logout, revocation "
            "and disabling in this process take effect at once, from another process within "
            "this time (0: look up every request)"
        },
    )
    api_rate: str = field(
        default="600/60",
        metadata={"help": "API requests allowed per client address: COUNT/SECONDS"},
    )
    max_body_bytes: int = field(
        default=65536, metadata={"help": "largest request body accepted [bytes]"}
    )
    max_evidence_bytes: int = field(
        default=10 * 1024 * 1024,
        metadata={
            "help": "largest evidence file accepted by POST /api/v1/tasks/{task_id}/files, which "
            "is allowed a body over max_body_bytes [bytes]"
        },
    )
    max_upload_bytes: int = field(
        default=10 * 1024 * 1024,
        metadata={
            "help": "largest data file (CSV / Excel of manual and laboratory values) accepted by "
            "POST /api/v1/uploads, which is allowed a body over max_body_bytes (so are a black "
            "box's frames, POST /api/v1/vehicles/frames) [bytes]"
        },
    )
    max_range_days: int = field(
        default=366, metadata={"help": "longest time range one measurements request may span [d]"}
    )
    page_size: int = field(default=50, metadata={"help": "default page size of list endpoints"})
    max_page_size: int = field(
        default=500, metadata={"help": "largest page size a client may ask for"}
    )
    public_kinds: tuple[str, ...] = field(
        default=("air", "water"),
        metadata={"help": "site kinds whose hourly and daily data are published (no login)"},
    )
    public_periods: tuple[str, ...] = field(
        default=("hour", "day"), metadata={"help": "periods published for the public kinds"}
    )
    public_max_age: int = field(
        default=60, metadata={"help": "Cache-Control max-age of published responses [s]"}
    )
    refresh_seconds: int = field(
        default=60, metadata={"help": "how often the pages poll the API for new data [s]"}
    )
    public_cache_seconds: float = field(
        default=10.0,
        metadata={
            "help": "each web process answers a repeated anonymous GET of published data "
            "from memory for this long [s] (0: never; bishui.web.public_cache)"
        },
    )
    snapshot_seconds: float = field(
        default=10.0,
        metadata={
            "help": "the overview and the public page reuse one reading of the current state "
            "for this long [s] (0: read on every request)"
        },
    )
    language: str = field(default="zh", metadata={"help": "default page language: zh or en"})
    geojson: str = field(
        default="",
        metadata={
            "help": "county boundaries GeoJSON replacing the packaged Jingmen file (path); "
            "its source is shown from geojson_source"
        },
    )
    geojson_source: str = field(
        default="",
        metadata={"help": "attribution shown on the map for a replaced geojson"},
    )
    # the public report form (bishui.participation; docs/governance.md "公众举报与信息公开")
    report_rate: str = field(
        default="5/3600",
        metadata={"help": "citizen reports accepted per client address: COUNT/SECONDS"},
    )
    report_global_rate: str = field(
        default="200/3600",
        metadata={"help": "citizen reports accepted from all addresses together: COUNT/SECONDS"},
    )
    max_report_photo_bytes: int = field(
        default=5 * 1024 * 1024,
        metadata={
            "help": "largest photo a citizen report may carry (POST /report and "
            "/api/v1/citizen-reports are allowed a body this much over max_body_bytes) [bytes]"
        },
    )
    participation_rules: str = field(
        default="",
        metadata={"help": "a participation rules TOML replacing the packaged one (path)"},
    )

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError("web.port", "a TCP port 1–65535", self.port)
        if self.cookie_secure not in ("auto", "always", "never"):
            raise ConfigError("web.cookie_secure", "auto, always or never", self.cookie_secure)
        for name in ("login_rate", "api_rate"):
            parse_rate(getattr(self, name), f"web.{name}")
        for name in ("report_rate", "report_global_rate"):  # the public report form
            parse_rate(getattr(self, name), f"web.{name}")
        if not 1 <= self.max_report_photo_bytes <= 100 * 1024**2:
            raise ConfigError(
                "web.max_report_photo_bytes", "1 byte to 100 MiB", self.max_report_photo_bytes
            )
        if self.language not in ("zh", "en"):
            raise ConfigError("web.language", "zh or en", self.language)
        if not 1 <= self.max_evidence_bytes <= 1024**3:
            raise ConfigError("web.max_evidence_bytes", "1 byte to 1 GiB", self.max_evidence_bytes)
        if not 1 <= self.max_upload_bytes <= 1024**3:
            raise ConfigError("web.max_upload_bytes", "1 byte to 1 GiB", self.max_upload_bytes)
        if not 1 <= self.max_range_days <= 3660:
            raise ConfigError("web.max_range_days", "1–3660", self.max_range_days)
        if not 1 <= self.page_size <= self.max_page_size <= 10_000:
            raise ConfigError(
                "web.page_size", "1 ≤ page_size ≤ max_page_size ≤ 10000", self.page_size
            )
        if not 0 <= self.public_cache_seconds <= self.public_max_age:
            # never kept longer than browsers and caches are told they may keep it
            raise ConfigError(
                "web.public_cache_seconds", "0 to web.public_max_age", self.public_cache_seconds
            )
        if not 0 <= self.login_delay_max <= 60:
            raise ConfigError("web.login_delay_max", "0–60 s", self.login_delay_max)
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ConfigError(
                    "web.trusted_proxies", "IP addresses or CIDR networks", proxy
                ) from exc
        if self.session_hours <= 0 or self.lockout_minutes <= 0 or self.lockout_after < 1:
            raise ConfigError(
                "web.session_hours", "session, lockout times and counts must be positive", None
            )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def resolve_secret(self, *, required: bool = False) -> bytes:
        """The secret's bytes, read through its reference; never logged.

        *required* (``bishui serve``): a missing secret or one under :data:`MIN_SECRET_BYTES`
        is a :class:`ConfigError`. Otherwise a missing one becomes a random per-process secret
        (an app built in-process: tests, a notebook), a short one is still refused.
        """
        value = resolve_reference(self.secret, "web.secret")
        if not value and not required:
            log.warning(
                "no web secret configured (%s): using a per-process one, so sessions end when "
                "this process stops. Next step: %s",
                self.secret,
                KEY_HINT,
            )
            return _secrets.token_bytes(32)
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                "web.secret",
                f"a secret of at least {MIN_SECRET_BYTES} bytes behind {self.secret} ({KEY_HINT})",
                "***" if value else "(none)",
            )
        return value.encode()

    def is_trusted_proxy(self, address: str) -> bool:
        return bool(self.trusted_proxies) and _in_networks(address, self.trusted_proxies)


#: Shortest signing secret accepted [bytes] (HMAC-SHA256's output size).
MIN_SECRET_BYTES = 32
#: What to do about a missing web secret, in every message that mentions one.
KEY_HINT = (
    "export BISHUI_SECRET=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\" "
    "before starting, or set BISHUI_WEB_SECRET=file:/path to a 0600 file holding one "
    "(docs/web.md, Security)"
)


def _in_networks(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)


def ensure_secret_file(path: Path) -> str:
    """A ``file:`` reference to a 0600 file holding a random secret, created if absent
    (``bishui demo``); an existing file must not be readable by others."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError("web.secret", "a secret file readable by its owner only", str(path))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(_secrets.token_hex(32) + "\n")
        log.warning(
            "created the web secret file %s (0600); later starts reuse it. To use your own "
            "instead: %s",
            path,
            KEY_HINT,
        )
    return f"file:{path}"


def resolve_reference(ref: str, field_name: str) -> str:
    """``env:NAME`` → the variable's value; ``file:/path`` → the file's first line; '' → ''."""
    if not ref:
        return ""
    kind, _, where = ref.partition(":")
    if kind == "env" and where:
        return os.environ.get(where, "")
    if kind == "file" and where:
        try:
            return Path(where).read_text(encoding="utf-8").splitlines()[0].strip()
        except (OSError, IndexError) as exc:
            raise ConfigError(field_name, "file: reference that can be read", where) from exc
    raise ConfigError(field_name, "a reference env:NAME or file:/path, never the secret", "***")


def parse_rate(text: str, field_name: str = "rate") -> tuple[int, float]:
    """``"10/60"`` → (10 events, 60 seconds)."""
    try:
        count, _, seconds = text.partition("/")
        n, s = int(count), float(seconds)
    except ValueError as exc:
        raise ConfigError(field_name, "COUNT/SECONDS, e.g. 10/60", text) from exc
    if n < 1 or s <= 0:
        raise ConfigError(field_name, "COUNT ≥ 1 and SECONDS > 0", text)
    return n, s


def settings_table() -> str:
    """A Markdown table of every setting, its default and its help (for docs/web.md)."""
    lines = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        default = f.default
        if isinstance(default, tuple):
            default = ",".join(default)
        shown = f"`{default}`" if default != "" else "(none)"
        lines.append(f"| `{f.name}` | {shown} | {f.metadata['help']} |")
    return "\n".join(lines)


def from_env(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``BISHUI_WEB_<NAME>`` variables, then *overrides* (e.g. CLI options)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        raw = env.get(f"BISHUI_WEB_{f.name.upper()}")
        if raw is None:
            continue
        values[f.name] = _coerce(f, raw)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def _coerce(f: dataclasses.Field[Any], raw: str) -> Any:
    kind = type(f.default)
    try:
        if kind is tuple:
            return tuple(x.strip() for x in raw.split(",") if x.strip())
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"BISHUI_WEB_{f.name.upper()}", f"a {kind.__name__}", raw) from exc
    return raw


def click_options(command: Any) -> Any:
    """Add one ``--option`` per setting to a click command (values left unset are ``None``).

    Pass the collected values to :func:`from_env` as overrides: the command line wins over
    ``BISHUI_WEB_*`` variables, which win over the defaults.
    """
    import click

    for f in reversed(dataclasses.fields(Settings)):
        kind = type(f.default)
        click_type: Any = {int: int, float: float}.get(kind, str)
        command = click.option(
            f"--{f.name.replace('_', '-')}",
            f.name,
            type=click_type,
            default=None,
            help=f.metadata["help"],
        )(command)
    return command


def from_cli(values: dict[str, Any]) -> Settings:
    """Settings from a command decorated with :func:`click_options` (tuples split on commas)."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    overrides = {
        k: (_coerce(fields[k], v) if isinstance(v, str) else v)
        for k, v in values.items()
        if k in fields and v is not None
    }
    return from_env(**overrides)
