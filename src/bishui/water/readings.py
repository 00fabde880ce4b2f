"""Reading surface-water data out of the store: sections and their daily values.

The shell between the store and the pure core. One SQL query per period aggregates the
readings to (section, parameter, day, kind of data) — sums and counts only — and numpy pivots
them into a dense cube (section × day × item); no Python loop runs over readings or days.

Which readings count (docs/water.md, "Service rules"):

* **automatic** values: hourly values (``period = 'hour'``) of water sites: for each day and
  item, the logger's readings where the logger sent any that day, else the platform's own
  hourly values (computed from minute data);
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
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

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

    rows: list[dict[str, Any]]
    region_names: dict[str, str]
    city: dict[str, Any] | None

    @property
    def ids(self) -> list[str]:
        return [r["id"] for r in self.rows]

    def column(self, key: str) -> list[Any]:
        return [r[key] for r in self.rows]


def load_sections(store: Store, where: str = "", params: list[Any] | None = None) -> Sections:
    """Water sections (``sites.kind = 'water'``) and the regions' names."""
    sql = f"SELECT {', '.join(SECTION_FIELDS)} FROM sites WHERE kind = 'water'"  # noqa: S608 - constant
    if where:
        sql += f" AND ({where})"
    rows = store.query(sql + " ORDER BY id", params or [])
    for r in rows:
        r["body"] = r["body"] if r["body"] in t.BODIES else "river"
        r["target_class"] = int(r["target_class"] or 0)
        r["drinking_source"] = bool(r["drinking_source"])
        r["assessment"] = bool(r["assessment"])
    regions = store.query("SELECT code, name, kind, parent FROM regions ORDER BY code")
    city = next((r for r in regions if r["kind"] == "city"), None)
    return Sections(rows, {r["code"]: r["name"] for r in regions}, city)


# One pass over the period's readings: sums and counts per section, parameter, origin and day.
_DAILY_SQL = """
SELECT m.site_id, m.parameter, m.origin, CAST(date_trunc('day', m.ts) AS TIMESTAMP) AS day,
       SUM(CASE WHEN NOT ({good}) THEN 0 WHEN m.parameter = 'w01001'
                THEN POWER(10.0, -m.value) ELSE m.value END) AS s,
       CAST(SUM(CASE WHEN {good} THEN 1 ELSE 0 END) AS BIGINT) AS n,
       CAST(SUM(CASE WHEN {good} THEN 0 ELSE 1 END) AS BIGINT) AS bad
FROM measurement m JOIN sites s ON s.id = m.site_id
WHERE s.kind = 'water' AND m.valid AND m.ts >= ? AND m.ts < ? AND m.parameter IN ({marks})
  AND ((m.period = 'hour' AND m.origin IN ('logger', 'platform'))
       OR (m.period IN ('hour', 'day') AND m.origin = 'upload'))
GROUP BY m.site_id, m.parameter, m.origin, CAST(date_trunc('day', m.ts) AS TIMESTAMP)
"""

# A value the core would refuse is counted, never averaged (one pass serves both).
_GOOD = (
    "m.value IS NOT NULL AND (m.value >= 0 OR m.parameter = 'w01010') "
    "AND (m.parameter <> 'w01001' OR m.value <= 14)"
)


def _daily_sql(n_codes: int) -> str:
    return _DAILY_SQL.format(marks=", ".join("?" for _ in range(n_codes)), good=_GOOD)


# PostgreSQL: the same aggregate, one row per (section, item, origin) with its days and sums as
# binary arrays (``array_send``) — psycopg hands over bytes, not a Python object per value.
_PG_ARRAYS_SQL = """
SELECT d.site_id, d.parameter, d.origin,
       array_send(array_agg(d.day)) AS day,
       array_send(array_agg(CAST(d.s AS DOUBLE PRECISION))) AS s,
       array_send(array_agg(d.n)) AS n,
       array_send(array_agg(d.bad)) AS bad
FROM ({daily}) d
GROUP BY d.site_id, d.parameter, d.origin
"""

