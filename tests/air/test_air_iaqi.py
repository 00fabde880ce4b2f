"""IAQI of HJ 633-2012 (Table 1) and HJ 633-2026 (Table 3), against the notes (air.md §1, §2, §7)
and an independent exact reference written here with fractions.Fraction."""

import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bishui.air import iaqi
from bishui.air.iaqi import POLLUTANTS
from bishui.errors import InputError

IAQI = [0, 50, 100, 150, 200, 300, 400, 500]
# HJ 633-2012 Table 1 as transcribed in the notes §1.1 (None: no breakpoint, footnotes 2 and 3).
T2012 = {
    "SO2_24h": [0, 50, 150, 475, 800, 1600, 2100, 2620],
    "SO2_1h": [0, 150, 500, 650, 800],
    "NO2_24h": [0, 40, 80, 180, 280, 565, 750, 940],
    "NO2_1h": [0, 100, 200, 700, 1200, 2340, 3090, 3840],
    "PM10_24h": [0, 50, 150, 250, 350, 420, 500, 600],
    "CO_24h": [0, 2, 4, 14, 24, 36, 48, 60],
    "CO_1h": [0, 5, 10, 35, 60, 90, 120, 150],
    "O3_1h": [0, 160, 200, 300, 400, 800, 1000, 1200],
    "O3_8h": [0, 100, 160, 215, 265, 800],
    "PM2.5_24h": [0, 35, 75, 115, 150, 250, 350, 500],
}
# HJ 633-2026 Table 3 (notes §2.1): only the PM columns changed.
T2026 = T2012 | {
    "PM10_24h": [0, 50, 120, 250, 350, 420, 500, 600],
    "PM2.5_24h": [0, 35, 60, 115, 150, 250, 350, 500],
}
TABLES = {"2012": T2012, "2026": T2026}


def column(pollutant: str) -> str:
    return {"PM10_1h": "PM10_24h", "PM2.5_1h": "PM2.5_24h"}.get(pollutant, pollutant)


def ref(edition: str, pollutant: str, c: str | Fraction) -> int | None:
    """Independent exact reference (notes §7.9): Fraction arithmetic and math.ceil."""
    bps = TABLES[edition][column(pollutant)]
    c = Fraction(c)
    for i in range(len(bps) - 1):
        if bps[i] <= c <= bps[i + 1]:
            return math.ceil(
                Fraction(IAQI[i + 1] - IAQI[i], bps[i + 1] - bps[i]) * (c - bps[i]) + IAQI[i]
            )
    return None


def one(pollutant: str, c: float, edition: str, **kw: object) -> int | None:
    return iaqi(pollutant, c, edition, **kw).as_int()  # type: ignore[arg-type]


# --- the tables themselves ---------------------------------------------------------------


@pytest.mark.parametrize("edition", ["2012", "2026"])
@pytest.mark.parametrize("pollutant", POLLUTANTS)
def test_every_breakpoint_and_both_sides_of_every_segment(edition: str, pollutant: str) -> None:
    """At each breakpoint the IAQI is the table's; just inside each end of every segment it is
    the exact ceiling (the table is continuous: no EPA-style 36-75 bands)."""
    bps = TABLES[edition][column(pollutant)]
    step = Fraction(1, 10) if pollutant.startswith("CO") else Fraction(1)
    for i, b in enumerate(bps):
        assert one(pollutant, float(b), edition, round_first=False) == IAQI[i]
    for i in range(len(bps) - 1):
        for c in (bps[i] + step, bps[i + 1] - step, bps[i] + Fraction(1, 1000)):
            want = ref(edition, pollutant, c)
            assert one(pollutant, float(c), edition, round_first=False) == want, (c, want)
        # just above the low breakpoint the IAQI is strictly above the low IAQI
        assert ref(edition, pollutant, bps[i] + Fraction(1, 1000)) == IAQI[i] + 1


def test_pm_1h_keys_use_the_daily_columns() -> None:
    c = np.arange(0, 600, 0.5)
    for ed in ("2012", "2026"):
        assert np.array_equal(iaqi("PM10_1h", c, ed).value, iaqi("PM10_24h", c, ed).value)
        assert np.array_equal(iaqi("PM2.5_1h", c, ed).value, iaqi("PM2.5_24h", c, ed).value)


