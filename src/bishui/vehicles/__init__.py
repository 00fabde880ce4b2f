"""Vehicle-emission inspection supervision: stations, lanes, equipment and inspection records
with their per-second curves; the black box compared with the station's record; verdicts
recomputed from the curves; anti-fraud rules; standard-gas and patrol-vehicle comparisons;
signed report codes; the old-vehicle register.

docs/vehicles.md explains every method with its source.
"""

from bishui.enforcement.intake import INSPECTION_STATION, register_labels


def _rule_name(code: str) -> str:
    """An inspection-station alert's parameter (its rule id) by the rule's Chinese name."""
    from bishui.vehicles.rules import RULES

    return RULES.get(code, (code,))[0]


register_labels(INSPECTION_STATION, _rule_name)
