"""The web platform: the JSON API under ``/api/v1``, server-rendered pages, accounts and roles.

>>> from bishui.web import create_app, Settings
>>> app = create_app(store, Settings(port=8000))   # a FastAPI app; serve it with uvicorn

See docs/web.md (pages, roles, settings) and docs/api.md (the API). The names are imported
lazily, so ``bishui.web.schema`` can be imported by the store's migrations without loading
the web stack (and without an import cycle through ``bishui.store``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bishui.web.app import create_app
    from bishui.web.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from bishui.web.app import create_app

        return create_app
    if name == "Settings":
        from bishui.web.settings import Settings

        return Settings
    raise AttributeError(f"module 'bishui.web' has no attribute {name!r}")
