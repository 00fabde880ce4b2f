"""Pollution sources: discharge permits and the checks run against online monitoring data.

Pure core, no storage: ``permits`` (model, versions), ``permits_io`` (CSV/Excel),
``rules`` (the versioned rule-set), ``conversion`` (reference O2, mass), ``averaging``
(minute → hour → day with validity), ``exceedance``, ``quantity`` (annual caps),
``nopermit``, ``fraud`` (data-quality signatures) and ``findings`` (what every check returns).
See ``docs/sources.md``.
"""
