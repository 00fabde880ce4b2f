"""The environmental-resource exchange: one registry for emission rights (排污权), carbon
allowances and carbon-sink credits (碳排放权, 林业碳汇) and energy savings (节能量 / 用能权),
tied to the discharge permits of ``bishui.sources`` and to the platform's own monitoring.

docs/exchange.md explains the instruments, the checks and the rules with their sources.
"""
