"""Ecological-damage compensation cases (生态环境损害赔偿) and the project and fund register
(项目与资金) — issue 20 items 4 and 5; docs/governance.md.

Pure model, no storage: ``damage`` (the case and its state machine as a table), ``projects``
(the project machine, milestones, overdue checks), ``money`` (integer fen, the payment schedule,
the conserving fund ledger), ``funds`` (the funds' eligible uses and caps, a data file). The
store side is ``service``; the tables ``schema``.
"""
