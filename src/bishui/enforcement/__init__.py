"""Monitoring-triggered enforcement (环境监察监测联动): finding → alert → task → disposal → closure.

Pure model, no storage: ``alerts`` (findings become alerts, deduplicated), ``tasks`` (the task
state machine, its transitions as a data table, guards, roles), ``audit`` (the append-only,
hash-chained event log from which a task can be rebuilt), ``notify`` (the notifications an
event produces and a pluggable sender), ``policy`` (deadlines, escalation, penalty articles).
See ``docs/sources.md``.
"""
