"""NATS availability for the tests that need it."""

from __future__ import annotations

import os
import socket

import pytest

NATS_URL = os.environ.get("BISHUI_TEST_NATS", "nats://127.0.0.1:4222")


def need_nats_or_skip() -> None:
    host, port = NATS_URL.removeprefix("nats://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but NATS does not answer at {NATS_URL}")
        pytest.skip(f"NATS does not answer at {NATS_URL}")
