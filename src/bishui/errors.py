"""The exceptions bishui raises, in one place.

::

    BishuiError                  every error the library raises on purpose
    ├── InputError (ValueError)  bad input: names the field, the rule and the value
    │   ├── ConfigError          a configuration / rule document that does not validate
    │   └── TooLarge             an input over its size limit (a request body, an uploaded file)
    ├── NotFoundError            a named thing (site, device, permit, task …) does not exist
    ├── ConflictError            a state transition or write that contradicts stored state
    ├── PermissionDenied         the caller's role or scope does not allow it
    ├── ProtocolError            a peer broke the HJ 212 protocol (see ``bishui.hj212.errors``)
    └── StorageError             the store failed; backend errors (DuckDB, psycopg) are translated
                                 into this at the store boundary and never leak

The web layer maps each class to one JSON error shape ``{"ok": false, "error": code,
"message": text}`` (``bishui.web.errors``); the CLI prints ``message`` and exits non-zero.
"""

from __future__ import annotations

from typing import Any


class BishuiError(Exception):
    """Base of every error bishui raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(BishuiError, ValueError):
    """Bad input, reported as *field*, *rule* and *value* so a person can fix it.

    ``row`` and ``column`` locate the problem in an uploaded file when there is one.
    """

    code = "invalid_input"

    def __init__(
        self,
        field: str,
        rule: str,
        value: Any = None,
        *,
        row: int | None = None,
        message: str | None = None,
    ) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        self.row = row
        if message is None:
            where = f"row {row}, " if row is not None else ""
            message = f"{where}{field}: {rule} (got {value!r})"
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"field": self.field, "rule": self.rule, "value": _jsonable(self.value)}
        if self.row is not None:
            d["row"] = self.row
        return d


class ConfigError(InputError):
    """A configuration or rule document that does not validate."""

    code = "invalid_config"


class TooLarge(InputError):
    """An input over its size limit (HTTP 413): still names the field, the rule and the value."""

    code = "too_large"


class NotFoundError(BishuiError, LookupError):
    code = "not_found"


class ConflictError(BishuiError):
    code = "conflict"


class PermissionDenied(BishuiError):
    code = "forbidden"


class ProtocolError(BishuiError):
    code = "protocol_error"


class StorageError(BishuiError):
    code = "storage_error"


class StoreBusy(StorageError):
    """The store's file is held by another process (DuckDB lets one process open a file).

    ``path`` is the file. The ``bishui`` command catches it and hands the command to the
    platform that holds the file, when that platform offers it (``bishui.control``).
    """

    code = "store_busy"

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
