"""The one shape of a refusal the market rules return: a stable code and zh/en reasons."""

from __future__ import annotations

from typing import NamedTuple


class Refusal(NamedTuple):
    """Why something was refused: a stable code, and the reason in Chinese and English."""

    code: str
    zh: str
    en: str
