"""Helpers of the grid tests: the broker's address and a bounded wait."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

MQTT_URL = os.environ.get("BISHUI_TEST_MQTT", "mqtt://127.0.0.1:1883")


async def until(cond: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait for *cond*, failing (never hanging) after *timeout* seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
