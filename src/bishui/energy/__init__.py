"""Energy accounts and dual control (双控), and the total-emission reduction accounts
(主要污染物总量减排): energy use by unit and fuel in physical quantities converted with dated,
sourced coefficients, GDP at current and comparable prices, intensity and reduction rates,
savings against a named baseline, and the main pollutants' totals per county against targets.

docs/energy.md explains every method with its source.
"""