# --- worked examples of the notes ---------------------------------------------------------

# notes §7.1: concentration → (2012, 2026)
VECTORS_7_1 = {
    "PM2.5_24h": {0: (0, 0), 1: (2, 2), 35: (50, 50), 36: (52, 52), 40: (57, 60),
                  60: (82, 100), 61: (83, 101), 75: (100, 114), 76: (102, 115), 115: (150, 150),
                  116: (152, 152), 150: (200, 200), 250: (300, 300), 350: (400, 400),
                  500: (500, 500)},
    "PM10_24h": {50: (50, 50), 51: (51, 51), 100: (75, 86), 120: (85, 100), 121: (86, 101),
                 150: (100, 112), 151: (101, 112), 250: (150, 150), 350: (200, 200),
                 420: (300, 300), 500: (400, 400), 600: (500, 500)},
    "SO2_24h": {50: 50, 51: 51, 150: 100, 151: 101, 475: 150, 800: 200, 1600: 300, 2620: 500},
    "SO2_1h": {150: 50, 151: 51, 500: 100, 650: 150, 800: 200},
    "NO2_24h": {40: 50, 41: 52, 80: 100, 81: 101, 180: 150, 280: 200, 565: 300, 750: 400,
                940: 500},
    "NO2_1h": {100: 50, 101: 51, 200: 100, 700: 150, 1200: 200, 2340: 300, 3090: 400,
               3840: 500},
    "CO_24h": {0.5: 13, 1.9: 48, 2: 50, 2.1: 53, 2.2: 55, 3: 75, 4: 100, 4.1: 101, 14: 150,
               24: 200, 36: 300, 48: 400, 60: 500},
    "CO_1h": {1.1: 11, 4.9: 49, 5: 50, 5.1: 51, 10: 100, 35: 150, 60: 200, 65.4: 218, 90: 300,
              120: 400, 150: 500},
    "O3_8h": {99: 50, 100: 50, 101: 51, 159: 100, 160: 100, 161: 101, 215: 150, 216: 151,
              265: 200, 266: 201, 800: 300},
    "O3_1h": {159: 50, 160: 50, 161: 52, 200: 100, 201: 101, 300: 150, 400: 200, 800: 300,
              1000: 400, 1200: 500},
}  # fmt: skip


@pytest.mark.parametrize("pollutant", sorted(VECTORS_7_1))
def test_notes_7_1_single_iaqi(pollutant: str) -> None:
    for c, want in VECTORS_7_1[pollutant].items():
        w12, w26 = want if isinstance(want, tuple) else (want, want)
        assert one(pollutant, c, "2012") == w12, (pollutant, c)
        assert one(pollutant, c, "2026") == w26, (pollutant, c)


# notes §7.2: exact IAQI is an integer; naive float maths + ceil gives one more (2012 table)
TRAPS_7_2 = {
    "PM2.5_24h": {4.9: 7, 9.8: 14, 16.1: 23, 19.6: 28, 32.2: 46, 128.3: 169, 131.8: 174,
                  135.3: 179},
    "PM10_24h": {352.1: 203, 352.8: 204, 355.6: 208, 359.1: 213, 373.1: 233, 394.1: 263},
    "O3_8h": {102.4: 52, 108.4: 57, 114.4: 62, 128.8: 74, 158.8: 99, 163.3: 103, 179.8: 118},
    "CO_24h": {2.2: 55},
    "CO_1h": {1.1: 11, 4.4: 44, 4.9: 49, 65.4: 218, 66.9: 223, 68.4: 228, 69.9: 233,
              129.3: 431, 130.8: 436, 132.3: 441, 133.8: 446},
}  # fmt: skip


@pytest.mark.parametrize("pollutant", sorted(TRAPS_7_2))
def test_notes_7_2_float_ceiling_traps(pollutant: str) -> None:
    cs = list(TRAPS_7_2[pollutant])
    got = iaqi(pollutant, cs, "2012").value
    assert got.tolist() == list(TRAPS_7_2[pollutant].values())


