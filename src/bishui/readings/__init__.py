"""The read model of stored series: which stored value counts, as typed arrays.

Every domain that reads the ``measurement`` table for an assessment, a check or a statement
reads it here, so a bulletin and a settlement for the same place and period rest on the same
values (docs/architecture.md, rule 7; docs/data-model.md, "Which stored value counts").

**Origin precedence** — one order for every reader (:data:`ORIGIN_ORDER`): for each key
(site, parameter, period, time) the **logger**'s value, else the **platform**'s own value
(computed from the logger's minute data, HJ 212-2017 Appendix D, ``bishui.ingest.aggregate``),
else an **upload**'s. Uploads are manual and laboratory monitoring (docs/ingest.md, "Uploads");
automatic-station data are used in preference to manual data (环办监测函〔2020〕82号, as
summarised in docs/water.md), and the platform's values are automatic data. The decision is
per key (per hour), as ``bishui.ingest.aggregate`` forms daily values ("the logger's hourly value
where there is one, else the platform's"). The row that wins decides even when it is marked
invalid: a logger's invalid hour is not replaced by a recomputed one (docs/air.md).

A reader narrows the origins by kind where its method reads only automatic data
(:data:`KIND_ORIGINS`: air assessment, HJ 663, reads the automatic network only) — a subset of
the one order, never another order.

The key's text columns (site, parameter, period, origin) are coded to small integers by the
store (:meth:`Store.query_coded_arrays`: DuckDB by joins in SQL, PostgreSQL by grouping the
rows on the server and sending binary arrays per group); flag and source are coded in SQL. No
Python object is made per row on either backend.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bishui.registry.model import Site
from bishui.store import Store

__all__ = [
    "AUTOMATIC",
    "KIND_ORIGINS",
    "MANUAL",
    "ORIGIN_ORDER",
    "Readings",
    "latest",
    "origin_rank_sql",
    "select",
    "sites",
]

#: The one precedence of stored origins, best first (module docstring).
ORIGIN_ORDER: tuple[str, ...] = ("logger", "platform", "upload")
#: Automatic monitoring data: the logger's values and the platform's values computed from them.
AUTOMATIC: tuple[str, ...] = ("logger", "platform")
#: Manual and laboratory monitoring: uploaded files (docs/ingest.md, "Uploads").
MANUAL: tuple[str, ...] = ("upload",)
#: Origins each kind of site's assessment reads (a subset of :data:`ORIGIN_ORDER`, in its order).
KIND_ORIGINS: dict[str, tuple[str, ...]] = {
    "air": AUTOMATIC,  # HJ 663: the automatic network's hourly values
    "water": ORIGIN_ORDER,
    "source_gas": ORIGIN_ORDER,
    "source_water": ORIGIN_ORDER,
}

_TIME_ZERO = np.datetime64("1970-01-01T00:00:00", "us")


def origin_rank_sql(column: str = "origin", origins: Sequence[str] = ORIGIN_ORDER) -> str:
    """A SQL expression ranking *column* by :data:`ORIGIN_ORDER` (0 best; origins outside
    *origins* rank after them). Only for readers that must rank inside SQL."""
    _check_origins(origins)
    whens = " ".join(f"WHEN '{o}' THEN {i}" for i, o in enumerate(origins))
    return f"CASE {column} {whens} ELSE {len(origins)} END"


def _check_origins(origins: Sequence[str]) -> None:
    if not origins or any(o not in ORIGIN_ORDER for o in origins):
        raise ValueError(f"origins must be a subset of {ORIGIN_ORDER}: {origins!r}")
    if list(origins) != [o for o in ORIGIN_ORDER if o in origins]:
        raise ValueError(f"origins must keep the order {ORIGIN_ORDER}: {origins!r}")


@dataclass(frozen=True)
class Readings:
    """Stored values, one per key (site, parameter, period, ts) after the origin precedence.

    Arrays of one length, sorted by (site, parameter, period, ts) unless read with
    ``ordered=False``: ``site`` index into
    ``site_ids`` (int32), ``parameter`` index into ``parameters`` (int32), ``period`` index into
    ``periods`` (int8), ``ts`` (datetime64[us], naive Beijing time, the start of the period),
    ``value`` (float64, NaN for NULL), ``valid`` (the stored validity, HJ 212 flag N), ``origin``
    index into :data:`ORIGIN_ORDER` (int8). With ``text=True`` also ``flag`` and ``source``
    (object arrays, None for NULL); with ``flags=`` also ``flag_code`` (int16).
    """

    site_ids: tuple[str, ...]
    parameters: tuple[str, ...]
    periods: tuple[str, ...]
    site: NDArray[np.int32]
    parameter: NDArray[np.int32]
    period: NDArray[np.int8]
    ts: NDArray[np.datetime64]
    value: NDArray[np.float64]
    valid: NDArray[np.bool_]
    origin: NDArray[np.int8]
    flag: NDArray[np.object_] | None = None
    source: NDArray[np.object_] | None = None
    flag_code: NDArray[np.int16] | None = None

    def __len__(self) -> int:
        return int(self.site.size)

    def take(self, mask: NDArray[Any]) -> Readings:
        def pick(a: NDArray[Any] | None) -> Any:
            return None if a is None else a[mask]

        return Readings(
            self.site_ids, self.parameters, self.periods, self.site[mask], self.parameter[mask],
            self.period[mask], self.ts[mask], self.value[mask], self.valid[mask],
            self.origin[mask], pick(self.flag), pick(self.source), pick(self.flag_code),
        )  # fmt: skip

    def origin_names(self) -> NDArray[np.object_]:
        return np.array(ORIGIN_ORDER, dtype=object)[self.origin]

    def site_names(self) -> NDArray[np.object_]:
        return np.array(self.site_ids, dtype=object)[self.site]

    def parameter_names(self) -> NDArray[np.object_]:
        return np.array(self.parameters, dtype=object)[self.parameter]


def _codes(column: str, names: Sequence[str]) -> tuple[str, list[Any]]:
    # Bound values, not literals: site ids and codes come from the registry.
    whens = " ".join("WHEN ? THEN ?" for _ in names)
    params: list[Any] = []
    for i, n in enumerate(names):
        params += [n, i]
    return f"CASE {column} {whens} END", params


def select(
    store: Store,
    site_ids: Sequence[str],
    parameters: Sequence[str] | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    periods: Sequence[str] = ("hour",),
    origins: Sequence[str] = ORIGIN_ORDER,
    text: bool = False,
    flags: Sequence[str] | None = None,
    ordered: bool = True,
) -> Readings:
    """Stored values of *site_ids* with ``start <= ts < end``, one per key (module docstring).

    Parameters
    ----------
    parameters : sequence of str or None
        Codes to read (None: every code stored for these sites in the window).
    periods : sequence of str
        ``hour`` (HJ 212 2061), ``day`` (2031), ``min`` (2051).
    origins : sequence of str
        Origins read, a subset of :data:`ORIGIN_ORDER` in its order (default all).
    text : bool
        Also read ``flag`` and ``source`` (for evidence; costs a dictionary query each).
    flags : sequence of str, optional
        Also read ``flag_code``: each value's HJ 212 flag as its index in *flags*
        (``len(flags)`` for any other flag and for none), coded in SQL.
    ordered : bool
        Sort by key (default). False leaves rows in the backend's order when one origin holds
        them all, saving a sort for readers that scatter the values into a grid anyway.
    """
    _check_origins(origins)
    sids, pers = tuple(site_ids), tuple(periods)
    if (parameters is not None and not parameters) or not sids or not pers:
        return _empty(sids, tuple(parameters or ()), pers, text)
    dicts: dict[str, list[Any]] = {}
    if text:
        names, c = _select_text(store, sids, parameters, pers, origins, start, end, flags, dicts)
        rank = c["origin"].astype(np.int8)
    else:
        # The store's fastest path for the raw rows (Store.measurement_arrays: DuckDB's
        # numpy result; PostgreSQL's series layout, one row a day): no Python object per row.
        names, c = store.measurement_arrays(sids, parameters, pers, origins, start, end, flags)
        to_rank = np.array([ORIGIN_ORDER.index(o) for o in origins], dtype=np.int8)
        rank = to_rank[c["origin"]]
    params_t = names["parameter"]
    n = len(c["ts"])
    if n == 0:
        return _empty(sids, params_t, pers, text)
    valid, flag_code = c["valid"], c.get("flag_code")
    site, par = c["site_id"], c["parameter"]
    per = c["period"].astype(np.int8)
    ts = c["ts"]
    # group: (site, parameter, period)
    group = (site.astype(np.int64) * len(params_t) + par) * len(pers) + per
    # One key: (site, parameter, period, ts) → one sortable integer (group, µs, origin rank);
    # best origin first. Within one origin the stored key is unique, so with one origin and
    # no order asked for there is nothing to drop.
    keep: NDArray[np.intp] | slice = slice(None)
    if ordered or rank.min() != rank.max():
        micros = (ts - _TIME_ZERO).astype(np.int64)
        m0 = int(micros.min())
        span = int(micros.max()) - m0 + 1
        n_groups = len(sids) * len(params_t) * len(pers)
        if n_groups * span * len(ORIGIN_ORDER) < 2**62:
            key = (group * span + (micros - m0)) * len(ORIGIN_ORDER) + rank
            if bool((key[1:] >= key[:-1]).all()):
                order = np.arange(n)  # already in key order (a grouped read usually is)
            else:
                order = np.argsort(key, kind="stable")
        else:  # pragma: no cover - a window of more than ~10⁶ years
            order = np.lexsort((rank, micros, group))
        g, m = group[order], micros[order]
        first = np.ones(n, dtype=bool)
        first[1:] = (g[1:] != g[:-1]) | (m[1:] != m[:-1])
        keep = order[first]
    extra: dict[str, NDArray[np.object_]] = {}
    for name, dict_names in dicts.items():
        table = np.array([None, *dict_names, None], dtype=object)  # ranks from 1; NULL last
        extra[name] = table[c[f"{name}_i"][keep].astype(np.int64)]
    return Readings(
        sids,
        params_t,
        pers,
        site[keep].astype(np.int32),
        par[keep].astype(np.int32),
        per[keep],
        ts[keep],
        c["value"][keep].astype(np.float64),
        valid[keep],
        rank[keep],
        extra.get("flag"),
        extra.get("source"),
        None if flag_code is None else flag_code[keep].astype(np.int16),
    )


def _select_text(
    store: Store,
    sids: Sequence[str],
    parameters: Sequence[str] | None,
    pers: Sequence[str],
    origins: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
    flags: Sequence[str] | None,
    dicts: dict[str, list[Any]],
) -> tuple[dict[str, tuple[str, ...]], dict[str, NDArray[Any]]]:
    """:func:`select`'s raw rows with ``flag`` and ``source`` ranked over the selection (their
    dictionaries filled into *dicts*); origins coded against :data:`ORIGIN_ORDER`."""
    where, where_p = _where(sids, parameters, pers, origins, start, end)
    # The text key columns are coded by the store (Store.query_coded_arrays: DuckDB joins
    # small VALUES lists, PostgreSQL groups by them and sends binary arrays), the validity and
    # the HJ 212 flag travel packed in one small integer: no Python object per row.
    n_flags = 1 if flags is None else len(flags) + 1
    small = f"CAST(valid AS INTEGER) * {n_flags}"
    args: list[Any] = []
    if flags is not None:
        flag_case, args = _codes("flag", tuple(flags))
        small += f" + COALESCE({flag_case}, {len(flags)})"
    cols = ["site_id", "parameter", "period", "origin", f"{small} AS small", "ts", "value"]
    types = {"small": "i4", "ts": "ts", "value": "f8"}
    for name in ("flag", "source"):
        # DENSE_RANK over the same rows in the same order as the dictionary query below;
        # NULL ranks with the others and is told apart by the dictionary.
        cols.append(f"CAST(DENSE_RANK() OVER (ORDER BY {name} NULLS LAST) AS INTEGER) AS {name}_i")
        types[f"{name}_i"] = "i4"
        dicts[name] = _distinct(store, name, sids, parameters, pers, origins, start, end)
    names, c = store.query_coded_arrays(
        f"SELECT {', '.join(cols)} FROM measurement WHERE {where}",  # noqa: S608 - fixed
        [*args, *where_p],
        {"site_id": sids, "parameter": parameters, "period": pers, "origin": ORIGIN_ORDER},
        types,
    )
    valid, flag_code = np.divmod(c.pop("small"), n_flags)
    c["valid"] = valid == 1
    if flags is not None:
        c["flag_code"] = flag_code.astype(np.int16)
    return names, c


def _where(
    sids: Sequence[str],
    params: Sequence[str] | None,
    periods: Sequence[str],
    origins: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
) -> tuple[str, list[Any]]:
    def marks(xs: Sequence[Any]) -> str:
        return ", ".join("?" for _ in xs)

    sql = (
        f"site_id IN ({marks(sids)}) AND period IN ({marks(periods)}) "
        f"AND origin IN ({marks(origins)}) AND ts >= ? AND ts < ?"
    )
    args: list[Any] = [*sids, *periods, *origins, start, end]
    if params is not None:
        sql += f" AND parameter IN ({marks(params)})"
        args += list(params)
    return sql, args


def _distinct(
    store: Store,
    column: str,
    sids: Sequence[str],
    params: Sequence[str] | None,
    periods: Sequence[str],
    origins: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Any]:
    """The distinct values of a text *column* over the selection, in SQL order (NULL last
    and dropped: a rank past the dictionary's end reads as None)."""
    if not sids:
        return []
    where, args = _where(sids, params, periods, origins, start, end)
    rows = store.query(
        f"SELECT DISTINCT {column} AS x FROM measurement WHERE {where} "  # noqa: S608
        f"ORDER BY {column} NULLS LAST",
        args,
    )
    return [r["x"] for r in rows if r["x"] is not None]


def _empty(
    sids: tuple[str, ...], pars: tuple[str, ...], pers: tuple[str, ...], text: bool
) -> Readings:
    e_obj = np.array([], dtype=object) if text else None
    return Readings(
        sids, pars, pers, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8),
        np.zeros(0, "datetime64[us]"), np.zeros(0), np.zeros(0, bool), np.zeros(0, np.int8),
        e_obj, None if e_obj is None else e_obj.copy(),
    )  # fmt: skip


