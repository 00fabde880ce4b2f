"""The model city's loggers, live: simulator configurations and their value source.

Each registered device of the model city becomes a simulated HJ 212 logger that sends
real-time data (2011) every minute, minute data (2051) every minute and hourly data (2061)
every hour, with the values of the same synthetic model that wrote the history — so the live
stream continues the history without a seam.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

import numpy as np

from bishui.demo.city import ModelCity
from bishui.demo.synth import hours_of, key_of, normal
from bishui.hj212.simulator import LoggerConfig


class LiveValues:
    """``(mn, code, time) → (value, flag)`` for the simulator, from the city's model.

    The hourly model value is spread over the minutes of the hour with a small hashed
    jitter (±3 %), so minute averages of an hour come back to about the hourly value.
    """

    def __init__(self, model: ModelCity, cache_size: int = 4096) -> None:
        self.model = model
        self.site_of = {d.mn: d.site_id for d in model.registry.devices}
        self._cache: OrderedDict[tuple[str, int], dict[str, tuple[float, str]]] = OrderedDict()
        self._size = cache_size

    def _hour(self, site: str, hour: int) -> dict[str, tuple[float, str]]:
        key = (site, hour)
        got = self._cache.get(key)
        if got is None:
            step = self.model.cadence_hours(site)
            h = hour - hour % step
            series, _ = self.model.series(site, np.array([h], dtype=np.int64))
            got = {code: (float(v[0]), str(f[0])) for code, (v, f) in series.items()}
            self._cache[key] = got
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return got

    def __call__(self, mn: str, code: str, t: dt.datetime) -> tuple[float | None, str]:
        site = self.site_of.get(mn)
        if site is None:
            return None, "N"
        hour = int(hours_of(np.array([np.datetime64(t, "h")]))[0])
        value, flag = self._hour(site, hour).get(code, (float("nan"), "N"))
        if value != value:  # NaN: the logger has nothing for this hour
            return None, flag
        minute = np.array([int(t.timestamp() // 60)])
        jitter = 1.0 + 0.03 * float(normal(key_of(self.model.seed, site, code, "min"), minute)[0])
        if code in ("w01001", "a19001"):  # pH and O2 do not scale with load
            jitter = 1.0 + (jitter - 1.0) * 0.1
        return max(0.0, value * jitter), flag


def logger_configs(model: ModelCity) -> list[LoggerConfig]:
    """One simulated logger per registered device of the model city."""
    return [
        LoggerConfig(
            mn=d.mn,
            pw=d.pw,
            st=d.st,
            pollutants=tuple(p.parameter for p in d.parameters),
            edition=d.edition,
            schedules=("2011", "2051", "2061"),
            rtd_interval=60,
            min_interval=1,
        )
        for d in model.registry.devices
    ]
