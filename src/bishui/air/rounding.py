"""GB/T 8170-2008 rounding as the air engine uses it: :mod:`bishui.rounding`, re-exported.

The rule is not air's own (water, sources and :mod:`bishui.exact` round by it too), so it lives
in the base layer; this module keeps the name the air code and its readers know.
"""

from bishui.rounding import FloatArray, round_gbt8170, round_units

__all__ = ["FloatArray", "round_gbt8170", "round_units"]
