"""River and lake chiefs (河长制 / 湖长制) and volunteer supervisors (义务监督员), issue 20.

The water bodies of the city and their sections (河段 / 湖片) at county, township and village
level, the chiefs assigned to them with dates, patrols recorded from a phone (a track, photos,
problems found) and the problems that become enforcement tasks through enforcement's intake
(:class:`bishui.enforcement.intake.AlertIn`): the task machinery is enforcement's, not ours.

Pure model: ``machines`` (every workflow's state machine as a data table), ``rules`` (patrol
intervals, validity thresholds, problem categories → department and severity, size limits, as
a versioned data file), ``track`` (track checks and length). Storage: ``service``. See
``docs/governance.md``.
"""