def sites(store: Store, where: str = "", params: Sequence[Any] = ()) -> list[Site]:
    """Registry sites as :class:`~bishui.registry.model.Site` records, in id order."""
    out = []
    for r in store.rows("sites", where, params):
        attrs = r.get("attrs") or {}
        out.append(
            Site(
                id=r["id"], kind=r["kind"], name=r["name"], region=r["region"],
                lon=r["lon"], lat=r["lat"], enterprise=r["enterprise"], outlet=r["outlet"],
                river=r["river"], body=r["body"],
                target_class=None if r["target_class"] is None else int(r["target_class"]),
                control=r["control"], drinking_source=bool(r["drinking_source"]),
                assessment=bool(r["assessment"]),
                attrs=attrs if isinstance(attrs, dict) else json.loads(attrs),
            )
        )  # fmt: skip
    return out


#: How far before the newest stored time of the sites asked for :func:`latest` looks first
#: (its first, time-bounded step). A speed choice, not part of the answer: a series whose
#: newest value is older is still answered, by the second step (docs/postgresql.md,
#: *Partitions*). A day holds every minute series that is still reporting.
LATEST_WINDOW = dt.timedelta(days=1)


def latest(store: Store, site_ids: Sequence[str], period: str = "hour") -> list[dict[str, Any]]:
    """The newest value of each parameter at each site for one period: the newest time with any
    stored value, and at that time the value of the best origin (:data:`ORIGIN_ORDER`). Rows
    ``site_id, parameter, ts, value, flag, valid`` in (site, parameter) order.

    Minute and real-time values are read in bounded steps, so a store with years of minute data
    (on PostgreSQL: many monthly partitions, docs/postgresql.md) is not read whole: (1) the
    newest stored time *t* of the sites (one index probe per site and partition); (2) the
    newest values at ``ts >= t −`` :data:`LATEST_WINDOW` — pruned to the newest partitions; (3)
    only for the parameters of each site that step 2 did not find, at any time — expressed as
    ranges of ``parameter`` between the found ones, so the primary key (led by site and
    parameter) reads only those parameters' rows. A parameter found in step 2 has its newest
    value there (nothing later is outside the window), so the answer is the unbounded one."""
    sids = list(dict.fromkeys(site_ids))
    if not sids:
        return []
    marks = ", ".join("?" for _ in sids)
    if period not in ("min", "rt"):
        # Hourly and daily values: one read (on PostgreSQL a yearly partition each, through the
        # primary key led by site — a small scan a year). Their partitions' time index leads
        # with period, not site, so step 1 would scan back from the newest hour of every site.
        return _best(_latest_rows(store, f"site_id IN ({marks})", sids, period, None))
    newest = store.query(
        "SELECT MAX(t) AS t FROM ("  # noqa: S608
        + " UNION ALL ".join(
            "SELECT (SELECT MAX(ts) FROM measurement WHERE site_id = ? AND period = ?) AS t"
            for _ in sids
        )
        + ") x",
        [v for s in sids for v in (s, period)],
    )[0]["t"]
    if newest is None:
        return []
    since = newest - LATEST_WINDOW
    rows = _latest_rows(store, f"site_id IN ({marks}) AND ts >= ?", [*sids, since], period, since)
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r["site_id"], [])
        if r["parameter"] not in found[r["site_id"]]:
            found[r["site_id"]].append(r["parameter"])
    where, params = [], []
    for s in sids:
        got = sorted(found.get(s, []))
        if not got:
            where.append("site_id = ?")
            params.append(s)
            continue
        # the parameters other than *got*: below the first, between neighbours, above the last
        gaps = ["parameter < ?"] + ["(parameter > ? AND parameter < ?)"] * (len(got) - 1)
        gaps.append("parameter > ?")
        where.append(f"(site_id = ? AND ({' OR '.join(gaps)}))")
        params.extend(
            [s, got[0], *(v for a, b in itertools.pairwise(got) for v in (a, b)), got[-1]]
        )
    rows += _latest_rows(store, f"({' OR '.join(where)})", params, period, None)
    return _best(rows)


