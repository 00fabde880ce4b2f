"""Monitoring-triggered enforcement (环境监察监测联动): finding → alert → task → disposal → closure.

What an alert must carry to come in is enforcement's own contract, ``intake`` (:class:`AlertIn`;
the domains that raise alerts import it, enforcement imports none of them).

Pure model, no storage: ``alerts`` (handed-in alerts, deduplicated), ``tasks`` (the task
state machine, its transitions as a data table, guards, roles), ``audit`` (the append-only,
hash-chained event log from which a task can be rebuilt), ``notify`` (the notifications an
event produces and a pluggable sender), ``policy`` (deadlines, escalation, penalty articles).
See ``docs/sources.md``.
"""
