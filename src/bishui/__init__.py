"""bishui (碧水) — a platform for a city's ecological-environment governance on data.

The packages map to the domain (see ``docs/architecture.md``): ``hj212`` speaks to data
loggers, ``store`` keeps everything, ``registry`` knows regions, enterprises, sites and
devices, ``ingest`` turns packets and uploads into series, and the domain engines (``air``,
``water``, ``sources``, ``enforcement``, ``compensation``) compute what a bureau publishes.
"""

__version__ = "0.1.0"
