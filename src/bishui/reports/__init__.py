"""PDF reports (日报 / 月报 / 年度公报) built from the engines' results, stored and re-rendered.

:mod:`~bishui.reports.content` says what each report contains (from ``bishui.air.service``,
``bishui.water.service`` and ``bishui.sources.service``), :mod:`~bishui.reports.pdf` lays it
out (fpdf2, fonts of :mod:`~bishui.reports.fonts` embedded as subsets),
:mod:`~bishui.reports.service` stores, lists, reproduces and schedules them. docs/reports.md.
"""
