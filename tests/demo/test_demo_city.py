import numpy as np

from bishui.demo.city import build
from bishui.demo.synth import hours_of, normal, uniform

HOURS = hours_of(
    np.arange(
        np.datetime64("2025-12-01T00"), np.datetime64("2026-01-01T00"), np.timedelta64(1, "h")
    )
)


def test_model_city_matches_the_issue() -> None:
    m = build()
    kinds = [s.kind for s in m.registry.sites]
    assert kinds.count("air") == 10
    assert kinds.count("water") == 15
    assert len(m.registry.enterprises) == 60
    assert {r.name for r in m.registry.regions} >= {
        "东宝区",
        "掇刀区",
        "沙洋县",
        "钟祥市",
        "京山市",
        "漳河新区",
        "屈家岭管理区",
    }
    assert all(e.name.endswith("（模拟）") for e in m.registry.enterprises)
    assert len({d.mn for d in m.registry.devices}) == len(m.registry.sites)
    assert any(s.drinking_source for s in m.registry.sites)


def test_same_seed_same_data_and_any_hour_alone() -> None:
    a, _ = build(7).series("AQ01", HOURS)
    b, _ = build(7).series("AQ01", HOURS)
    np.testing.assert_array_equal(a["a34004"][0], b["a34004"][0])
    # An hour computed on its own equals the same hour inside the month (live == history).
    one, _ = build(7).series("AQ01", HOURS[100:101])
    assert one["a05024"][0][0] == a["a05024"][0][100] or np.isnan(a["a05024"][0][100])
    c, _ = build(8).series("AQ01", HOURS)
    assert not np.array_equal(a["a34004"][0], c["a34004"][0])


def test_series_look_like_monitoring_data() -> None:
    m = build()
    s, events = m.series("AQ01", HOURS)
    pm25 = s["a34004"][0]
    assert 0.001 < np.isnan(pm25).mean() < 0.2  # some hours are missing, not many
    assert np.nanmin(pm25) >= 0
    assert set(s["a34004"][1]) <= {"N", "C", "M"}
    assert np.all(np.nan_to_num(s["a34002"][0], nan=1e9) >= np.nan_to_num(pm25, nan=0) * 0.9)
    assert {e.kind for e in events} & {"haze", "maintenance", "outage", "flatline"}


def test_hash_noise_is_uniform_and_normal() -> None:
    u = uniform(np.uint64(12345), np.arange(200_000))
    assert 0.49 < u.mean() < 0.51 and u.min() >= 0 and u.max() < 1
    z = normal(np.uint64(6789), np.arange(200_000))
    assert abs(z.mean()) < 0.01 and 0.98 < z.std() < 1.02