def test_notes_7_3_round_before_iaqi() -> None:
    # (pollutant, input, edition, rounded IAQI)
    cases = [
        ("PM2.5_24h", 75.4, "2012", 100), ("PM2.5_24h", 75.5, "2012", 102),
        ("PM2.5_24h", 76.5, "2012", 102), ("PM2.5_24h", 34.5, "2012", 49),
        ("PM2.5_24h", 35.5, "2012", 52), ("PM10_24h", 150.5, "2012", 100),
        ("O3_8h", 160.5, "2012", 100), ("CO_24h", 2.05, "2012", 50),
        ("CO_24h", 2.15, "2012", 55), ("CO_24h", 4.05, "2012", 100),
        ("PM2.5_24h", 60.5, "2026", 100),
    ]  # fmt: skip
    for p, c, ed, want in cases:
        assert one(p, c, ed, round_first=True) == want, (p, c)
    # unrounded (2012 default) readings of the same values
    assert one("PM2.5_24h", 75.4, "2012") == 101
    assert one("PM2.5_24h", 60.5, "2026", round_first=False) == 101
    # 2026 rounds by default (HJ 633-2026 §4.2.2)
    assert one("PM2.5_24h", 60.5, "2026") == 100
    assert iaqi("PM2.5_24h", 1, "2026").rounded and not iaqi("PM2.5_24h", 1, "2012").rounded


# --- the rules above 800 and above the table ---------------------------------------------


def test_so2_1h_above_800() -> None:
    # 2012 Table 1 note (2): reported by the 24-hour IAQI; 2026 Table 3 note b: IAQI 200.
    r = iaqi("SO2_1h", [800, 801, 5000], "2012", companion=[100, 100, 1600])
    assert r.value.tolist() == [200, 75, 300]
    assert r.footnote.tolist() == [False, True, True]
    assert np.isnan(iaqi("SO2_1h", 801, "2012").value)  # no 24-hour value: missing
    assert iaqi("SO2_1h", [801, 5000], "2026").value.tolist() == [200, 200]


def test_o3_8h_above_800() -> None:
    # 2012 note (3): the O3 1-hour IAQI; 2026 note c: IAQI 300.
    assert iaqi("O3_8h", 850, "2012", companion=1100).value == 450
    assert iaqi("O3_8h", 850, "2026").value == 300
    assert iaqi("O3_8h", 800, "2026").value == 300


def test_above_top_breakpoint_options() -> None:
    c = [500, 500.4, 501, 650]
    r = iaqi("PM2.5_24h", c, "2012")
    assert r.value.tolist() == [500, 500, 500, 500] and r.above_table.tolist() == [0, 1, 1, 1]
    assert np.isnan(iaqi("PM2.5_24h", c, "2012", above="nan").value[1:]).all()
    assert iaqi("PM2.5_24h", c, "2012", above="extrapolate").value.tolist() == [500, 501, 501, 600]
    with pytest.raises(InputError, match=r"PM2\.5_24h.*top breakpoint"):
        iaqi("PM2.5_24h", c, "2012", above="raise")
    # 2026 rounds first: 500.4 → 500 is inside the table
    assert iaqi("PM2.5_24h", c, "2026").above_table.tolist() == [0, 0, 1, 1]


# --- input handling ----------------------------------------------------------------------


def test_nan_in_nan_out_and_shapes() -> None:
    r = iaqi("NO2_1h", [[np.nan, 100], [200, np.nan]], "2026")
    assert r.value.shape == (2, 2)
    assert np.isnan(r.value[0, 0]) and np.isnan(r.value[1, 1])
    assert r.value[0, 1] == 50 and r.value[1, 0] == 100
    assert iaqi("NO2_1h", np.nan, "2012").as_int() is None


