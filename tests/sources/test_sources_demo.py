"""Demo permits: valid, and carrying the published limits of the notes (B7, C3)."""

import datetime as dt
from decimal import Decimal

from bishui.demo.permits import demo_permits
from bishui.sources.permits import check_history, in_force


def test_demo_permits_validate_and_cite() -> None:
    ps = demo_permits(["420802", "420804", "420881"], seed=1)
    assert len(ps) == 12 and len({p.permit_no for p in ps}) == 12
    check_history(ps)
    assert len(in_force(ps, dt.date(2026, 6, 1))) == 12
    power = next(p for p in ps if "热电" in p.enterprise)
    so2 = power.outlet("DA001").limit("a21026")  # type: ignore[union-attr]
    assert so2 is not None and so2.value == 200 and so2.reference_o2 == 6
    wwtp = next(p for p in ps if "污水" in p.enterprise)
    tp = wwtp.outlet("DW001").limit("w21011")  # type: ignore[union-attr]
    assert tp is not None and tp.value == Decimal("0.5") and tp.averaging == "day"
    assert all(lim.standard for p in ps for o in p.outlets for lim in o.limits)
    assert demo_permits(["420802"], seed=1)[0].uscc == ps[0].uscc
