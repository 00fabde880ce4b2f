import datetime as dt
from dataclasses import replace

from bishui.hj212 import decode
from bishui.ingest.packets import Context, packet_batch
from bishui.registry import Device, DeviceParameter

DEV = Device(
    mn="010000A8900016F000169DC0",
    site_id="E01-DW001",
    pw="123456",
    st="32",
    parameters=(
        DeviceParameter("w00000", "L/s", 0, 5000),
        DeviceParameter("w01001", "无量纲", 0, 14),
        DeviceParameter("w01018", "mg/L", 0, 2000),
    ),
)
NOW = dt.datetime(2016, 8, 1, 9, 0, 5)
# HJ 212-2017 Appendix C.16, the minute-data example (hj212 notes §5).
C16 = (
    b"##0325QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=5;"
    b"CP=&&DataTime=20160801084000;w00000-Cou=10.5,w00000-Min=16.4,w00000-Avg=17.5,"
    b"w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,"
    b"w01001-Flag=N;w01018-Cou=10.5,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,"
    b"w01018-Flag=N&&6180\r\n"
)


def test_appendix_c16_minute_data_becomes_three_rows() -> None:
    batch = packet_batch(decode(C16), DEV, Context(NOW, "127.0.0.1:1"))
    assert not batch.quarantine
    rows = {r[1]: r for r in batch.rows}
    assert set(rows) == {"w00000", "w01001", "w01018"}
    site, _, period, ts, origin, value, vmin, vmax, cou, flag, valid, _, source, _ = rows["w00000"]
    assert (site, period, ts, origin) == (
        "E01-DW001",
        "min",
        dt.datetime(2016, 8, 1, 8, 40),
        "logger",
    )
    assert (value, vmin, vmax, cou, flag, valid) == (17.5, 16.4, 20.1, 10.5, "N", True)
    assert source == "20160801085000001"


def _with(device: Device) -> list:
    return packet_batch(decode(C16), device, Context(NOW, None)).quarantine


def test_unregistered_parameter_is_quarantined_not_dropped() -> None:
    q = _with(replace(DEV, parameters=DEV.parameters[:2]))
    assert [(e.reason, e.value) for e in q] == [("unknown_parameter", "w01018")]
    assert q[0].payload is not None and q[0].payload["value"] == 40.1


def test_out_of_range_value_is_quarantined() -> None:
    q = _with(
        replace(DEV, parameters=(DeviceParameter("w00000", "L/s", 0, 10), *DEV.parameters[1:]))
    )
    assert [(e.reason, e.field, e.value) for e in q] == [("out_of_range", "value", "17.5")]


def test_future_data_time_is_quarantined() -> None:
    batch = packet_batch(decode(C16), DEV, Context(dt.datetime(2016, 8, 1, 8, 0), None))
    assert not batch.rows
    assert [e.reason for e in batch.quarantine] == ["future_time"]


def test_non_data_commands_give_no_rows() -> None:
    frame = (
        b"##0137QN=20160801085857223;ST=32;CN=2081;PW=123456;MN=010000A8900016F000169DC0;"
        b"Flag=5;CP=&&DataTime=20160801085857;RestartTime=20160801085624&&9AC1\r\n"
    )
    batch = packet_batch(decode(frame), DEV, Context(NOW, None))
    assert not batch.rows and not batch.quarantine


def test_flags_other_than_n_are_stored_as_invalid() -> None:
    p = decode(C16.replace(b"w01001-Flag=N", b"w01001-Flag=C"), crc_policy="none")
    batch = packet_batch(p, DEV, Context(NOW, None))
    row = next(r for r in batch.rows if r[1] == "w01001")
    assert (row[9], row[10]) == ("C", False)


def test_bad_flag_is_quarantined() -> None:
    p = decode(C16.replace(b"w01001-Flag=N", b"w01001-Flag=Q"), crc_policy="none")
    batch = packet_batch(p, DEV, Context(NOW, None))
    assert [(e.reason, e.value) for e in batch.quarantine] == [("bad_flag", "Q")]
