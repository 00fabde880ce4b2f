"""A small store for the service tests: two enterprises, three outlets, hand-made hourly data.

Enterprise A (the HJ 608 example credit code, 东宝区 420802) holds the permit of
``conftest.make_permit`` (DA001: SO2 200 mg/m³ at 6 % O2; DW001: COD 50 mg/L …); enterprise B
(沙洋县 420822) has an outlet and no permit.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bishui.registry import uscc
from bishui.store import Store

# tests/sources/conftest.py by path: under ``pytest tests`` the name ``conftest`` may be
# another directory's.
_spec = importlib.util.spec_from_file_location(
    "bishui_sources_conftest", Path(__file__).resolve().parent / "conftest.py"
)
assert _spec and _spec.loader
_conf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conf)
make_permit, PERMIT_NO = _conf.make_permit, _conf.PERMIT_NO

USCC_A = "91130200699229617X"
USCC_B = uscc.generate("420822", 7)
GAS_A, WATER_A, GAS_B = "A-DA001", "A-DW001", "B-DA001"


def registry(store: Store) -> None:
    store.upsert("regions", [
        {"code": "420800", "name": "荆门市", "kind": "city", "central": False},
        {"code": "420802", "name": "东宝区", "kind": "district", "parent": "420800",
         "central": False},
        {"code": "420822", "name": "沙洋县", "kind": "county", "parent": "420800",
         "central": False},
    ])  # fmt: skip
    store.upsert("enterprises", [
        {"uscc": USCC_A, "name": "示例热电有限公司", "region": "420802", "key_unit": True,
         "industry": "火力发电"},
        {"uscc": USCC_B, "name": "沙洋示例化工", "region": "420822", "key_unit": True,
         "industry": "化工"},
    ])  # fmt: skip
    store.upsert("sites", [
        {"id": GAS_A, "kind": "source_gas", "name": "A 烟囱",
         "drinking_source": False, "assessment": False, "region": "420802",
         "enterprise": USCC_A, "outlet": "DA001"},
        {"id": WATER_A, "kind": "source_water", "name": "A 总排口",
         "drinking_source": False, "assessment": False, "region": "420802",
         "enterprise": USCC_A, "outlet": "DW001"},
        {"id": GAS_B, "kind": "source_gas", "name": "B 烟囱",
         "drinking_source": False, "assessment": False, "region": "420822",
         "enterprise": USCC_B, "outlet": "DA001"},
    ])  # fmt: skip


def write_hourly(
    store: Store, site: str, code: str, start: dt.datetime, values: Sequence[float],
    flags: Sequence[str] | str = "N", period: str = "hour", origin: str = "logger",
) -> None:  # fmt: skip
    """Hourly (or minute, with ``period='min'``) logger values from *start*."""
    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    step = np.timedelta64(1, "h" if period == "hour" else "m")
    ts = np.datetime64(start, "us") + np.arange(n) * step
    f = np.array([flags] * n if isinstance(flags, str) else list(flags), dtype=object)
    store.write_measurements({
        "site_id": np.full(n, site, dtype=object), "parameter": np.full(n, code, dtype=object),
        "period": np.full(n, period, dtype=object), "ts": ts,
        "origin": np.full(n, origin, dtype=object), "value": v, "vmin": np.full(n, np.nan),
        "vmax": np.full(n, np.nan), "cou": np.full(n, np.nan), "flag": f, "valid": f == "N",
        "n_valid": np.full(n, -1, dtype=np.int32), "source": np.full(n, "test", dtype=object),
        "received_at": ts,
    })  # fmt: skip


def gas_day(
    store: Store, site: str, day: dt.date, so2: Sequence[float] | float, o2: float = 6.0,
    flow_m3s: float = 50.0,
) -> None:  # fmt: skip
    """24 hours of SO2 [mg/m³], O2 [%] and flow [m³/s] at a flue-gas outlet."""
    t = dt.datetime.combine(day, dt.time())
    values = np.broadcast_to(np.asarray(so2, dtype=np.float64), (24,))
    # a little variation so that FLAT does not fire on the clean hours
    wobble = 0.1 * (np.arange(24) % 5)
    write_hourly(store, site, "a21026", t, values + wobble)
    write_hourly(store, site, "a19001", t, np.full(24, o2) + wobble / 10)
    write_hourly(store, site, "a00000", t, np.full(24, flow_m3s) + wobble)
