"""Ambient air: HJ 633 AQI, HJ 663 / GB 3095 assessment, the composite index and ranking."""

from bishui.air.iaqi import POLLUTANTS, IAQIResult, iaqi
from bishui.air.rounding import round_gbt8170

__all__ = ["POLLUTANTS", "IAQIResult", "iaqi", "round_gbt8170"]