def test_bad_input_names_pollutant_and_value() -> None:
    with pytest.raises(InputError) as e:
        iaqi("PM10_24h", [10, -3.5], "2012")
    assert e.value.field == "PM10_24h" and e.value.value == -3.5 and "≥ 0" in e.value.rule
    with pytest.raises(InputError, match=r"CO_1h.*numeric"):
        iaqi("CO_1h", ["a lot"], "2012")
    with pytest.raises(InputError, match="physically"):
        iaqi("SO2_1h", [np.inf], "2012")
    with pytest.raises(InputError, match="physically"):
        iaqi("CO_24h", 5000, "2012")
    with pytest.raises(InputError, match="pollutant"):
        iaqi("PM25_24h", 1, "2012")
    with pytest.raises(InputError, match="edition"):
        iaqi("PM10_24h", 1, "2018")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="edition"):
        iaqi("PM10_24h", 1)


def test_edition_from_date_switch_2026_03_01() -> None:
    assert iaqi("PM2.5_24h", 75, date=dt.date(2026, 2, 28)).value == 100
    r = iaqi("PM2.5_24h", 75, date=dt.date(2026, 3, 1))
    assert r.value == 114 and r.edition == "2026"
    days = np.array(["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"], "datetime64[D]")
    r = iaqi("PM2.5_24h", [75, 75.4, 75, 75.4], date=days)
    assert r.value.tolist() == [100, 101, 114, 114]
    assert r.edition.tolist() == ["2012", "2012", "2026", "2026"]  # type: ignore[union-attr]


# --- exhaustive comparison with the exact reference --------------------------------------


@pytest.mark.parametrize("edition", ["2012", "2026"])
@pytest.mark.parametrize("pollutant", POLLUTANTS)
def test_exhaustive_grid_against_fraction_reference(edition: str, pollutant: str) -> None:
    """Every 0.1 µg/m³ (0.01 mg/m³ for CO) from 0 to the top breakpoint, unrounded; and every
    0.05 step rounded first by GB/T 8170 (where the half-way cases live)."""
    top = TABLES[edition][column(pollutant)][-1]
    co = pollutant.startswith("CO")
    scale = 100 if co else 10
    n = np.arange(0, top * scale + 1)
    got = iaqi(pollutant, n / scale, edition, round_first=False).value
    want = [ref(edition, pollutant, Fraction(int(i), scale)) for i in n]
    assert got.tolist() == want
    # rounded first: 0.05 steps (CO 0.005) hit every half-way point
    scale2 = 200 if co else 20
    n2 = np.arange(0, top * scale2 + 1, 3 if not co else 7)
    got2 = iaqi(pollutant, n2 / scale2, edition, round_first=True).value
    q = Decimal("0.1") if co else Decimal(1)
    want2 = [
        ref(edition, pollutant, Fraction((Decimal(int(i)) / scale2).quantize(q, ROUND_HALF_EVEN)))
        for i in n2
    ]
    assert got2.tolist() == want2


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(POLLUTANTS),
    st.sampled_from(["2012", "2026"]),
    st.integers(0, 10**7),
    st.integers(0, 4),
    st.booleans(),
)
def test_random_decimals_against_fraction_reference(
    pollutant: str, edition: str, n: int, scale: int, round_first: bool
) -> None:
    top = TABLES[edition][column(pollutant)][-1]
    text = str(Decimal(n % (top * 10**scale + 1)).scaleb(-scale))
    c = Decimal(text)
    if round_first:
        c = c.quantize(
            Decimal("0.1") if pollutant.startswith("CO") else Decimal(1), ROUND_HALF_EVEN
        )
    want = ref(edition, pollutant, Fraction(c))
    assert one(pollutant, float(text), edition, round_first=round_first) == want


def test_exact_up_to_the_plausible_maximum() -> None:
    """The float64-held integers stay below 2^53 up to PLAUSIBLE_MAX (module docstring)."""
    from bishui.air.iaqi import PLAUSIBLE_MAX

    for p in ("NO2_1h", "CO_1h", "PM2.5_24h"):
        top = TABLES["2012"][column(p)]
        for c in (PLAUSIBLE_MAX[p], PLAUSIBLE_MAX[p] - 0.000001, top[-1] + 0.123457):
            got = iaqi(p, c, "2012", above="extrapolate").as_int()
            f = Fraction(repr(c))
            slope = Fraction(IAQI[-1] - IAQI[-2], top[-1] - top[-2])
            assert got == math.ceil(slope * (f - top[-2]) + IAQI[-2]), (p, c)