def _best(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row a (site, parameter), the best origin's, in (site, parameter) order."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["site_id"], r["parameter"], r["rank"])):
        r.pop("rank")
        seen.setdefault((r["site_id"], r["parameter"]), r)
    return list(seen.values())


def _latest_rows(
    store: Store, where: str, params: Sequence[Any], period: str, since: dt.datetime | None
) -> list[dict[str, Any]]:
    """The rows at the newest time of each (site, parameter) matching *where* (over columns
    of ``measurement``, with *params*), every origin, ranked; *since* bounds ``ts`` below."""
    rank = origin_rank_sql("m.origin")
    bound = "" if since is None else " AND m.ts >= ?"
    # A handful of rows (one per site and parameter, a few origins each): rows, not arrays.
    return store.query(
        "SELECT m.site_id, m.parameter, m.ts, m.value, m.flag, m.valid, "  # noqa: S608
        f"{rank} AS rank FROM measurement m "
        "JOIN (SELECT site_id, parameter, MAX(ts) AS ts FROM measurement "
        f"WHERE period = ? AND {where} GROUP BY site_id, parameter) last "
        "ON m.site_id = last.site_id AND m.parameter = last.parameter AND m.ts = last.ts "
        f"WHERE m.period = ?{bound}",
        [period, *params, period, *([] if since is None else [since])],
    )
