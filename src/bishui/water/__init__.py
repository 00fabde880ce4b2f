"""Surface water: GB 3838-2002 classes, the 2011 assessment method, CWQI, TLI, drinking sources.

The pure core (no I/O) — see docs/water.md for every rule and interpretation:

* :mod:`bishui.water.tables` — GB 3838-2002 表1/表2 (data files), item lists, HJ 212 codes;
* :mod:`bishui.water.rounding` — 四舍六入五成双 to the assessment decimals, the pH mean;
* :mod:`bishui.water.classes` — :func:`classify` one sample, :func:`classify_batch` many;
* :mod:`bishui.water.assessment` — period means, sections, target attainment, rivers, cities;
* :mod:`bishui.water.cwqi` — 城市水质指数 CWQI and ΔCWQI;
* :mod:`bishui.water.trophic` — 综合营养状态指数 TLI(Σ) and trophic state;
* :mod:`bishui.water.drinking` — drinking-water sources: compliance and alerts.
"""

from bishui.enforcement.intake import WATER_SOURCE, register_labels
from bishui.water.classes import BatchClassification, Classification, classify, classify_batch
from bishui.water.tables import name as _parameter_name

# Enforcement titles the drinking-water source alerts this package raises with these names
# (enforcement imports no domain: the producer hands it what it needs).
register_labels(WATER_SOURCE, _parameter_name)

__all__ = ["BatchClassification", "Classification", "classify", "classify_batch"]