#: PostgreSQL's binary timestamps count microseconds from 2000-01-01.
_PG_EPOCH = np.datetime64("2000-01-01T00:00:00", "us")


def _pg_array(buf: Any, dtype: str) -> NDArray[Any]:
    """A one-dimensional PostgreSQL array in binary form (no NULLs) → numpy array.

    Layout: ndim, has-null flag and element type (int32 each), then length and lower bound per
    dimension, then each element as an int32 length and its big-endian bytes.
    """
    b = bytes(buf)
    ndim = int.from_bytes(b[0:4], "big")
    if ndim == 0:
        return np.zeros(0, dtype=dtype.replace(">", "<"))
    n = int.from_bytes(b[12:16], "big")
    rec = np.frombuffer(b, dtype=[("len", ">i4"), ("x", dtype)], count=n, offset=12 + 8 * ndim)
    return rec["x"].astype(dtype.replace(">", "<"))


def _daily_columns(store: Store, n_codes: int, params: list[Any]) -> dict[str, NDArray[Any]]:
    """The daily aggregate as flat columns (site_id, parameter, origin, day, s, n, bad)."""
    if store.dialect != "postgresql":
        return store.query_columns(_daily_sql(n_codes), params)
    rows = store.query(_PG_ARRAYS_SQL.format(daily=_daily_sql(n_codes)), params)
    if not rows:
        return {}
    parts = {k: [_pg_array(r[k], t) for r in rows] for k, t in
             (("day", ">i8"), ("s", ">f8"), ("n", ">i8"), ("bad", ">i8"))}  # fmt: skip
    sizes = np.array([len(x) for x in parts["day"]])
    out: dict[str, NDArray[Any]] = {
        k: np.repeat(np.array([r[k] for r in rows], dtype=object), sizes)
        for k in ("site_id", "parameter", "origin")
    }
    out["day"] = _PG_EPOCH + np.concatenate(parts["day"]).astype("timedelta64[us]")
    for k in ("s", "n", "bad"):
        out[k] = np.concatenate(parts[k]).astype(float)
    return out


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


def _index(keys: NDArray[Any], names: list[str] | tuple[str, ...]) -> NDArray[np.intp]:
    """Position of each key in *names* (−1 where absent), via the unique keys only."""
    lookup = {n: i for i, n in enumerate(names)}
    if keys.size == 0:
        return np.zeros(0, dtype=np.intp)
    uniq, inverse = np.unique(keys.astype(str), return_inverse=True)
    pos = np.array([lookup.get(str(u), -1) for u in uniq], dtype=np.intp)
    return np.asarray(pos[inverse], dtype=np.intp)


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
    k = len(codes)
    cols = _daily_columns(store, k, [start, end, *codes])
    n_s = len(section_ids)
    shape = (n_s, n_days, k)
    # Sums and counts by origin: 0 logger, 1 platform, 2 upload (manual).
    sums = np.zeros((3, *shape))
    counts = np.zeros((3, *shape), dtype=np.int64)
    rejected = 0
    if cols and cols["site_id"].size:
        si = _index(cols["site_id"], section_ids)
        pj = _index(cols["parameter"], codes)
        day = (cols["day"].astype("datetime64[D]") - np.datetime64(start.date(), "D")).astype(
            np.int64
        )
        origin = _index(cols["origin"], ("logger", "platform", "upload"))
        ok = (si >= 0) & (pj >= 0) & (day >= 0) & (day < n_days) & (origin >= 0)
        rejected = int(np.nansum(cols["bad"][ok]))
        o, si, day, pj = origin[ok], si[ok], day[ok], pj[ok]
        # Keys are unique after GROUP BY, so plain fancy assignment is exact.
        sums[o, si, day, pj] = np.nan_to_num(cols["s"][ok])
        counts[o, si, day, pj] = cols["n"][ok].astype(np.int64)
    # The logger's readings of a day where it sent any, else the platform's own hourly values.
    logger = counts[0] > 0
    s_auto = np.where(logger, sums[0], sums[1])
    n_auto = np.where(logger, counts[0], counts[1])
    s_man, n_man = sums[2], counts[2]
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
