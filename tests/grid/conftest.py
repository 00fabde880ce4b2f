"""Fixtures of the grid tests that go through the real broker (Mosquitto at 127.0.0.1:1883,
or $BISHUI_TEST_MQTT): skipped with a message where none answers, unless CI is set."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from grid_support import MQTT_URL

from bishui.grid.mqtt import parse_url
from bishui.grid.simulator import connect


def broker_up() -> bool:
    addr = parse_url(MQTT_URL)
    try:
        socket.create_connection((addr.host, addr.port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def need_broker() -> None:
    if not broker_up():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but no MQTT broker answers at {MQTT_URL}")
        pytest.skip(f"no MQTT broker answers at {MQTT_URL} (set CI=true to require it)")


@pytest.fixture
def client_id() -> Iterator[str]:
    """A client id of this test's own; its persistent session is removed afterwards (a
    clean-session connect ends it), so test runs leave no queues in the broker."""
    cid = f"bishui-test-{uuid.uuid4().hex[:12]}"
    yield cid
    c = connect(MQTT_URL, client_id=cid)  # clean session: ends the persistent one
    for _ in range(250):
        if c.is_connected():
            break
        time.sleep(0.02)
    c.disconnect()
    c.loop_stop()
