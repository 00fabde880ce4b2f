"""Reading surface-water data out of the store: sections and their daily values.

The shell between the store and the pure core. The readings come from the read model
(:mod:`bishui.readings`, typed arrays, binary on PostgreSQL) and numpy sums them into a dense
cube (section × day × item); no Python loop runs over readings or days.

Which readings count (docs/water.md, "Service rules"):

* **automatic** values: hourly values (``period = 'hour'``) of water sites, one per hour by the
  read model's origin precedence: the logger's value where it sent one for that hour, else the
  platform's own hourly value (computed from minute data);
* **manual** values: uploaded values (``origin = 'upload'``, hourly or daily), taken as
  laboratory samples;
* only valid values (HJ 212 flag N → ``valid``); values the core would refuse (negative
  concentrations, pH outside 0–14) are left out and counted in ``DailyValues.rejected``.

A **daily value** is the mean of the day's automatic readings when there are at least
``day_min_readings`` of them (default: the platform's water rule, 5 of 6 four-hourly values,
``bishui/ingest/data/aggregation-rules.toml``), pH by hydrogen-ion mean; otherwise the mean of
the day's manual values. Where a section has automatic daily values of one of the six
automatic items (pH, DO, CODMn, NH3-N, TP, TN — 环办监测函〔2020〕82号) in the period, its
manual values of that item are not used at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bishui import readings
from bishui.registry.model import Site
from bishui.store import Store
from bishui.water import tables as t

#: Parameters the service reads: the 21 assessment items, the reference items, 表2 and the
#: trophic-state parameters (anything else a station sends — conductivity, turbidity — is not
#: a GB 3838 item and is not read).
CODES: tuple[str, ...] = (
    *t.ASSESSMENT_CODES,
    *t.REFERENCE_CODES,
    *t.TABLE2,
    *(c for c in t.OTHER_CODES if c not in t.REFERENCE_CODES),
)

#: Items whose automatic-station data take precedence over manual data where both exist
#: (环办监测函〔2020〕82号, as summarised in docs/water.md).
AUTO_PRIORITY: tuple[str, ...] = ("w01001", "w01009", "w01019", "w21003", "w21011", "w21001")

SECTION_FIELDS = (
    "id",
    "name",
    "region",
    "river",
    "body",
    "target_class",
    "control",
    "drinking_source",
    "assessment",
)


@dataclass(frozen=True)
class Sections:
    """The water sections of the registry, in id order, with their region names."""

    rows: list[Site]
    region_names: dict[str, str]
    city: dict[str, Any] | None

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rows]

    def column(self, key: str) -> list[Any]:
        return [getattr(r, key) for r in self.rows]

    def records(self) -> list[dict[str, Any]]:
        """The sections' :data:`SECTION_FIELDS` as dicts (the results cache's fingerprint)."""
        return [{k: getattr(r, k) for k in SECTION_FIELDS} for r in self.rows]


def load_sections(store: Store, where: str = "", params: list[Any] | None = None) -> Sections:
    """Water sections (``sites.kind = 'water'``) as :class:`~bishui.registry.model.Site`
    records, and the regions' names. A section's body is read as a river unless the registry
    says lake, a missing target class as 0 (no target)."""
    sql = "kind = 'water'" + (f" AND ({where})" if where else "")
    rows = [
        replace(
            s,
            body=s.body if s.body in t.BODIES else "river",
            target_class=int(s.target_class or 0),
        )
        for s in readings.sites(store, sql, params or [])
    ]
    regions = store.query("SELECT code, name, kind, parent FROM regions ORDER BY code")
    city = next((r for r in regions if r["kind"] == "city"), None)
    return Sections(rows, {r["code"]: r["name"] for r in regions}, city)


def _good(r: readings.Readings, codes: tuple[str, ...]) -> NDArray[np.bool_]:
    """Values the core accepts: not NULL, not negative (water temperature may be), pH ≤ 14."""
    ph = codes.index(t.PH) if t.PH in codes else -1
    temp = codes.index("w01010") if "w01010" in codes else -1
    v = r.value
    with np.errstate(invalid="ignore"):
        ok = ~np.isnan(v) & ((v >= 0) | (r.parameter == temp))
        return np.asarray(ok & ((r.parameter != ph) | (v <= 14)), dtype=np.bool_)


def _day_sums(
    r: readings.Readings,
    codes: tuple[str, ...],
    start: dt.datetime,
    shape: tuple[int, int, int],
) -> tuple[NDArray[np.float64], NDArray[np.int64], int]:
    """Sums and counts of the valid, accepted values per (section, day, item); pH summed as
    hydrogen-ion concentration. Also the number of valid values refused (negative, pH > 14)."""
    sums = np.zeros(shape)
    counts = np.zeros(shape, dtype=np.int64)
    day = (r.ts.astype("datetime64[D]") - np.datetime64(start.date(), "D")).astype(np.int64)
    inside = r.valid & (day >= 0) & (day < shape[1])
    good = _good(r, codes)
    rejected = int(np.count_nonzero(inside & ~good))
    sel = inside & good
    if not sel.any():
        return sums, counts, rejected
    ph = codes.index(t.PH) if t.PH in codes else -1
    v = np.where(r.parameter[sel] == ph, np.power(10.0, -r.value[sel]), r.value[sel])
    flat = (r.site[sel].astype(np.int64) * shape[1] + day[sel]) * shape[2] + r.parameter[sel]
    size = shape[0] * shape[1] * shape[2]
    sums = np.bincount(flat, weights=v, minlength=size).astype(np.float64).reshape(shape)
    counts = np.bincount(flat, minlength=size).astype(np.int64).reshape(shape)
    return sums, counts, rejected


@dataclass(frozen=True)
class DailyValues:
    """Daily values of every section over a period (see the module docstring).

    ``values`` (sections, days, items) [unit of each item], NaN where a day has no value;
    ``auto`` (sections, days, items) True where the value is an automatic daily mean;
    ``readings`` (sections, days, items) the automatic readings behind each day;
    ``rejected`` refused readings (negative, pH outside 0–14) left out.
    """

    codes: tuple[str, ...]
    section_ids: tuple[str, ...]
    start: dt.date
    values: NDArray[np.float64]
    auto: NDArray[np.bool_]
    readings: NDArray[np.int64]
    rejected: int

    @property
    def days(self) -> NDArray[np.datetime64]:
        n = self.values.shape[1]
        return np.datetime64(self.start, "D") + np.arange(n).astype("timedelta64[D]")


def daily_values(
    store: Store,
    section_ids: list[str] | tuple[str, ...],
    start: dt.datetime,
    end: dt.datetime,
    *,
    day_min_readings: int,
    auto_priority: tuple[str, ...] = AUTO_PRIORITY,
    codes: tuple[str, ...] = CODES,
) -> DailyValues:
    """Daily values of *section_ids* for ``start <= day < end`` from the store.

    Parameters
    ----------
    store : Store
    section_ids : sequence of str
        Sections (site ids) in the order of the result's first axis.
    start, end : datetime
        Naive Beijing time, whole days.
    day_min_readings : int
        Fewest valid automatic readings for an automatic daily value.
    auto_priority : tuple of str
        Items for which automatic data, where the section has any in the period, replace manual
        data.
    """
    n_days = max(0, (end.date() - start.date()).days)
    codes = tuple(codes)
    shape = (len(section_ids), n_days, len(codes))
    # Automatic values: one per hour by the read model's precedence (the logger's, else the
    # platform's); manual values: uploads, hourly or daily (bishui.readings).
    auto_r = readings.select(
        store, section_ids, codes, start, end, periods=("hour",), origins=readings.AUTOMATIC
    )
    man_r = readings.select(
        store, section_ids, codes, start, end, periods=("hour", "day"), origins=readings.MANUAL
    )
    s_auto, n_auto, rej_auto = _day_sums(auto_r, codes, start, shape)
    s_man, n_man, rej_man = _day_sums(man_r, codes, start, shape)
    rejected = rej_auto + rej_man
    with np.errstate(divide="ignore", invalid="ignore"):
        auto = np.where(n_auto >= day_min_readings, s_auto / n_auto, np.nan)
        manual = np.where(n_man >= 1, s_man / n_man, np.nan)
    ph = codes.index(t.PH) if t.PH in codes else -1
    if ph >= 0:  # the sums of pH columns are sums of hydrogen-ion concentrations
        with np.errstate(divide="ignore", invalid="ignore"):
            auto[..., ph] = -np.log10(auto[..., ph])
            manual[..., ph] = -np.log10(manual[..., ph])
    has_auto = ~np.isnan(auto)
    prio = np.array([c in auto_priority for c in codes], dtype=bool)
    # Priority items: the section's automatic data for the whole period if it has any.
    any_auto = has_auto.any(axis=1, keepdims=True) & prio
    use_auto = has_auto | (any_auto & np.ones_like(has_auto))
    values = np.where(use_auto, auto, manual)
    return DailyValues(
        tuple(codes),
        tuple(section_ids),
        start.date(),
        values,
        use_auto & has_auto,
        n_auto,
        rejected,
    )
