"""Vehicle-emission inspection supervision: stations, lanes, equipment and inspection records
with their per-second curves; the black box compared with the station's record; verdicts
recomputed from the curves; anti-fraud rules; standard-gas and patrol-vehicle comparisons;
signed report codes; the old-vehicle register.

docs/vehicles.md explains every method with its source.
"""
