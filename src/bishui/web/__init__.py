"""The web platform: the JSON API under ``/api/v1``, server-rendered pages, accounts and roles.

>>> from bishui.web import create_app, Settings
>>> app = create_app(store, Settings(port=8000))   # a FastAPI app; serve it with uvicorn

See docs/web.md (pages, roles, settings) and docs/api.md (the API).
"""

from bishui.web.app import create_app
from bishui.web.settings import Settings

__all__ = ["Settings", "create_app"]
