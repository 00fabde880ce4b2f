"""Public participation (公众参与): citizen reports and the public disclosure pages.

A citizen reports pollution without an account (a place on the map, a photo, a description, a
contact if he wishes); the report becomes an alert in the enforcement loop through
enforcement's intake (:func:`bishui.enforcement.service.raise_alerts`) and the reporter follows
its status by an unguessable follow-up code. The disclosure (信息公开) lists closed enforcement
cases with their penalties and the discharge permits, with personal data withheld.

Pure model, no storage: ``reports`` (the report's state machine as a data table, the follow-up
code, the checks a submission passes, the public view of a report). Storage and the link to
enforcement: ``service``; the published lists: ``disclosure``. See ``docs/governance.md``,
section "公众举报与信息公开".
"""
